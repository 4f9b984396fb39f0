"""A held exchange is recorded and queued but not sent: approved, it is sent once; rejected,
never, and its body is erased. A real destination on 127.0.0.1 says what it received.

How "not sent" is seen without waiting a fixed time: an unheld exchange to the same
destination is accepted after the held one. The relay sends a destination's messages in
acceptance order, so once the later one has arrived, the held one would have arrived first,
had the relay been able to claim it.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from gateway.delivery.repository import AWAITING_APPROVAL, DELIVERED, PENDING, REJECTED
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from gateway.store.models import Approval, DeliveryAttempt, ExchangeRecord, OutboxMessage
from tests.api.helpers import system_headers
from tests.approvals.support import WHY, decide, dpo_headers, submit
from tests.delivery.servers import Destination
from tests.delivery.support import wait_until

DEADLINE = 20.0


def outbox_row(runtime: Runtime, exchange_id: str) -> OutboxMessage:
    with runtime.db.reading() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.exchange_id == exchange_id)
        ).one()


def attempts(runtime: Runtime, exchange_id: str) -> int:
    with runtime.db.reading() as session:
        found = session.scalars(
            select(DeliveryAttempt.id).where(DeliveryAttempt.exchange_id == exchange_id)
        )
        return len(found.all())


def passed_over(env: DemoEnvironment, destination: Destination, key: str) -> str:
    """Send an unheld exchange after the held ones and wait until it has arrived."""
    later = submit(env, key)
    assert wait_until(lambda: destination.applied[later] == 1, DEADLINE)
    return later


def delivery_seen_by_source(env: DemoEnvironment, exchange_id: str) -> str:
    answer = httpx.get(
        f"{env.gateway_url}/exchanges/{exchange_id}", headers=system_headers(env, REGISTRATION)
    )
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["delivery"]["status"]
    return status


def test_a_held_exchange_is_recorded_queued_and_not_sent(
    env: DemoEnvironment, destination: Destination
) -> None:
    answer = env.submit_birth(CIVIL_REGISTRY, key="held-birth-0001")

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "awaiting-approval"
    held = answer.json()["exchange_id"]
    passed_over(env, destination, "plain-birth-0001")
    assert destination.applied[held] == 0
    row = outbox_row(env.runtime, held)
    assert (row.status, row.attempts, row.lease_token) == (AWAITING_APPROVAL, 0, None)
    assert row.body is not None and row.key_id is not None  # sealed, as every queued body
    with env.runtime.db.reading() as session:
        approval = session.scalars(select(Approval).where(Approval.exchange_id == held)).one()
        record = session.scalars(select(ExchangeRecord).where(ExchangeRecord.id == held)).one()
    assert (approval.why, approval.decision, approval.decided_at) == (WHY, None, None)
    assert approval.requested_at == record.recorded_at and record.decision == "allowed"
    assert attempts(env.runtime, held) == 0
    assert delivery_seen_by_source(env, held) == AWAITING_APPROVAL


def test_approved_it_is_sent_exactly_once(
    served: ServedGateway, env: DemoEnvironment, destination: Destination
) -> None:
    held = submit(env, "held-birth-0002")
    passed_over(env, destination, "plain-birth-0002")
    assert destination.applied[held] == 0

    approved = decide(served.url, env.runtime, held, "approve")

    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert approved.json()["exchange"]["delivery"]["status"] in (PENDING, DELIVERED)
    assert wait_until(lambda: outbox_row(env.runtime, held).status == DELIVERED, DEADLINE)
    passed_over(env, destination, "plain-birth-0003")  # the relay has moved on since
    assert destination.applied[held] == 1 and destination.duplicates[held] == 0
    assert attempts(env.runtime, held) == 1
    assert outbox_row(env.runtime, held).body is None  # erased once delivered, as any other
    assert delivery_seen_by_source(env, held) == DELIVERED


def test_rejected_it_is_never_sent_and_its_body_is_gone(
    served: ServedGateway, env: DemoEnvironment, destination: Destination
) -> None:
    held = submit(env, "held-birth-0004")

    rejected = decide(
        served.url, env.runtime, held, "reject", reason="no agreement covers specific needs"
    )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["exchange"]["delivery"]["status"] == REJECTED
    passed_over(env, destination, "plain-birth-0004")
    assert destination.applied[held] == 0 and attempts(env.runtime, held) == 0
    row = outbox_row(env.runtime, held)
    assert (row.status, row.body, row.lease_token) == (REJECTED, None, None)
    assert delivery_seen_by_source(env, held) == REJECTED
    shown = httpx.get(f"{served.url}/dpo/approvals/{held}", headers=dpo_headers(env.runtime)).json()
    assert (shown["state"], shown["reason"], shown["decided_by"]) == (
        "rejected",
        "no agreement covers specific needs",
        "dpo",
    )
    again = decide(served.url, env.runtime, held, "approve")
    assert again.status_code == 409 and again.json()["reason"] == "conflict"
    assert outbox_row(env.runtime, held).status == REJECTED
