"""Migration 0005 on a database that already holds exchanges: the outbox is kept, row for row,
and its status takes `awaiting-approval` (17 characters, where it held 16)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select, update

from gateway.delivery.repository import AWAITING_APPROVAL, PENDING
from gateway.store.db import make_engine, migrate
from gateway.store.models import Approval, OutboxMessage
from tests.fixtures.databases import write_an_exchange

AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
EXCHANGE = "0b5a6a9e-55a0-4c1e-9b8a-3d2f0e1c7a11"

pytestmark = pytest.mark.fresh_schema  # each test migrates a new database itself


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


def test_the_outbox_is_kept_and_takes_the_held_status(engine: Engine) -> None:
    migrate(engine, "0004")
    write_an_exchange(engine, EXCHANGE, AT)

    migrate(engine)

    outbox = OutboxMessage
    with engine.begin() as connection:
        kept = connection.execute(select(outbox.exchange_id, outbox.body, outbox.status))
        assert [tuple(row) for row in kept] == [(EXCHANGE, b"sealed", PENDING)]
        connection.execute(update(outbox).values(status=AWAITING_APPROVAL))
        connection.execute(insert(Approval).values(exchange_id=EXCHANGE, why="w", requested_at=AT))
        held = connection.execute(select(outbox.status)).scalar_one()
    assert held == AWAITING_APPROVAL
