"""Group commit: the exchanges an event loop takes in together are written in one transaction.

Why: a commit is durable only once the disk says so, and that wait is as long as the rest of
an exchange; and most of a commit's cost is the same for one exchange as for ten. `run`
queues an exchange's database work. A flush lets the loop run until a turn passes with no
exchange joining (see `_gather`), then takes the database's turn, runs every queued work in
a savepoint of one transaction, commits and gives the turn back; a thread then waits for the
disk (`Database.make_durable`), and only then is each answered. So nothing is acknowledged
before it is on disk, one commit and one disk wait serve a whole batch, and the next batch is
written while the disk works.

The turn is held only while a batch writes: never while the loop reads, authenticates,
parses and renders the next requests, nor while the disk works. When another process holds
it, a thread waits for it and the loop goes on taking requests, which join the batch. So
several serving processes share one SQLite file without queueing for their whole work.

An exchange that fails rolls back to its savepoint and leaves the others alone; a batch whose
transaction breaks (a savepoint or the commit fails) fails every exchange in it, none of
which was acknowledged.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import text

from gateway.store.db import Database, Turn
from gateway.store.prepared import Statement, Transaction, TransactionFactory

T = TypeVar("T")

MAX_BATCH = 32
MAX_GATHER_SECONDS = 0.005

_SAVEPOINT = Statement(text("SAVEPOINT exchange"))
_ROLLBACK_TO = Statement(text("ROLLBACK TO SAVEPOINT exchange"))
_RELEASE = Statement(text("RELEASE SAVEPOINT exchange"))


@dataclass(frozen=True)
class _Queued:
    work: Callable[[TransactionFactory], Any]
    answer: asyncio.Future[Any]


class _BrokenBatchError(Exception):
    """The batch's transaction can no longer be used; every exchange in it fails."""


class GroupCommit:
    """Batch the database work an event loop takes in together into one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queued: list[_Queued] = []
        self._flushing: asyncio.Task[None] | None = None
        self._syncing: set[asyncio.Task[None]] = set()
        self._tx: Transaction | None = None
        self._broken: BaseException | None = None

    async def run(self, work: Callable[[TransactionFactory], T]) -> T:
        """Queue `work` for the next batch; return its result once the batch is on disk."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        # Why: a failed batch may have no waiter left (all hung up); asyncio would log that.
        answer.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queued.append(_Queued(work, answer))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        # A client that hangs up cancels only its answer: the batch holds its work, not this.
        return await answer

    async def close(self) -> None:
        """Write, commit and answer whatever is queued (at shutdown, before the database closes)."""
        if self._flushing is not None:
            await self._flushing
        await asyncio.gather(*self._syncing, return_exceptions=True)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run a block in a savepoint of the batch being written (for the queued work)."""
        if self._tx is None:
            raise RuntimeError("a group's transactions exist only while its batch is written")
        tx = self._tx
        self._savepoint(tx, _SAVEPOINT)
        try:
            yield tx
        except BaseException:
            self._savepoint(tx, _ROLLBACK_TO)
            self._savepoint(tx, _RELEASE)
            raise
        self._savepoint(tx, _RELEASE)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queued:
                await self._gather()
                await self._take_turn()
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                try:
                    outcomes = self._write(batch)
                finally:
                    if self._db.turn is not None:
                        self._db.turn.release()
                if outcomes is not None:
                    # Answered once on disk; meanwhile the next batch may be written.
                    syncing = loop.create_task(self._answer_when_durable(batch, outcomes))
                    self._syncing.add(syncing)
                    syncing.add_done_callback(self._syncing.discard)
        except BaseException as exc:  # no turn, or the flush was cancelled: fail what waits
            batch, self._queued = self._queued, []
            for queued in batch:
                _fail(queued.answer, exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._flushing = None

    async def _gather(self) -> None:
        """Let the loop run until a turn passes with no exchange joining the batch.

        Why more than one turn: a request takes a few loop turns from its bytes arriving to
        its exchange being queued, and a batch's commit costs much the same however many it
        holds (measured: an exchange written alone costs 630 us, in eights 380). A batch
        stops gathering at MAX_BATCH exchanges or after MAX_GATHER_SECONDS, so a steady
        stream of arrivals cannot hold back the first ones.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_GATHER_SECONDS
        while len(self._queued) < MAX_BATCH and loop.time() < deadline:
            joined = len(self._queued)
            await asyncio.sleep(0)
            if len(self._queued) == joined:
                return

    async def _answer_when_durable(
        self, batch: list[_Queued], outcomes: list[tuple[bool, Any]]
    ) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._db.make_durable)
        except BaseException as exc:  # committed, but not known to be on disk: not accepted
            for queued in batch:
                _fail(queued.answer, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for queued, (succeeded, value) in zip(batch, outcomes, strict=True):
            if succeeded:
                _answer(queued.answer, value)
            else:
                _fail(queued.answer, value)

    async def _take_turn(self) -> None:
        """Take the database's turn for the loop's thread, waiting for it off the loop."""
        turn = self._db.turn
        if turn is None:
            return
        loop_thread = threading.get_ident()
        if turn.acquire(blocking=False, holder=loop_thread):
            return
        waiting = asyncio.get_running_loop().run_in_executor(
            None, partial(turn.acquire, holder=loop_thread)
        )
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:  # give the turn back once the thread has it
            waiting.add_done_callback(partial(_give_back, turn))
            raise

    def _write(self, batch: list[_Queued]) -> list[tuple[bool, Any]] | None:
        """Run each queued work in a savepoint of one transaction and commit.

        Return each work's outcome (succeeded, result or error), or None when the batch
        failed as a whole; every answer then carries the failure.
        """
        outcomes: list[tuple[bool, Any]] = []
        self._broken = None
        try:
            with self._db.transaction(turn_taken=True, durable=False) as tx:
                self._tx = tx
                for queued in batch:
                    try:
                        outcomes.append((True, queued.work(self.transaction)))
                    except Exception as exc:
                        outcomes.append((False, exc))
                    if self._broken is not None:
                        raise _BrokenBatchError("the batch's transaction broke") from self._broken
        except BaseException as exc:
            failure = self._broken or exc
            for queued in batch:
                _fail(queued.answer, failure)
            if not isinstance(exc, Exception):
                raise
            return None
        finally:
            self._tx = None
        return outcomes

    def _savepoint(self, tx: Transaction, statement: Statement) -> None:
        try:
            tx.execute(statement, {})
        except BaseException as exc:
            self._broken = exc
            raise


def _give_back(turn: Turn, taking: asyncio.Future[bool]) -> None:
    if not taking.cancelled() and taking.exception() is None:
        turn.release()


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
