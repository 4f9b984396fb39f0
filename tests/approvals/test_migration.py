"""Migration 0005 on a database that already holds exchanges: the outbox is kept, row for row,
and its status takes `awaiting-approval` (17 characters, where it held 16)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select, update

from gateway.audit import record as audit_record
from gateway.audit.record import ALLOWED
from gateway.delivery.repository import AWAITING_APPROVAL, PENDING
from gateway.store.db import make_engine, migrate
from gateway.store.models import Approval, ExchangeRecord, OutboxMessage, System

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
    record = audit_record.build(
        exchange_id=EXCHANGE, recorded_at=AT, source="src", request_digest=None,
        decision=ALLOWED, reasons=["allowed"],
    )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            insert(System).values(
                id="dst", name="D", adapter="opencrvs", credential_hash="0" * 64, created_at=AT
            )
        )
        connection.execute(insert(ExchangeRecord).values(**record.fields(), leaf_hash="00" * 32))
        connection.execute(
            insert(OutboxMessage).values(
                exchange_id=EXCHANGE, destination="dst", body=b"sealed", key_id="k1",
                content_type="application/json", status=PENDING, attempts=0,
                next_attempt_at=AT,
            )
        )  # fmt: skip

    migrate(engine)

    outbox = OutboxMessage
    with engine.begin() as connection:
        kept = connection.execute(select(outbox.exchange_id, outbox.body, outbox.status))
        assert [tuple(row) for row in kept] == [(EXCHANGE, b"sealed", PENDING)]
        connection.execute(update(outbox).values(status=AWAITING_APPROVAL))
        connection.execute(insert(Approval).values(exchange_id=EXCHANGE, why="w", requested_at=AT))
        held = connection.execute(select(outbox.status)).scalar_one()
    assert held == AWAITING_APPROVAL
