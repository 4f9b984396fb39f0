"""Shared fixtures: a fresh database per test (SQLite or PostgreSQL), settings, a live gateway.

Set GATEWAY_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
the whole suite on PostgreSQL; each test then gets an emptied schema. With CI=true a database
that cannot be reached fails the run: nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from gateway.store.db import Database, migrate

pytest_plugins = ["tests.fixtures.browser"]  # browser, page, elsewhere

POSTGRES_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL")


# Tests of pure code: parsing, mapping, the canonical model and the policy engine. On
# PostgreSQL they would only run again unchanged, so that pass runs just those of them that
# ask for the database under test. Every other test runs in both passes.
DATABASE_FREE = ("tests/canonical/", "tests/adapters/", "tests/policy/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the pure tests that never touch the database."""
    if POSTGRES_URL is None:
        return
    kept, deselected = [], []
    for item in items:
        pure = item.nodeid.startswith(DATABASE_FREE)
        uses_database = "database_url" in getattr(item, "fixturenames", ())
        (deselected if pure and not uses_database else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database, disposed of after the test."""
    database = Database.connect(database_url)
    migrate(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host_jurisdiction="KEN",
        relay_interval_seconds=0.05,
        delivery_backoff_base_seconds=0.05,
        delivery_backoff_max_seconds=0.2,
        delivery_timeout_seconds=5,
    )


@pytest.fixture
def served(settings: Settings) -> Iterator[ServedGateway]:
    """A real gateway over HTTP on 127.0.0.1, with its relay running."""
    gateway = ServedGateway(Runtime.build(settings)).start()
    yield gateway
    gateway.stop()
