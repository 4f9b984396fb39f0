"""The pipeline's two halves: read and render outside the database's turn, decide and write in it.

What is rendered ahead is sent only when the decision allows exactly what it was rendered
for; otherwise the payload is minimised and rendered again after the decision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.contract import Rendered
from gateway import consents
from gateway.canonical import DataCategory, Identifier
from gateway.config import Settings
from gateway.consents import ConsentGrant
from gateway.delivery.bodies import open_body
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    PURPOSE,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
)
from gateway.errors import IdempotencyConflictError
from gateway.pipeline import Inbound, Received
from gateway.runtime import Runtime
from gateway.store.models import ConsentRow, ExchangeRecord, OutboxMessage


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = Runtime.build(settings.model_copy(update={"relay_enabled": False}))
    yield built
    built.close()


@pytest.fixture
def env(runtime: Runtime) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(runtime, "http://127.0.0.1:9")  # nothing calls back
    yield environment
    environment.stop()


def receive(env: DemoEnvironment, key: str, body: bytes | None = None) -> Received:
    inbound = Inbound(
        credential=env.credentials[REGISTRATION],
        headers=env.birth_headers(CIVIL_REGISTRY, key),
        body=birth_notification() if body is None else body,
    )
    return env.runtime.pipeline.receive(inbound)


def queued_body(runtime: Runtime, exchange_id: str) -> bytes:
    """Return an outbox body as the relay would send it (opened: bodies are sealed at rest)."""
    with runtime.db.unit_of_work() as session:
        body, key_id = session.execute(
            select(OutboxMessage.body, OutboxMessage.key_id).where(
                OutboxMessage.exchange_id == exchange_id
            )
        ).one()
    assert body is not None
    return open_body(runtime.bodies, exchange_id, key_id, body)


def count_renders(env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    writer = env.runtime.pipeline.adapters.get("opencrvs")
    real, renders = writer.render, []

    def counted(message_type: str, payload: Any) -> Rendered:
        renders.append(1)
        return real(message_type, payload)

    monkeypatch.setattr(writer, "render", counted)
    return renders


def test_what_was_rendered_ahead_is_sent_when_the_decision_allows_the_same(
    env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = count_renders(env, monkeypatch)
    received = receive(env, "ahead-key-1")
    assert received.ahead is not None
    assert DataCategory.NATIONALITY in received.ahead.categories

    accepted = env.runtime.pipeline.settle(received)

    assert queued_body(env.runtime, accepted.exchange_id) == received.ahead.rendered.body
    assert len(renders) == 1  # not rendered again


def narrow_consents_to(env: DemoEnvironment, categories: frozenset[DataCategory]) -> None:
    """Withdraw the demo family's consents and grant narrower ones."""
    runtime = env.runtime
    with runtime.db.unit_of_work() as session:
        for consent_id in session.scalars(select(ConsentRow.id)).all():
            consents.withdraw(session, consent_id, runtime.clock())
        for individual in json.loads(birth_notification())["individuals"]:
            subject = Identifier(
                scheme="progres-individual", value=individual["progres_individualid"]
            )
            grant = ConsentGrant(
                subject=subject, recipient=CIVIL_REGISTRY, purpose=PURPOSE, categories=categories
            )
            consents.grant(session, grant, runtime.pseudonymiser, runtime.clock())


def test_a_decision_narrowed_by_consent_sends_only_what_consent_allows(
    env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrowed = frozenset(
        {
            DataCategory.BIRTH,
            DataCategory.IDENTITY,
            DataCategory.IDENTIFIERS,
            DataCategory.FAMILY,
        }
    )
    narrow_consents_to(env, narrowed)
    received = receive(env, "narrowed-key-1")
    assert received.ahead is not None and received.ahead.categories > narrowed

    renders = count_renders(env, monkeypatch)
    accepted = env.runtime.pipeline.settle(received)

    assert len(renders) == 1  # rendered again, minimised to what consent allows
    assert set(accepted.categories) == {c.value for c in narrowed}
    sent = queued_body(env.runtime, accepted.exchange_id)
    assert sent != received.ahead.rendered.body
    assert b"SSD" in received.ahead.rendered.body and b"SSD" not in sent  # nationality left out


def test_a_key_reused_with_a_broken_body_is_a_conflict_not_a_parse_error(
    env: DemoEnvironment,
) -> None:
    env.runtime.pipeline.settle(receive(env, "reused-key-1"))
    broken = receive(env, "reused-key-1", body=b"{not json")
    assert broken.error is not None  # found while reading, reported after the key check

    with pytest.raises(IdempotencyConflictError):
        env.runtime.pipeline.settle(broken)

    with env.runtime.db.unit_of_work() as session:
        reasons = session.scalars(select(ExchangeRecord.reasons)).all()
    assert reasons == [["allowed"], ["idempotency_conflict"]]
