"""Shared fixtures: a migrated, empty database per test (SQLite or PostgreSQL), settings, a live
gateway.

Set GATEWAY_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
the whole suite on PostgreSQL; each test then gets that database emptied. Migrations run once
a run (tests/fixtures/databases.py); a test marked `fresh_schema` gets a new, unmigrated
database instead. With CI=true a database that cannot be reached fails the run: nothing is
skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from gateway.store.db import Database
from tests.fixtures.databases import FRESH_SCHEMA, MigratedPostgres, SqliteTemplate

pytest_plugins = ["tests.fixtures.browser"]  # browser, page, elsewhere

POSTGRES_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL")


# Tests of pure code: parsing, mapping, the canonical model and the policy engine. On
# PostgreSQL they would only run again unchanged, so that pass runs just those of them that
# ask for the database under test. Tests marked `broker` (Celery workers on a real broker,
# the local stack) run on a database server of their own whatever the pass: the PostgreSQL
# pass runs them, the SQLite pass leaves them out. Every other test runs in both passes.
DATABASE_FREE = (
    "tests/canonical/",
    "tests/test_crypto.py",
    "tests/adapters/",
    "tests/policy/",
    "tests/xroad/test_envelope.py",
    "tests/xroad/test_headers.py",
    "tests/referrals/test_routing.py",
    "tests/referrals/test_guide.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out, on PostgreSQL, the pure tests; on SQLite, the tests marked `broker`."""
    kept, deselected = [], []
    for item in items:
        if POSTGRES_URL is None:
            left_out = item.get_closest_marker("broker") is not None
        else:
            pure = item.nodeid.startswith(DATABASE_FREE)
            left_out = pure and "database_url" not in getattr(item, "fixturenames", ())
        (deselected if left_out else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[MigratedPostgres]:
    assert POSTGRES_URL is not None
    database = MigratedPostgres(POSTGRES_URL)
    yield database
    database.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database, at the newest migration and empty; new and unmigrated if the test
    is marked `fresh_schema` (an empty schema on PostgreSQL, no file yet on SQLite)."""
    fresh = request.node.get_closest_marker(FRESH_SCHEMA) is not None
    if POSTGRES_URL:
        postgres: MigratedPostgres = request.getfixturevalue("migrated_postgres")
        if fresh:
            postgres.fresh()
        else:
            postgres.empty()
        return POSTGRES_URL
    path = tmp_path / "gateway.db"
    if not fresh:
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        template.copy_to(path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test's database, disposed of after the test."""
    database = Database.connect(database_url)
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
def commands_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the `gateway` commands at the test's data directory and database, and nothing else."""
    for name in [n for n in os.environ if n.startswith("GATEWAY_")]:
        if not name.startswith("GATEWAY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    assert settings.database_url is not None
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    return settings


@pytest.fixture
def served(settings: Settings) -> Iterator[ServedGateway]:
    """A real gateway over HTTP on 127.0.0.1, with its relay running."""
    gateway = ServedGateway(Runtime.build(settings)).start()
    yield gateway
    gateway.stop()
