"""SQLite's turn across processes: several serving workers, or a command beside a server."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from gateway.audit.record import Attempt
from gateway.store.db import Database, Turn
from gateway.store.group import GroupCommit
from gateway.store.models import ExchangeRecord, table_of
from gateway.store.prepared import Statement, TransactionFactory

RECORD = Statement(insert(table_of(ExchangeRecord)))
spawn = multiprocessing.get_context("spawn")


def hold_the_turn(url: str, held: Event, release: Event, die: bool) -> None:
    """In another process: take the database's turn, say so, then give it back or die."""
    turn = Database.connect(url).turn
    assert turn is not None
    turn.acquire()
    held.set()
    release.wait(30)
    if die:
        os._exit(0)  # no release, no clean-up: the kernel frees the lock with the process
    turn.release()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite in every pass: a database server has no turn."""
    return f"sqlite:///{tmp_path / 'turns.db'}"


class Holder:
    """Another process holding the turn until `release()`."""

    def __init__(self, url: str, die: bool = False) -> None:
        self.held, self.released = spawn.Event(), spawn.Event()
        self.process = spawn.Process(
            target=hold_the_turn, args=(url, self.held, self.released, die)
        )
        self.process.start()
        assert self.held.wait(30), "the other process did not take the turn"

    def release(self) -> None:
        self.released.set()

    def join(self) -> None:
        self.release()
        self.process.join(30)


def turn_of(database: Database) -> Turn:
    assert database.turn is not None
    return database.turn


def test_a_turn_another_process_holds_is_not_taken_until_it_is_given_back(
    database_url: str, db: Database
) -> None:
    holder = Holder(database_url)
    try:
        assert not turn_of(db).acquire(blocking=False)
        holder.release()
        assert turn_of(db).acquire()  # waits, then takes it
        turn_of(db).release()
    finally:
        holder.join()


def test_a_process_that_dies_holding_the_turn_leaves_it_free(
    database_url: str, db: Database
) -> None:
    holder = Holder(database_url, die=True)
    holder.join()
    assert turn_of(db).acquire(blocking=False)
    turn_of(db).release()


def test_a_batch_waits_for_another_process_without_stopping_the_loop(
    database_url: str, db: Database
) -> None:
    group = GroupCommit(db)
    attempt = Attempt()

    def work(transaction: TransactionFactory) -> str:
        with transaction() as tx:
            tx.execute(RECORD, ExchangeRecord.values(attempt))
        return attempt.id

    holder = Holder(database_url)
    # Given back from a thread, not the loop: a loop stuck waiting for the turn still ends.
    threading.Timer(0.3, holder.release).start()

    async def main() -> tuple[int, str]:
        submitted = asyncio.ensure_future(group.run(work))
        ticks = 0
        while not submitted.done():  # the loop runs on while the batch waits for the turn
            await asyncio.sleep(0.01)
            ticks += 1
        return ticks, submitted.result()

    try:
        ticks, written = asyncio.run(main())
    finally:
        holder.join()
    assert written == attempt.id
    assert ticks >= 10  # a loop stuck for the 0.3 s would have ticked two or three times
    with db.engine.connect() as connection:
        assert list(connection.scalars(select(ExchangeRecord.id))) == [attempt.id]
