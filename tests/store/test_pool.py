"""A pooled connection to PostgreSQL that died while idle is replaced before anyone uses it.

These tests always run against PostgreSQL (the one the suite's second pass uses), since only
a database server can drop a connection underneath the pool; they need no tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from gateway.store import db as db_module
from gateway.store.db import Database

POSTGRES = os.environ.get(
    "GATEWAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def connect(monkeypatch: pytest.MonkeyPatch, idle_seconds: float) -> Iterator[Database]:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    database = Database.connect(POSTGRES)
    yield database
    database.dispose()


@pytest.fixture
def pinged(monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    yield from connect(monkeypatch, 0.0)  # every checkout counts as after idling


@pytest.fixture
def unpinged(monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    yield from connect(monkeypatch, 3600.0)


def end_pooled_connection_on_the_server(database: Database) -> None:
    with database.unit_of_work() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    killer = create_engine(POSTGRES)
    with killer.begin() as connection:
        ended = connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert ended.scalar() is True
    killer.dispose()


def test_a_connection_ended_while_idle_is_replaced_before_use(pinged: Database) -> None:
    end_pooled_connection_on_the_server(pinged)
    with pinged.unit_of_work() as session:
        assert session.execute(text("SELECT 2")).scalar() == 2


def test_the_exchange_path_gets_a_live_connection_too(pinged: Database) -> None:
    end_pooled_connection_on_the_server(pinged)
    with pinged.transaction() as connection:
        assert connection.execute(text("SELECT 2")).scalar() == 2


def test_without_the_ping_the_ended_connection_would_fail_its_user(unpinged: Database) -> None:
    end_pooled_connection_on_the_server(unpinged)
    with pytest.raises(OperationalError), unpinged.unit_of_work() as session:
        session.execute(text("SELECT 2"))
