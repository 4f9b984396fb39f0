"""Group commit: exchanges taken in together share a commit, and none is answered before it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from gateway.audit.record import Attempt
from gateway.store import group as group_commit
from gateway.store.db import Database, migrate
from gateway.store.group import GroupCommit
from gateway.store.models import ExchangeRecord, table_of
from gateway.store.prepared import Statement, TransactionFactory

RECORD = Statement(insert(table_of(ExchangeRecord)))
ORPHAN = Statement(text("INSERT INTO orphans (parent) VALUES (:parent)"))


def stored(db: Database) -> set[str]:
    """What another connection sees committed (not queued behind the batch's turn)."""
    with db.engine.connect() as connection:
        return set(connection.scalars(select(ExchangeRecord.id)))


def writing(attempt: Attempt, then: Callable[[], None] = lambda: None) -> Callable[..., str]:
    def work(transaction: TransactionFactory) -> str:
        with transaction() as tx:
            tx.execute(RECORD, ExchangeRecord.values(attempt))
            then()
        return attempt.id

    return work


def run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(main())


def test_exchanges_of_one_turn_share_one_commit_and_wait_for_it(db: Database) -> None:
    group = GroupCommit(db)
    first, second = Attempt(), Attempt()
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
    group = GroupCommit(db)
    attempt = Attempt()

    async def main() -> set[str]:
        await group.run(writing(attempt))
        return stored(db)  # at once, in the same turn of the loop

    assert run(main) == {attempt.id}


def test_a_failed_exchange_leaves_nothing_and_spares_its_batch(db: Database) -> None:
    group = GroupCommit(db)
    kept, failed, also_kept = Attempt(), Attempt(), Attempt()

    def fail() -> None:
        raise RuntimeError("the exchange fails after writing")

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

    def work(transaction: TransactionFactory) -> None:
        with transaction() as tx:
            tx.execute(ORPHAN, {"parent": "no such exchange"})

    return work


def test_a_failed_commit_fails_every_exchange_of_its_batch_and_keeps_none(db: Database) -> None:
    group = GroupCommit(db)
    first, second = Attempt(), Attempt()

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
    after = Attempt()
    assert run(lambda: group.run(writing(after))) == after.id  # the next batch works
    assert stored(db) == {after.id}


def test_exchanges_joining_on_following_turns_share_one_batch(db: Database) -> None:
    """A request takes a few loop turns to be queued; the batch waits while they keep coming."""
    group = GroupCommit(db)
    attempts = [Attempt() for _ in range(4)]
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
    group = GroupCommit(db)
    attempts = [Attempt() for _ in range(5)]
    seen_by_others: list[set[str]] = []

    async def main() -> list[str]:
        works = [writing(a, lambda: seen_by_others.append(stored(db))) for a in attempts]
        return list(await asyncio.gather(*(group.run(work) for work in works)))

    assert run(main) == [a.id for a in attempts]
    one_batch, two_batches = {a.id for a in attempts[:2]}, {a.id for a in attempts[:4]}
    assert seen_by_others == [set(), set(), one_batch, one_batch, two_batches]


def test_a_steady_stream_of_arrivals_does_not_hold_back_the_first(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "MAX_BATCH", 1_000_000)  # only the time limit is left
    monkeypatch.setattr(group_commit, "MAX_GATHER_SECONDS", 0.01)
    group = GroupCommit(db)

    async def main() -> bool:
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(group.run(writing(Attempt())))
        arriving = []
        stop = loop.time() + 0.5
        while loop.time() < stop and not first.done():  # one more joins on every turn
            arriving.append(asyncio.ensure_future(group.run(writing(Attempt()))))
            await asyncio.sleep(0)
        answered_meanwhile = first.done()
        await asyncio.gather(first, *arriving)
        return answered_meanwhile

    assert run(main)


def test_a_client_that_hangs_up_does_not_cancel_the_batch(db: Database) -> None:
    group = GroupCommit(db)
    gone, staying = Attempt(), Attempt()

    async def main() -> str:
        hanging_up = asyncio.ensure_future(group.run(writing(gone)))
        waiting = asyncio.ensure_future(group.run(writing(staying)))
        await asyncio.sleep(0)  # both are queued; the batch is written next turn
        hanging_up.cancel()
        return await waiting

    assert run(main) == staying.id
    assert stored(db) == {gone.id, staying.id}  # accepted before it hung up, so kept


def test_close_commits_what_is_queued(db: Database) -> None:
    group = GroupCommit(db)
    attempt = Attempt()

    async def main() -> None:
        queued = asyncio.ensure_future(group.run(writing(attempt)))
        await asyncio.sleep(0)  # queued; its batch is due next turn
        await group.close()
        assert stored(db) == {attempt.id}
        assert await queued == attempt.id  # answered, not dropped

    run(main)


def test_on_sqlite_a_unit_of_work_on_the_loop_during_a_batch_is_refused_not_deadlocked(
    tmp_path: Path,
) -> None:
    """The batch holds SQLite's turn; the same thread asking again would wait for ever."""
    database = Database.connect(f"sqlite:///{tmp_path / 'turns.db'}")
    migrate(database.engine)
    group = GroupCommit(database)

    def opens_a_unit_of_work(transaction: TransactionFactory) -> None:
        with transaction(), database.unit_of_work():
            pass

    async def main() -> None:
        with pytest.raises(RuntimeError, match="already holds"):
            await group.run(opens_a_unit_of_work)

    try:
        run(main)
        with database.unit_of_work():  # the turn is free again once the batch committed
            pass
    finally:
        database.dispose()


def test_sqlite_commits_are_durable_on_disk(tmp_path: Path) -> None:
    database = Database.connect(f"sqlite:///{tmp_path / 'durable.db'}")
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        database.dispose()


def waiting_for_the_disk(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Make the disk slow; note what was committed, and whether the turn was free, meanwhile."""
    seen: list[tuple[Any, ...]] = []
    real = db.make_durable

    def slow_disk() -> None:
        time.sleep(0.1)
        free = db.turn is None or db.turn.acquire(blocking=False)
        if db.turn is not None and free:
            db.turn.release()
        real()
        seen.append((stored(db), free))

    monkeypatch.setattr(db, "make_durable", slow_disk)
    return seen


def test_an_answer_waits_for_the_disk_and_the_turn_does_not(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(db)
    attempt = Attempt()
    seen = waiting_for_the_disk(db, monkeypatch)

    async def main() -> tuple[str, list[tuple[Any, ...]]]:
        answer = await group.run(writing(attempt))
        return answer, list(seen)

    # Answered after the disk wait, which came after the commit, with the turn given back.
    assert run(main) == (attempt.id, [({attempt.id}, True)])


def test_an_exchange_transaction_returns_once_on_disk(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = waiting_for_the_disk(db, monkeypatch)
    attempt = Attempt()
    writing(attempt)(db.transaction)
    assert seen == [({attempt.id}, True)]


def test_a_batch_whose_disk_wait_fails_is_not_acknowledged(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(db)

    def failing_disk() -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(db, "make_durable", failing_disk)
    with pytest.raises(OSError, match="Input/output"):
        run(lambda: group.run(writing(Attempt())))
