"""Migrations: they run again without harm, and they build exactly what the models declare."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, inspect, select, text

from gateway.audit.record import Record, build
from gateway.store.db import make_engine, migrate
from gateway.store.models import Base, ExchangeRecord, System

pytestmark = pytest.mark.fresh_schema  # each test migrates a new database itself


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh, empty database (SQLite file or emptied PostgreSQL schema)."""
    made = make_engine(database_url)
    yield made
    made.dispose()


def differences(engine: Engine, metadata: MetaData) -> list[Any]:
    """Return what autogenerate would change to make the database match `metadata`.

    No filter is needed for UtcDateTime: alembic compares types by the DDL they compile to,
    and a TypeDecorator compiles as its `impl`, DateTime(timezone=True), which is the type
    the migration creates.
    """
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        found: list[Any] = compare_metadata(context, metadata)
    return found


def test_migrations_build_what_the_models_declare(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []

    migrate(engine)

    assert differences(engine, Base.metadata) == []
    assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}


def test_the_comparison_sees_a_difference(engine: Engine) -> None:
    """Guard the test above: a model the migrations do not match must show up."""
    migrate(engine)
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["systems"].append_column(Column("contact", String(200)))
    changed.tables["outbox"].c.content_type.type = String(50)

    found = differences(engine, changed)

    added = [(d[0], d[2], d[3].name) for d in found if isinstance(d, tuple)]
    retyped = [(d[0][0], d[0][2], d[0][3]) for d in found if isinstance(d, list)]
    assert added == [("add_column", "systems", "contact")]
    assert retyped == [("modify_type", "outbox", "content_type")]
    assert len(found) == 2


def test_migrations_run_twice_without_harm(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(
            System.__table__.insert().values(
                id="kept",
                name="A system registered before the second run",
                adapter="progres",
                credential_hash="0" * 64,
                created_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC),
            )
        )

    migrate(engine)

    assert differences(engine, Base.metadata) == []
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        kept = connection.execute(select(System.__table__.c.id, System.__table__.c.created_at))
        rows = kept.all()
    assert [v for (v,) in versions] == ["0014"]
    assert [(i, c.astimezone(dt.UTC)) for i, c in rows] == [
        ("kept", dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    ]


def test_records_written_before_the_log_get_rfc_9162_leaf_hashes(engine: Engine) -> None:
    """0004 rehashes existing records: SHA-256(0x00 || leaf), as the log's leaves are."""
    migrate(engine, "0003")
    record = build(
        exchange_id="0b5a6a9e-55a0-4c1e-9b8a-3d2f0e1c7a11",
        recorded_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
        source="unhcr-progres",
        request_digest="ab" * 32,
        decision="denied",
        reasons=["origin.risk_country"],
        subjects=["ps_" + "1" * 32],
        categories=["identity"],
    )
    old_hash = hashlib.sha256(record.leaf_bytes()).hexdigest()  # the format before 0004
    with engine.begin() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("exchange_records")}
        row = {k: v for k, v in record.fields().items() if k in columns}
        connection.execute(
            ExchangeRecord.__table__.insert().values(**row, leaf_hash=old_hash)  # type: ignore[attr-defined]
        )

    migrate(engine)

    with engine.connect() as connection:
        stored = connection.execute(select(ExchangeRecord.__table__)).mappings().one()  # type: ignore[attr-defined]
    assert stored["leaf_hash"] == record.leaf_hash() != old_hash
    assert Record.of(stored).leaf_hash() == stored["leaf_hash"]
    assert stored["log_index"] is None  # sealed later, by the log's appender
