"""Engines, sessions and migrations.

Services never commit: the request or task that owns a unit of work opens it, so an audit
record and its outbox row are written in one transaction or not at all. Administration uses
ORM sessions (`unit_of_work()`); the exchange path runs prepared statements (`transaction()`).
"""

from __future__ import annotations

import fcntl
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
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto import canonical_json
from gateway.store import prepared
from gateway.store.prepared import Transaction

PING_AFTER_IDLE_SECONDS = 1.0


def _json_text(value: Any) -> str:
    return canonical_json(value).decode()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    Parameters are hidden from error messages: they are payloads and personal data. JSON
    columns are written and read by orjson, a tenth of the standard library's time. A pooled
    connection to a database server that sat idle is pinged before use.
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

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Why FULL: a commit is on disk before anything is acknowledged, so an accepted
            # exchange survives a power cut too (NORMAL may lose the last commits). The
            # exchange path's own connection waits for the disk apart (make_durable).
            cursor.execute("PRAGMA synchronous=FULL")
            # Why: a deleted or erased value is overwritten with zeros, not left in free space
            # of the file; the log's copies go when the relay truncates it (truncate_log).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    engine = create_engine(url, hide_parameters=True, pool_size=10, max_overflow=10, **json_codec)
    _ping_after_idling(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _create_private(database_file: Path | None) -> None:
    """Create the SQLite file readable by its owner only, before SQLite opens it.

    SQLite gives its -wal and -shm files the database file's mode, so they are private too.
    """
    if database_file is None:
        return
    try:
        os.close(os.open(database_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # made before; or no folder, as SQLite will say
        pass


def _ping_after_idling(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use if it has sat idle; replace it if the ping fails.

    Why not ping on every checkout (`pool_pre_ping`): that is one more round trip per
    transaction, an eighth of an exchange on PostgreSQL (measured). A connection in steady
    use is known alive; one that sat idle may have outlived a server restart.
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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(files("gateway.store").joinpath("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Turn:
    """SQLite's queue of writers, across threads and processes; a holder asking again is refused.

    Why a lock of our own: SQLite has one writer at a time, and a writer that waits in
    SQLite's busy handler sleeps for milliseconds, so queueing on a lock is far cheaper than
    contending for the file. Threads queue on a thread lock; processes (several serving
    workers, a CLI beside a server) on an advisory lock on a file beside the database, which
    the kernel hands over as soon as it is released, and releases if its holder dies.
    Why refuse: the lock is not re-entrant, so a second unit of work opened by the thread
    that holds it (an event loop with a group-commit batch open) would wait for ever.
    """

    def __init__(self, lock_file: Path | None) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None
        self._lock_file = lock_file
        self._fd: int | None = None  # opened at first use, closed by close()

    def acquire(self, blocking: bool = True, holder: int | None = None) -> bool:
        """Take the turn for `holder` (default: this thread); without blocking, say if taken."""
        holder = threading.get_ident() if holder is None else holder
        if self._holder == holder:
            raise RuntimeError("this thread already holds the database's turn")
        if not self._lock.acquire(blocking):
            return False
        if self._lock_file is not None:
            try:
                if self._fd is None:
                    self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.release()
                return False
            except BaseException:
                self._lock.release()
                raise
        self._holder = holder
        return True

    def release(self) -> None:
        self._holder = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    def close(self) -> None:
        """Close the lock file once no thread holds the turn; the next turn opens it again."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


class Database:
    """An engine and its session factory; on SQLite, units of work take turns (see Turn)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        database_file = _database_file(engine) if self.embedded else None
        self.turn = Turn(_beside(database_file, "-turn")) if self.embedded else None
        self._log_file = _beside(database_file, "-wal")
        self._kept: Any | None = None  # SQLite: the exchange path's own connection

    @property
    def embedded(self) -> bool:
        """Tell whether the database is a local file (SQLite) rather than a server."""
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def connect(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Open a session; commit if the block succeeds, roll back if it raises.

        The block's thread opens and closes it: on SQLite it holds the writers' turn, which
        belongs to a thread. So a route owns its unit of work in its own body and answers
        after the block, never through a dependency that FastAPI closes after the answer
        (and, for a sync dependency, in another thread).
        """
        with self._taking_turn(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Open a session for reads only; it is rolled back, never committed.

        Why no turn: readers never wait for SQLite's writer (WAL), so a status read or a
        health check does not queue behind exchanges being written.
        """
        with self._sessions() as session:  # closing it rolls back
            yield session

    @contextmanager
    def transaction(self, turn_taken: bool = False, durable: bool = True) -> Iterator[Transaction]:
        """Open a driver transaction for the exchange path; commit on success, else roll back.

        Why not a session: an exchange writes rows it never reads back, and SQLAlchemy's
        bookkeeping would cost more than the statements themselves (see prepared.py).
        On SQLite it begins IMMEDIATE, taking the write lock first: an exchange reads, then
        writes what it read decides, so its reads must be in its transaction (the driver
        would begin only at the first write) and no other process may write in between.
        `turn_taken` says the caller already holds the turn (and gives it back itself);
        `durable=False` that the caller calls `make_durable()` before relying on the commit.
        """
        with self._taking_turn(skip=turn_taken), self._exchange_connection() as connection:
            begin = "BEGIN IMMEDIATE" if self.embedded else None
            with prepared.transaction(connection, self.engine.dialect, begin=begin) as tx:
                yield tx
        if durable:
            self.make_durable()

    def make_durable(self) -> None:
        """Put the exchange path's commits so far on disk (SQLite; a server's already are).

        Why apart from the commit: the exchange connection commits with `synchronous=NORMAL`,
        which writes its log but does not wait for the disk, and this waits for the disk
        after the turn is given back, so the next writer need not wait for this one's disk.
        Together they are as durable as `synchronous=FULL`: an fdatasync of the log file
        puts every commit written to it on disk (its header SQLite syncs itself). Every other
        connection still commits with FULL, so the relay's claim of a message puts the
        exchange that queued it on disk before anything is sent.
        """
        log = self._log_file
        if log is None:
            return
        try:
            fd = os.open(log, os.O_RDONLY)
        except FileNotFoundError:  # checkpointed into the database file, which is synced
            return
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def truncate_log(self) -> bool:
        """Copy SQLite's write-ahead log into the database file and cut the log to nothing.

        Why: erased bodies leave copies in the log until it is checkpointed and overwritten; a
        truncating checkpoint removes them now. Off the request path (the relay calls it after
        erasing), and in the writers' turn, so no writer waits in SQLite's busy handler.
        Returns False if a reader kept the log from being cut (try again later).
        """
        if not self.embedded:
            return True
        with self.unit_of_work() as session:
            checkpoint = session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, _, _ = checkpoint.one()
        return not busy

    @contextmanager
    def scratch(self) -> Iterator[Transaction]:
        """Open a driver transaction that is always rolled back (for dry runs)."""
        begin = "BEGIN" if self.embedded else None
        with self._pooled() as connection:
            with prepared.transaction(
                connection, self.engine.dialect, commit=False, begin=begin
            ) as tx:
                yield tx

    @contextmanager
    def _exchange_connection(self) -> Iterator[Any]:
        """Lend the connection for an exchange transaction.

        On SQLite the exchange path takes turns, so one connection kept checked out serves
        it: a pool checkout and its reset on return cost about a tenth of an exchange
        (measured). After a database error it is closed, and the next turn opens a new one.
        """
        if not self.embedded:
            with self._pooled() as connection:
                yield connection
            return
        if self._kept is None:
            kept = self.engine.raw_connection()
            kept.detach()  # not the pool's any more: closed, not pooled, when released
            cursor = kept.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")  # made durable by make_durable()
            cursor.close()
            self._kept = kept
        try:
            yield self._kept
        except (DBAPIError, self.engine.dialect.loaded_dbapi.Error):
            self._release_kept()
            raise

    def _taking_turn(self, skip: bool = False) -> AbstractContextManager[Any]:
        return nullcontext() if self.turn is None or skip else self.turn

    @contextmanager
    def _pooled(self) -> Iterator[Any]:
        connection = self.engine.raw_connection()
        try:
            yield connection
        finally:
            connection.close()  # back to the pool

    def _release_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()

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

        event.listen(self._sessions, "after_flush", note)
        event.listen(self._sessions, "after_commit", after_commit)

    def dispose(self) -> None:
        with self._taking_turn():
            self._release_kept()
        self.engine.dispose()
        if self.turn is not None:
            self.turn.close()


def _database_file(engine: Engine) -> Path | None:
    """Return a SQLite database's file (None for an in-memory one)."""
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _beside(database_file: Path | None, suffix: str) -> Path | None:
    """Return the file beside the database file whose name ends in `suffix`."""
    return None if database_file is None else database_file.with_name(database_file.name + suffix)
