"""Group commit: the exchanges an event loop takes in together are written in one transaction.

Why: a commit is durable only once the disk (or the database server's disk) says so, and
most of a commit's cost, and of a statement's, is the same for one exchange as for ten.
`run` queues an exchange. A flush lets the loop run until a turn passes with no exchange
joining (see `_gather`), then, in a worker thread, hands every queued exchange to the batch's
writer in one transaction (so it can read what they all need at once) and commits; only then
is each answered. So nothing is acknowledged before it is
committed, one commit serves a whole batch, and the loop goes on taking requests (which join
the next batch) while a batch is written.

The writer reads through the batch's connection and leaves the rows each exchange writes to
the batch (`Batch.defer`), all at once when that exchange has succeeded: the batch writes
them at its end, one statement per table for all its exchanges. So an exchange that fails
leaves nothing of itself, and spares the others. A batch that fails as a whole (its final
writes or its commit: another process bound the same idempotency key meanwhile, a deadlock)
is run once more from the start, since the writer only reads and decides before that; if it
fails again, every exchange in it fails, none of which was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import DBAPIError

from gateway.store.db import Database

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")
Row = Mapping[str, Any]
Write = tuple[Executable, Sequence[Row]]
"""A statement and the rows it writes."""

MAX_BATCH = 32
MAX_GATHER_SECONDS = 0.005
BATCHES_AT_ONCE_ON_A_SERVER = 4


class Batch:
    """One transaction shared by the works of a batch, and the rows they leave to write."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._deferred: dict[Executable, list[Row]] = {}

    def defer(self, *writes: Write) -> None:
        """Leave rows to be written at the batch's end; statements run in first-deferred order.

        Why all at once: a work that fails must leave nothing, so it hands over its rows
        only when it has succeeded.
        """
        for statement, rows in writes:
            self._deferred.setdefault(statement, []).extend(rows)

    def deferred(self, statement: Executable) -> Sequence[Row]:
        """Return the rows left so far for a statement (e.g. keys bound earlier in the batch)."""
        return self._deferred.get(statement, ())

    def write(self) -> None:
        """Write every deferred row: one statement per table, for all the batch's works."""
        for statement, rows in self._deferred.items():
            self.connection.execute(statement, rows)


WriteBatch = Callable[[Batch, Sequence[Item]], Sequence[Result | Exception]]
"""Decide a batch's items in its transaction: each one's result, or why it failed."""


@dataclass(frozen=True)
class _Queued(Generic[Item]):
    item: Item
    answer: asyncio.Future[Any]


class GroupCommit(Generic[Item, Result]):
    """Batch the items an event loop takes in together into one transaction."""

    def __init__(self, db: Database, write_batch: WriteBatch[Item, Result]) -> None:
        self._db = db
        self._write_batch = write_batch
        self._queued: list[_Queued[Item]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()
        # SQLite has one writer; a database server overlaps several batches' round trips.
        self._at_once = 1 if db.embedded else BATCHES_AT_ONCE_ON_A_SERVER
        self._free: asyncio.Semaphore | None = None  # made on the loop that flushes

    async def run(self, item: Item) -> Result:
        """Queue an item for the next batch; return its result once the batch is committed."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Result] = loop.create_future()
        # Why: a failed batch may have no waiter left (all hung up); asyncio would log that.
        answer.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queued.append(_Queued(item, answer))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        # A client that hangs up cancels only its answer: the batch holds its item, not this.
        return await answer

    async def close(self) -> None:
        """Write, commit and answer whatever is queued (at shutdown, before the database closes)."""
        while self._flushing is not None or self._writing:
            if self._flushing is not None:
                await self._flushing
            await asyncio.gather(*self._writing, return_exceptions=True)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        if self._free is None or not self._writing:  # a loop's first flush, or nothing in flight
            self._free = asyncio.Semaphore(self._at_once)
        free = self._free
        try:
            while self._queued:
                await free.acquire()  # meanwhile, arrivals join the next batch
                await self._gather()
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                writing = loop.create_task(self._write_and_answer(batch, free))
                self._writing.add(writing)
                writing.add_done_callback(self._writing.discard)
        except BaseException as exc:  # the flush was cancelled
            failed, self._queued = self._queued, []
            for queued in failed:
                _fail(queued.answer, exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._flushing = None

    async def _write_and_answer(self, batch: list[_Queued[Item]], free: asyncio.Semaphore) -> None:
        try:
            # Shielded: a batch being written is committed whatever happens to its waiters.
            writing = asyncio.get_running_loop().run_in_executor(None, self._write, batch)
            try:
                outcomes = await asyncio.shield(writing)
            except Exception as exc:  # the batch failed as a whole: fail it, go on
                outcomes = [exc] * len(batch)
            for queued, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    _fail(queued.answer, outcome)
                else:
                    _answer(queued.answer, outcome)
        except BaseException as exc:  # cancelled (the loop is closing): fail what waits
            for queued in batch:
                _fail(queued.answer, exc)
            raise
        finally:
            free.release()

    async def _gather(self) -> None:
        """Let the loop run until a turn passes with no exchange joining the batch.

        Why more than one turn: a request takes a few loop turns from its bytes arriving to
        its exchange being queued, and a batch's commit costs much the same however many it
        holds. A batch stops gathering at MAX_BATCH exchanges or after MAX_GATHER_SECONDS, so
        a steady stream of arrivals cannot hold back the first ones.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_GATHER_SECONDS
        while len(self._queued) < MAX_BATCH and loop.time() < deadline:
            joined = len(self._queued)
            await asyncio.sleep(0)
            if len(self._queued) == joined:
                return

    def _write(self, batch: list[_Queued[Item]]) -> Sequence[Result | Exception]:
        """Decide the batch's items in one transaction, write what they left, and commit.

        Return each item's result or error; raise if the batch failed as a whole twice.
        """
        items = [queued.item for queued in batch]
        try:
            return self._write_once(items)
        except DBAPIError:  # e.g. a key another process bound meanwhile: read and decide again
            log.info("a batch of %d exchanges failed as a whole; running it again", len(batch))
            return self._write_once(items)

    def _write_once(self, items: list[Item]) -> Sequence[Result | Exception]:
        with self._db.transaction() as connection:
            shared = Batch(connection)
            outcomes = self._write_batch(shared, items)
            shared.write()
        return outcomes


def _answer(answer: asyncio.Future[Any], value: Any) -> None:
    if not answer.done():
        answer.set_result(value)


def _fail(answer: asyncio.Future[Any], error: BaseException) -> None:
    if answer.done():
        return
    if isinstance(error, asyncio.CancelledError):
        answer.cancel()
    else:
        answer.set_exception(error)
