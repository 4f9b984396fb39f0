"""The exchange log as stored: sealed in batches by one appender, signed, proven, exported.

Proofs are checked with tests/audit/rfc9162.py, the RFC's own recursive definitions, never
with the code under test.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from gateway.audit import checkpoint, repository
from gateway.audit.log import TransparencyLog
from gateway.audit.merkle import ProofRangeError
from gateway.audit.record import Record, build
from gateway.audit.verify import load_keys, verify_export
from gateway.store.db import Database, migrate
from gateway.store.models import ExchangeRecord, LogNode, node_key
from tests.audit import rfc9162
from tests.fixtures.postgres import own_database

MASTER = b"a master secret for the tests of the log"
ORIGIN = "test.example/log"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def record(n: int) -> Record:
    return build(
        exchange_id=str(uuid.UUID(int=n + 1)),
        recorded_at=START + dt.timedelta(seconds=n),
        source="unhcr-progres",
        request_digest=f"{n:064x}",
        decision="denied" if n % 3 == 0 else "allowed",
        reasons=["origin.risk_country"] if n % 3 == 0 else ["allowed"],
        subjects=[f"ps_{n:032x}"],
        categories=["identity", "birth"],
    )


def write(db: Database, *records: Record) -> None:
    with db.transaction() as connection:
        for found in records:
            for statement, rows in repository.writes(found):
                connection.execute(statement, rows)


@pytest.fixture
def log(db: Database) -> TransparencyLog:
    return TransparencyLog(db, MASTER, ORIGIN)


def leaves(records: list[Record]) -> list[bytes]:
    return [r.leaf_bytes() for r in records]


def keys_of(log: TransparencyLog) -> list[checkpoint.VerifierKey]:
    return [checkpoint.VerifierKey.parse(k) for k in log.verifier_keys()]


def test_batches_seal_every_record_once_in_order_under_signed_checkpoints(
    db: Database, log: TransparencyLog
) -> None:
    written = [record(n) for n in range(25)]
    write(db, *written[:10])
    assert log.append(limit=4) == 4
    assert log.append_all() == 6
    write(db, *written[10:])
    assert log.append_all() == 15
    assert log.append_all() == 0

    note = log.latest()
    assert note is not None
    signed = checkpoint.verify(note, keys_of(log))
    assert (signed.origin, signed.size) == (ORIGIN, 25)
    assert signed.root == rfc9162.MTH(leaves(written))
    with db.reading() as session:
        indexes = dict(session.execute(select(ExchangeRecord.id, ExchangeRecord.log_index)).all())
    assert [indexes[r.id] for r in written] == list(range(25))
    for size in (4, 10, 25):  # a checkpoint per batch, each the tree of its size
        at = checkpoint.verify(log.checkpoint_at(size), keys_of(log))
        assert at.root == rfc9162.MTH(leaves(written[:size]))


def test_entries_and_proofs_agree_with_rfc_9162(db: Database, log: TransparencyLog) -> None:
    written = [record(n) for n in range(37)]
    for chunk in (written[:5], written[5:6], written[6:20], written[20:]):
        write(db, *chunk)
        log.append_all()
    data = leaves(written)

    entries = log.entries(0, 37)
    assert [e.entry for e in entries] == [r.leaf_entry() for r in written]
    assert [e.leaf_hash for e in entries] == [r.leaf_hash() for r in written]
    for size in (1, 2, 5, 6, 20, 31, 37):
        for index in {0, size // 2, size - 1}:
            proof = log.inclusion(index, size)
            assert [bytes.fromhex(h) for h in proof.audit_path] == rfc9162.PATH(index, data[:size])
        for old in {1, size // 3 or 1, size - 1}:
            if 0 < old < size:
                found = log.consistency(old, size)
                assert [bytes.fromhex(h) for h in found.proof] == rfc9162.PROOF(old, data[:size])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda log: log.inclusion(5, 5), "index 5"),
        (lambda log: log.inclusion(0, 6), "tree size 6"),
        (lambda log: log.consistency(5, 3), "5"),
        (lambda log: log.entries(3, 2), "entries 3 to 2"),
        (lambda log: log.entries(0, 6), "entries 0 to 6"),
        (lambda log: log.checkpoint_at(3), "no checkpoint was signed at size 3"),
    ],
)
def test_out_of_range_requests_are_named(
    db: Database, log: TransparencyLog, call: object, message: str
) -> None:
    write(db, *(record(n) for n in range(5)))
    log.append_all()
    with pytest.raises(ProofRangeError, match=message):
        call(log)  # type: ignore[operator]


def test_a_record_changed_after_it_was_written_is_named(db: Database, log: TransparencyLog) -> None:
    write(db, *(record(n) for n in range(12)))
    log.append_all()
    assert log.integrity().verified
    with db.transaction() as connection:
        connection.execute(
            update(ExchangeRecord).where(ExchangeRecord.log_index == 7).values(purpose="other")
        )

    integrity = log.integrity()
    export = io.BytesIO()
    log.export(export)
    verdict = verify_export(io.BytesIO(export.getvalue()), keys_of(log))

    assert not integrity.verified
    assert integrity.problem == "entry 7: the record no longer matches its leaf"
    assert not verdict.ok
    assert verdict.problem is not None and verdict.problem.index == 7


def test_an_export_verifies_offline_with_the_public_key_alone(
    db: Database, log: TransparencyLog
) -> None:
    written = [record(n) for n in range(30)]
    write(db, *written[:12])
    log.append_all()
    saved = log.latest()  # the DPO kept this one
    write(db, *written[12:])
    log.append_all()
    export = io.BytesIO()

    assert log.export(export) == 30
    verdict = verify_export(io.BytesIO(export.getvalue()), keys_of(log), saved_checkpoint=saved)
    assert verdict.ok, verdict.lines()
    assert (verdict.entries, verdict.tree_size) == (30, 30)


def test_a_rotated_key_signs_what_follows_and_the_old_one_still_verifies_what_came_before(
    db: Database, log: TransparencyLog
) -> None:
    write(db, *(record(n) for n in range(4)))
    log.append_all()
    before = log.latest()
    assert before is not None
    old_key = log.verifier_keys()[0]

    new_key = log.rotate_key()
    write(db, *(record(n) for n in range(4, 9)))
    log.append_all()
    after = log.latest()
    assert after is not None

    assert log.verifier_keys() == [old_key, new_key]
    checkpoint.verify(before, load_keys([old_key]))
    checkpoint.verify(after, load_keys([new_key]))
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.verify(after, load_keys([old_key]))
    export = io.BytesIO()
    log.export(export)
    assert verify_export(io.BytesIO(export.getvalue()), load_keys([old_key, new_key])).ok


def test_it_never_signs_a_tree_inconsistent_with_its_last_checkpoint(
    db: Database, log: TransparencyLog
) -> None:
    write(db, *(record(n) for n in range(8)))
    log.append_all()
    with db.transaction() as connection:  # someone rewrites a sealed subtree in the store
        connection.execute(
            update(LogNode).where(LogNode.key == node_key(3, 0)).values(hash=b"\0" * 32)
        )
    write(db, record(8))

    with pytest.raises(RuntimeError, match="not consistent"):
        log.append_all()
    assert log.size() == 8  # nothing was signed or sealed


@pytest.fixture
def server_db() -> Iterator[Database]:
    """A PostgreSQL database of the test's own, in both passes (SQLite has one writer)."""
    with own_database() as url:
        database = Database.connect(url)
        migrate(database.engine)
        yield database
        database.dispose()


def test_a_record_committed_late_is_sealed_by_a_later_batch(server_db: Database) -> None:
    """Record 0 takes its seq first but commits after record 1 was sealed: still sealed once."""
    log = TransparencyLog(server_db, MASTER, ORIGIN)
    late, early = record(0), record(1)
    held = server_db.engine.connect()
    transaction = held.begin()
    for statement, rows in repository.writes(late):
        held.execute(statement, rows)  # seq taken, not committed
    write(server_db, early)

    assert log.append_all() == 1
    transaction.commit()
    held.close()
    assert log.append_all() == 1

    with server_db.reading() as session:
        rows = session.execute(
            select(ExchangeRecord.id, ExchangeRecord.seq, ExchangeRecord.log_index)
        ).all()
    by_id = {i: (seq, index) for i, seq, index in rows}
    assert by_id[late.id][0] < by_id[early.id][0]  # written first
    assert (by_id[early.id][1], by_id[late.id][1]) == (0, 1)  # sealed in commit order
    assert log.integrity().verified


def test_appenders_racing_on_one_server_make_one_log(server_db: Database) -> None:
    """Four appenders (as in four serving processes) seal 400 records written meanwhile."""
    logs = [TransparencyLog(server_db, MASTER, ORIGIN) for _ in range(4)]
    written = [record(n) for n in range(400)]
    stop = threading.Event()
    failures: list[BaseException] = []

    def appending(log: TransparencyLog) -> None:
        try:
            while not stop.is_set():
                log.append(limit=7)
        except BaseException as failure:  # noqa: BLE001 (reported below)
            failures.append(failure)

    threads = [threading.Thread(target=appending, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for n in range(0, 400, 10):
        write(server_db, *written[n : n + 10])
    logs[0].append_all()
    stop.set()
    for thread in threads:
        thread.join()

    assert failures == []
    assert logs[0].append_all() == 0
    assert logs[0].size() == 400
    with server_db.reading() as session:
        indexes = sorted(session.scalars(select(ExchangeRecord.log_index)))
    assert indexes == list(range(400))  # no gap, no duplicate
    integrity = logs[0].integrity()
    assert integrity.verified, integrity.problem
