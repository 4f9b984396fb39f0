"""Group commit: exchanges taken in together share a commit, and none is answered before it."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import INVALID, Record
from gateway.ids import new_id
from gateway.store import group as group_commit
from gateway.store.db import Database
from gateway.store.group import Batch, GroupCommit
from gateway.store.models import ExchangeRecord


def new_record() -> Record:
    return audit_record.build(
        exchange_id=new_id(),
        recorded_at=dt.datetime.now(dt.UTC),
        source=None,
        request_digest=None,
        decision=INVALID,
        reasons=["test"],
    )


def run_each(batch: Batch, works: Sequence[Callable[[Batch], Any]]) -> list[Any]:
    """The batch's writer for these tests: each item is a work to run on the batch."""
    outcomes = []
    for work in works:
        try:
            outcomes.append(work(batch))
        except Exception as error:
            outcomes.append(error)
    return outcomes


def stored(db: Database) -> set[str]:
    """What another connection sees committed."""
    with db.engine.connect() as connection:
        return set(connection.scalars(select(ExchangeRecord.id)))


def writing(record: Record, first: Callable[[], None] = lambda: None) -> Callable[..., str]:
    """A work that leaves a record to write, after doing `first`."""

    def work(batch: Batch) -> str:
        first()
        batch.defer(*audit_log.writes(record))
        return record.id

    return work


def run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(main())


def test_exchanges_of_one_turn_share_one_commit_and_wait_for_it(db: Database) -> None:
    group = GroupCommit(db, run_each)
    first, second = new_record(), new_record()
    seen_by_others: list[set[str]] = []

    async def main() -> list[str]:
        return list(
            await asyncio.gather(
                group.run(writing(first)),
                # The first is written but not committed while the second is written.
                group.run(writing(second, lambda: seen_by_others.append(stored(db)))),
            )
        )

    assert run(main) == [first.id, second.id]
    assert seen_by_others == [set()]
    assert stored(db) == {first.id, second.id}  # both committed once the answers came


def test_an_answer_comes_only_once_its_exchange_is_committed(db: Database) -> None:
    group = GroupCommit(db, run_each)
    attempt = new_record()

    async def main() -> set[str]:
        await group.run(writing(attempt))
        return stored(db)  # at once, in the same turn of the loop

    assert run(main) == {attempt.id}


def test_a_failed_exchange_leaves_nothing_and_spares_its_batch(db: Database) -> None:
    group = GroupCommit(db, run_each)
    kept, failed, also_kept = new_record(), new_record(), new_record()

    def fail() -> None:
        raise RuntimeError("the exchange fails before leaving its rows")

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                group.run(writing(kept)),
                group.run(writing(failed, fail)),
                group.run(writing(also_kept)),
                return_exceptions=True,
            )
        )

    answers = run(main)
    assert answers[0] == kept.id and answers[2] == also_kept.id
    assert isinstance(answers[1], RuntimeError)
    assert stored(db) == {kept.id, also_kept.id}


def break_the_commit(db: Database) -> Callable[..., None]:
    """Write a row whose foreign key is checked only at commit, and is broken then."""
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE orphans (parent VARCHAR(36) REFERENCES exchange_records (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    def work(batch: Batch) -> None:
        batch.defer((text("INSERT INTO orphans (parent) VALUES (:parent)"), [{"parent": "none"}]))

    return work


def test_a_failed_commit_fails_every_exchange_of_its_batch_and_keeps_none(db: Database) -> None:
    group = GroupCommit(db, run_each)
    first, second = new_record(), new_record()

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                group.run(writing(first)),
                group.run(break_the_commit(db)),
                group.run(writing(second)),
                return_exceptions=True,
            )
        )

    answers = run(main)
    assert all(isinstance(a, DBAPIError | db.engine.dialect.loaded_dbapi.Error) for a in answers)
    assert stored(db) == set()
    after = new_record()
    assert run(lambda: group.run(writing(after))) == after.id  # the next batch works
    assert stored(db) == {after.id}


def test_a_batch_that_fails_as_a_whole_once_is_run_again_from_the_start(db: Database) -> None:
    """E.g. another process bound the same idempotency key meanwhile: the works read again."""
    group = GroupCommit(db, run_each)
    first, taken = new_record(), new_record()
    runs: list[int] = []

    def clashing_once(batch: Batch) -> str:
        runs.append(1)
        batch.defer(*audit_log.writes(taken if len(runs) == 1 else new_record()))
        return "clashed" if len(runs) == 1 else "ran again"

    run(lambda: group.run(writing(taken)))  # `taken` is stored: writing it again fails

    async def main() -> list[Any]:
        return list(await asyncio.gather(group.run(writing(first)), group.run(clashing_once)))

    assert run(main) == [first.id, "ran again"]
    assert len(runs) == 2
    assert first.id in stored(db)


def test_exchanges_joining_on_following_turns_share_one_batch(db: Database) -> None:
    """A request takes a few loop turns to be queued; the batch waits while they keep coming."""
    group = GroupCommit(db, run_each)
    attempts = [new_record() for _ in range(4)]
    seen_by_others: list[set[str]] = []

    async def main() -> list[str]:
        queued = []
        for attempt in attempts:  # one joins on each loop turn
            work = writing(attempt, lambda: seen_by_others.append(stored(db)))
            queued.append(asyncio.ensure_future(group.run(work)))
            await asyncio.sleep(0)
        return list(await asyncio.gather(*queued))

    assert run(main) == [a.id for a in attempts]
    assert seen_by_others == [set()] * 4  # none was committed before the last was written


def test_a_batch_holds_at_most_max_batch_exchanges(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "MAX_BATCH", 2)
    sizes: list[int] = []

    def counting(batch: Batch, works: Sequence[Callable[[Batch], Any]]) -> list[Any]:
        sizes.append(len(works))
        return run_each(batch, works)

    group = GroupCommit(db, counting)
    attempts = [new_record() for _ in range(5)]

    async def main() -> list[str]:
        return list(await asyncio.gather(*(group.run(writing(a)) for a in attempts)))

    assert run(main) == [a.id for a in attempts]
    assert sorted(sizes) == [1, 2, 2]  # written by several threads at once on a server
    assert stored(db) == {a.id for a in attempts}


def test_on_a_database_server_batches_are_written_at_once_on_sqlite_one_by_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server overlaps batches' round trips; SQLite has one writer, so one batch at a time."""
    monkeypatch.setattr(group_commit, "MAX_BATCH", 1)
    running, most, counting = [0], [0], threading.Lock()

    def overlapping(batch: Batch, works: Sequence[Callable[[Batch], Any]]) -> list[Any]:
        with counting:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the next batches to start, if they may
        with counting:
            running[0] -= 1
        return run_each(batch, works)

    group = GroupCommit(db, overlapping)

    async def main() -> list[str]:
        return list(await asyncio.gather(*(group.run(writing(new_record())) for _ in range(4))))

    assert len(run(main)) == 4
    assert most[0] == (1 if db.embedded else group_commit.BATCHES_AT_ONCE_ON_A_SERVER)


def test_a_steady_stream_of_arrivals_does_not_hold_back_the_first(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "MAX_BATCH", 1_000_000)  # only the time limit is left
    monkeypatch.setattr(group_commit, "MAX_GATHER_SECONDS", 0.01)
    group = GroupCommit(db, run_each)

    async def main() -> bool:
        first = asyncio.ensure_future(group.run(writing(new_record())))
        arriving: list[asyncio.Future[object]] = []
        # Bounded by arrivals, not by the clock: another process's load on the machine slows
        # the loop and the writer alike. Gathering without its time limit would wait for
        # MAX_BATCH arrivals; with it, the first is answered after about 1,500 (quiet machine).
        while len(arriving) < 100_000 and not first.done():  # one more joins on every turn
            # Arrivals that write nothing: the batch's cost is then its gathering alone.
            arriving.append(asyncio.ensure_future(group.run(lambda _batch: None)))
            await asyncio.sleep(0)
        answered_meanwhile = first.done()
        await asyncio.gather(first, *arriving)
        return answered_meanwhile

    assert run(main)


def test_a_client_that_hangs_up_does_not_cancel_the_batch(db: Database) -> None:
    group = GroupCommit(db, run_each)
    gone, staying = new_record(), new_record()

    async def main() -> str:
        hanging_up = asyncio.ensure_future(group.run(writing(gone)))
        waiting = asyncio.ensure_future(group.run(writing(staying)))
        await asyncio.sleep(0)  # both are queued; the batch is written next turn
        hanging_up.cancel()
        return await waiting

    assert run(main) == staying.id
    assert stored(db) == {gone.id, staying.id}  # accepted before it hung up, so kept


def test_close_commits_what_is_queued(db: Database) -> None:
    group = GroupCommit(db, run_each)
    attempt = new_record()

    async def main() -> None:
        queued = asyncio.ensure_future(group.run(writing(attempt)))
        await asyncio.sleep(0)  # queued; its batch is due next turn
        await group.close()
        assert stored(db) == {attempt.id}
        assert await queued == attempt.id  # answered, not dropped

    run(main)


def test_every_connection_commits_to_disk_before_it_returns(db: Database) -> None:
    """Accepted means committed and synced: SQLite with synchronous=FULL, PostgreSQL with
    synchronous_commit on and fsync on.

    Checked on the connections the exchange path and administration really write through
    (there is no other way to the database), not on a connection of its own.
    """
    if db.embedded:
        checks = {"PRAGMA synchronous": 2}  # FULL
    else:
        checks = {"SHOW synchronous_commit": "on", "SHOW fsync": "on"}
    for statement, expected in checks.items():
        with db.transaction() as connection:
            assert connection.execute(text(statement)).scalar() == expected
        with db.unit_of_work() as session:
            assert session.execute(text(statement)).scalar() == expected
