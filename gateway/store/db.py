"""Engines, sessions and migrations: the one way to reach the database.

Services do not commit: the request or task that owns a unit of work opens it, so an audit
record and its outbox row are written in one transaction or not at all. Administration
writes through ORM sessions (`unit_of_work()`); the exchange path writes Core statements
on a connection (`transaction()`), since it writes rows it never reads back; both come
from one engine and one pool.

SQLite is the embedded default for one serving process; several serving processes (or
workers) need PostgreSQL. Within a process, SQLite's writers queue on a lock, which is far
cheaper than contending for the file in SQLite's busy handler; another process (a command
line beside a server) still waits in that handler, for up to 30 s.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from gateway.canonical.json import canonical_json

PING_AFTER_IDLE_SECONDS = 1.0
_WRITE = "gateway_write"  # execution option: this transaction will write (SQLite: IMMEDIATE)


def _json_text(value: Any) -> str:
    return canonical_json(value).decode()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, full sync and a busy timeout.

    Parameters are hidden from error messages: they are payloads and personal data. JSON
    columns are written and read by orjson. A pooled connection to a database server that
    sat idle is pinged before use.
    """
    json_codec = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": 30, "check_same_thread": False},
            **json_codec,
        )
        _create_private(_database_file(engine))
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, hide_parameters=True, pool_size=10, max_overflow=10, **json_codec)
    _ping_after_idling(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Set every connection's pragmas, and begin transactions as SQLAlchemy documents for pysqlite.

    Why our own BEGIN: the driver begins only at the first write, so an exchange's reads
    (its idempotency key, remembered risk, consents) would run outside its transaction, and
    savepoints would not work. A transaction that will write begins IMMEDIATE, taking the
    write lock first, so no other writer slips in between its reads and its writes.
    """

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Why FULL: a commit is on disk before anything is acknowledged, so an accepted
        # exchange survives a power cut too (NORMAL may lose the last commits in WAL mode).
        cursor.execute("PRAGMA synchronous=FULL")
        # Why: a deleted or erased value is overwritten with zeros, not left in free space
        # of the file; the log's copies go when the relay truncates it (truncate_log).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _create_private(path: Path | None) -> None:
    """Create the SQLite file readable by its owner only, before SQLite opens it.

    SQLite gives its -wal and -shm files the database file's mode, so they are private too.
    """
    if path is None:
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # made before; or no folder, as SQLite will say
        pass


def _ping_after_idling(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use if it has sat idle; replace it if the ping fails.

    Why not ping on every checkout (`pool_pre_ping`): that is one more round trip per
    transaction. A connection in steady use is known alive; one that sat idle may have
    outlived a server restart.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # hand it over outside any transaction
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled connection did not answer") from exc


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("gateway.store").joinpath("migrations")))
    return config


@functools.cache
def _heads() -> frozenset[str]:
    """The newest migrations, read from the scripts once a process (they do not change)."""
    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest migration (or to `revision`, for a migration's test).

    A schema already at the newest is left alone without loading every migration script
    (which took 6 ms idle, over 20 under load, on each start of a process or a test).
    """
    if revision == "head" and is_current(engine):
        return
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    """Tell whether the schema is at the newest migration, changing nothing."""
    with engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads()) == _heads()


class Database:
    """An engine, its sessions, and (on SQLite) the lock this process's writers queue on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writing = engine.execution_options(**{_WRITE: True})
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._writer_sessions = sessionmaker(self._writing, expire_on_commit=False)
        self._writer_lock = threading.Lock() if self.embedded else None

    @property
    def embedded(self) -> bool:
        """Tell whether the database is a local file (SQLite) rather than a server."""
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def connect(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Open a session that will write; commit if the block succeeds, roll back if it raises.

        A route or task owns its unit of work in its own body and answers after the block,
        never through a dependency that FastAPI closes after the answer is sent.
        """
        with self._queued(), self._writer_sessions() as session, session.begin():
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Open a connection in a transaction that will write; commit on success, else roll back."""
        with self._queued(), self._writing.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Open a session for reads only; it is rolled back, never committed.

        Why no queueing: readers never wait for SQLite's writer (WAL), so a status read or a
        health check does not queue behind exchanges being written.
        """
        with self._sessions() as session:  # closing it rolls back
            yield session

    @contextmanager
    def dry_run(self) -> Iterator[Connection]:
        """Open a connection in a transaction that is always rolled back (`policy explain`)."""
        with self.engine.connect() as connection, connection.begin() as transaction:
            yield connection
            transaction.rollback()

    def truncate_log(self) -> bool:
        """Copy SQLite's write-ahead log into the database file and cut the log to nothing.

        Why: erased bodies leave copies in the log until it is checkpointed and overwritten; a
        truncating checkpoint removes them now. Off the request path (the relay calls it after
        erasing). Returns False if a reader kept the log from being cut (try again later).
        """
        if not self.embedded:
            return True
        with self._queued(), self.engine.connect() as connection:
            busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        return not busy

    def on_commit_changing(self, model: type, callback: Callable[[], None]) -> None:
        """Call `callback` after each commit that added, changed or deleted a `model` row."""

        key = ("changed", model)

        def note(session: Session, _context: Any) -> None:
            touched = session.new | session.dirty | session.deleted
            if any(isinstance(row, model) for row in touched):
                session.info[key] = True

        def after_commit(session: Session) -> None:
            if session.info.pop(key, False):
                callback()

        event.listen(self._writer_sessions, "after_flush", note)
        event.listen(self._writer_sessions, "after_commit", after_commit)

    def dispose(self) -> None:
        self.engine.dispose()

    def _queued(self) -> AbstractContextManager[Any]:
        return nullcontext() if self._writer_lock is None else self._writer_lock


def _database_file(engine: Engine) -> Path | None:
    """Return a SQLite database's file (None for an in-memory one or a server)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)
