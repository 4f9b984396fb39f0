"""Prepared statements write what the ORM reads back, and fail the way SQLAlchemy fails."""

from __future__ import annotations

import datetime as dt
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.audit.record import ALLOWED, Attempt
from gateway.store.db import Database, migrate
from gateway.store.models import ExchangeRecord, IdempotencyKey, RememberedRisk, table_of
from gateway.store.prepared import Statement

RECORD = Statement(insert(table_of(ExchangeRecord)))
BIND_KEY = Statement(insert(table_of(IdempotencyKey)))
RISK = Statement(insert(table_of(RememberedRisk)))
RISKS_OF = Statement(
    select(RememberedRisk.pseudonym, RememberedRisk.country).where(
        RememberedRisk.pseudonym.in_(bindparam("wanted", expanding=True))
    )
)
SOURCE_OF = Statement(
    select(ExchangeRecord.source, ExchangeRecord.recorded_at, ExchangeRecord.subjects).where(
        ExchangeRecord.id == bindparam("id")
    )
)
NOON = dt.datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=dt.UTC)


def attempt() -> Attempt:
    return Attempt(
        recorded_at=NOON.astimezone(dt.timezone(dt.timedelta(hours=3))),  # stored as UTC
        source="src",
        subjects=["ps_a", "ps_b"],  # a JSON list, not an IN list
        categories=["identity"],
        decision=ALLOWED,
        reasons=[],
    )


def test_a_row_written_prepared_reads_back_through_the_orm(db: Database) -> None:
    written = attempt()
    with db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(written))
    with db.unit_of_work() as session:
        row = session.scalars(select(ExchangeRecord)).one()
        assert row.recorded_at == NOON and row.recorded_at.tzinfo is not None
        assert (row.subjects, row.categories, row.reasons) == (["ps_a", "ps_b"], ["identity"], [])
        assert Attempt.of(row.__dict__).leaf_hash() == row.leaf_hash == written.leaf_hash()


def test_rows_come_back_processed_and_named(db: Database) -> None:
    written = attempt()
    with db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(written))
        row = tx.one(SOURCE_OF, {"id": written.id})
    assert (row.source, row.recorded_at, row.subjects) == ("src", NOON, ["ps_a", "ps_b"])


@pytest.mark.parametrize("size", [1, 2, 5])
def test_an_in_list_of_any_length_finds_exactly_its_rows(db: Database, size: int) -> None:
    with db.transaction() as tx:
        tx.execute_many(
            RISK,
            [{"pseudonym": f"ps_{i}", "country": "SYR", "first_seen": NOON} for i in range(6)],
        )
        wanted = [f"ps_{i}" for i in range(size)] + ["ps_unknown"]
        found = tx.rows(RISKS_OF, {"wanted": wanted})
    assert sorted(r.pseudonym for r in found) == [f"ps_{i}" for i in range(size)]


def test_a_failed_block_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(attempt()))
        raise RuntimeError("stop")
    with db.transaction() as tx:
        assert tx.rows(SOURCE_OF, {"id": "anything"}) == []
    with db.unit_of_work() as session:
        assert session.scalars(select(ExchangeRecord)).all() == []


def test_a_driver_error_is_sqlalchemys_with_parameters_hidden(db: Database) -> None:
    written = attempt()
    key = {"source": "src", "key": "k-secret-12", "request_digest": "d", "exchange_id": written.id}
    with pytest.raises(IntegrityError) as caught, db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(written))
        tx.execute(BIND_KEY, key)
        tx.execute(BIND_KEY, key)
    assert "k-secret-12" not in str(caught.value)
    with db.unit_of_work() as session:  # the whole transaction was rolled back
        assert session.scalars(select(IdempotencyKey)).all() == []


def test_a_dry_run_is_always_rolled_back(db: Database) -> None:
    with db.scratch() as tx:
        tx.execute(RECORD, ExchangeRecord.values(attempt()))
    with db.unit_of_work() as session:
        assert session.scalars(select(ExchangeRecord)).all() == []


def test_concurrent_writers_all_land(db: Database) -> None:
    """Writers racing from many threads all land (on SQLite they take turns on a lock)."""
    written = [attempt() for _ in range(64)]

    def write(one: Attempt) -> None:
        with db.transaction() as tx:
            tx.execute(RECORD, ExchangeRecord.values(one))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write, written))
    with db.unit_of_work() as session:
        stored = set(session.scalars(select(ExchangeRecord.id)))
    assert stored == {a.id for a in written}


def count(db: Database, pool_event: str) -> list[int]:
    happened: list[int] = []
    event.listen(db.engine, pool_event, lambda *_: happened.append(1))
    return happened


def test_on_sqlite_exchanges_keep_one_connection_and_elsewhere_use_the_pool(db: Database) -> None:
    checkouts = count(db, "checkout")
    for _ in range(3):
        with db.transaction() as tx:
            tx.execute(RECORD, ExchangeRecord.values(attempt()))
    assert len(checkouts) == (1 if db.embedded else 3)


def test_after_a_database_error_the_next_exchange_gets_a_fresh_connection(db: Database) -> None:
    checkouts = count(db, "checkout")
    written = attempt()
    with pytest.raises(IntegrityError), db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(written))
        tx.execute(RECORD, ExchangeRecord.values(written))
    later = attempt()
    with db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(later))
    assert len(checkouts) == 2
    with db.unit_of_work() as session:
        assert list(session.scalars(select(ExchangeRecord.id))) == [later.id]


def test_a_failed_block_that_is_no_database_error_keeps_the_connection(db: Database) -> None:
    checkouts = count(db, "checkout")
    with pytest.raises(RuntimeError), db.transaction():
        raise RuntimeError("stop")
    with db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(attempt()))
    assert len(checkouts) == (1 if db.embedded else 2)


def test_dispose_closes_the_kept_connection(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute(RECORD, ExchangeRecord.values(attempt()))
    closed = count(db, "close_detached")  # kept apart from the pool, so never pooled again
    db.dispose()
    assert len(closed) == (1 if db.embedded else 0)
    with db.transaction() as tx:  # a disposed database still opens new connections
        assert tx.rows(SOURCE_OF, {"id": "none"}) == []


def test_on_sqlite_an_exchange_holds_the_write_lock_from_its_first_read(tmp_path: Path) -> None:
    """Its reads decide its writes, so no other writer may come in between (BEGIN IMMEDIATE)."""
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    database = Database.connect(url)
    migrate(database.engine)
    other = sqlite3.connect(tmp_path / "locks.db", timeout=0)
    try:
        with database.transaction() as tx:
            assert tx.rows(SOURCE_OF, {"id": "none"}) == []
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO remembered_risk VALUES ('ps', 'SYR', '2026-01-01')")
        other.execute("INSERT INTO remembered_risk VALUES ('ps', 'SYR', '2026-01-01')")
        other.commit()
    finally:
        other.close()
        database.dispose()
