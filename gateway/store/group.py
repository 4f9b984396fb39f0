"""Group commit: the exchanges an event loop takes in one turn share one commit.

Why: a commit is durable only once the disk says so (SQLite runs `synchronous=FULL`), and
that wait is as long as the rest of an exchange. Exchanges submitted in the same turn of the
loop each run in a savepoint of one open transaction, which commits when the loop comes
round again; each answer waits for that commit, so nothing is acknowledged before it is on
disk, and one disk wait serves the whole batch (measured: 2.6 exchanges per commit with 8
clients). An exchange that fails rolls back to its savepoint and leaves the others alone; a
commit that fails fails every exchange of its batch, none of which was acknowledged.

Only the event loop's thread uses a group. The batch holds the database's turn from its
first exchange to its commit, so other threads wait for that commit, not for each exchange.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import text

from gateway.store.db import Database
from gateway.store.prepared import Statement, Transaction, TransactionFactory

T = TypeVar("T")

_SAVEPOINT = Statement(text("SAVEPOINT exchange"))
_ROLLBACK_TO = Statement(text("ROLLBACK TO SAVEPOINT exchange"))
_RELEASE = Statement(text("RELEASE SAVEPOINT exchange"))


@dataclass
class _Batch:
    resources: ExitStack  # the database's turn, its connection and the open transaction
    tx: Transaction
    committed: asyncio.Future[None]


class GroupCommit:
    """Batch the transactions of one event loop's turn into one commit."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._batch: _Batch | None = None

    async def run(self, work: Callable[[TransactionFactory], T]) -> T:
        """Run `work` with this group's transactions; return once what it wrote is committed."""
        try:
            return work(self.transaction)
        finally:
            # Nothing else ran since `work` began, so the open batch is the one it wrote in.
            if self._batch is not None:
                # Shielded: a client that hangs up must not cancel the others' commit.
                await asyncio.shield(self._batch.committed)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run a block in a savepoint of the open batch, opening a batch if none is open."""
        batch = self._batch or self._open()
        batch.tx.execute(_SAVEPOINT, {})
        try:
            yield batch.tx
        except BaseException:
            self._undo(batch)
            raise
        try:
            batch.tx.execute(_RELEASE, {})
        except BaseException as exc:
            self._end(batch, exc)
            raise

    def close(self) -> None:
        """Commit an open batch now (at shutdown, before the database is closed)."""
        if self._batch is not None:
            self._commit(self._batch)

    def _open(self) -> _Batch:
        loop = asyncio.get_running_loop()
        resources = ExitStack()
        tx = resources.enter_context(self._db.transaction())
        batch = _Batch(resources, tx, loop.create_future())
        # Why: a failed batch may have no waiter left (all hung up); asyncio would log that.
        batch.committed.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._batch = batch
        loop.call_soon(self._commit, batch)
        return batch

    def _undo(self, batch: _Batch) -> None:
        """Roll back the failed block's savepoint; if even that fails, end the batch."""
        try:
            batch.tx.execute(_ROLLBACK_TO, {})
            batch.tx.execute(_RELEASE, {})
        except BaseException as exc:
            self._end(batch, exc)

    def _commit(self, batch: _Batch) -> None:
        if self._batch is not batch:  # already committed at close, or ended by a failure
            return
        self._batch = None
        try:
            batch.resources.close()  # commits, gives the connection back, ends the turn
        except BaseException as exc:
            batch.committed.set_exception(exc)
        else:
            batch.committed.set_result(None)

    def _end(self, batch: _Batch, error: BaseException) -> None:
        """Roll the whole batch back after its transaction broke; its exchanges all fail."""
        if self._batch is batch:
            self._batch = None
        try:
            batch.resources.__exit__(type(error), error, error.__traceback__)
        finally:
            if not batch.committed.done():
                batch.committed.set_exception(error)
