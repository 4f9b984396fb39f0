"""The exchange service's road: each step once, in order, and what each step hands on.

Nothing is minimised or rendered before the decision: a denied exchange is never rendered,
and an allowed one is rendered once, with only what the decision allows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.kit.contract import Rendered
from gateway.canonical import DataCategory, Identifier
from gateway.config import Settings
from gateway.consents import ConsentGrant
from gateway.delivery.bodies import open_body
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    PURPOSE,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
)
from gateway.errors import IdempotencyConflictError, PolicyDeniedError
from gateway.pipeline import Accepted, Inbound
from gateway.runtime import Runtime
from gateway.store.models import ConsentRow, ExchangeRecord, OutboxMessage
from tests.fixtures.births import without_countries


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


def submit(
    env: DemoEnvironment, key: str, body: bytes | None = None, to: str = CIVIL_REGISTRY
) -> Accepted:
    inbound = Inbound(
        credential=env.credentials[REGISTRATION],
        headers=env.birth_headers(to, key),
        body=birth_notification() if body is None else body,
    )
    return asyncio.run(env.runtime.exchanges.submit(inbound))


def queued_body(runtime: Runtime, exchange_id: str) -> bytes:
    """Return an outbox body as the relay would send it (opened: bodies are sealed at rest)."""
    with runtime.db.reading() as session:
        body, key_id = session.execute(
            select(OutboxMessage.body, OutboxMessage.key_id).where(
                OutboxMessage.exchange_id == exchange_id
            )
        ).one()
    assert body is not None
    return open_body(runtime.bodies, exchange_id, key_id, body)


def rendered_payloads(env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Watch what the destination adapters are asked to render."""
    rendered: list[Any] = []
    for name in ("opencrvs", "progres"):
        writer = env.runtime.exchanges.adapters.get(name)
        real = writer.render

        def watched(message_type: str, payload: Any, real: Any = real) -> Rendered:
            rendered.append(payload)
            return real(message_type, payload)

        monkeypatch.setattr(writer, "render", watched)
    return rendered


def test_a_denied_exchange_is_never_minimised_or_rendered(
    env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = rendered_payloads(env, monkeypatch)
    with pytest.raises(PolicyDeniedError) as denied:
        submit(env, "denied-key-1", to=EMBASSY)  # the embassy of the country of origin

    assert "origin.risk_country" in denied.value.reasons
    assert rendered == []


def test_an_allowed_exchange_is_rendered_once_from_the_minimised_payload(
    env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = rendered_payloads(env, monkeypatch)
    accepted = submit(env, "allowed-key-1")

    assert len(rendered) == 1
    assert {c.value for c in rendered[0].categories()} <= set(accepted.categories)
    assert DataCategory.PROTECTION not in rendered[0].categories()


def narrow_consents_to(env: DemoEnvironment, categories: frozenset[DataCategory]) -> None:
    """Withdraw the demo family's consents and grant narrower ones."""
    runtime = env.runtime
    with runtime.db.reading() as session:
        consent_ids = session.scalars(select(ConsentRow.id)).all()
    for consent_id in consent_ids:
        runtime.consents.withdraw(consent_id)
    for individual in json.loads(birth_notification())["individuals"]:
        subject = Identifier(scheme="progres-individual", value=individual["progres_individualid"])
        runtime.consents.grant(
            ConsentGrant(
                subject=subject, recipient=CIVIL_REGISTRY, purpose=PURPOSE, categories=categories
            )
        )


def test_a_decision_narrowed_by_consent_sends_only_what_consent_allows(
    env: DemoEnvironment,
) -> None:
    wide = submit(env, "wide-key-1")
    # Read now: withdrawing the wide consents cancels the wide message, which has not left.
    assert b"SSD" in queued_body(env.runtime, wide.exchange_id)
    narrowed = frozenset(
        {DataCategory.BIRTH, DataCategory.IDENTITY, DataCategory.IDENTIFIERS, DataCategory.FAMILY}
    )
    narrow_consents_to(env, narrowed)

    accepted = submit(env, "narrowed-key-1")

    assert set(accepted.categories) == {c.value for c in narrowed}
    assert b"SSD" not in queued_body(env.runtime, accepted.exchange_id)  # nationality left out


def test_a_payload_that_cannot_go_without_a_withheld_category_is_a_recorded_denial(
    env: DemoEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Consent allows the people but not the birth: the policy allows, minimising cannot."""
    narrow_consents_to(
        env, frozenset({DataCategory.IDENTITY, DataCategory.IDENTIFIERS, DataCategory.FAMILY})
    )
    rendered = rendered_payloads(env, monkeypatch)

    with pytest.raises(PolicyDeniedError) as denied:
        submit(env, "no-birth-key-1")

    assert denied.value.reasons == ["minimise.required_category_withheld"]
    assert rendered == []
    with env.runtime.db.reading() as session:
        decision = session.scalar(
            select(ExchangeRecord.decision).where(ExchangeRecord.id == denied.value.exchange_id)
        )
    assert decision == "denied"


def test_a_key_reused_with_a_broken_body_is_a_conflict_not_a_parse_error(
    env: DemoEnvironment,
) -> None:
    submit(env, "reused-key-1")
    with pytest.raises(IdempotencyConflictError):
        submit(env, "reused-key-1", body=b"{not json")

    with env.runtime.db.reading() as session:
        reasons = session.scalars(select(ExchangeRecord.reasons)).all()
    assert reasons == [["allowed"], ["idempotency_conflict"]]


def test_a_replay_answers_the_first_outcome_and_queues_nothing_more(env: DemoEnvironment) -> None:
    first = submit(env, "replayed-key-1")
    again = submit(env, "replayed-key-1")

    assert again == Accepted(first.exchange_id, first.categories, replay=True)
    with env.runtime.db.reading() as session:
        assert len(session.scalars(select(OutboxMessage.id)).all()) == 1


def birth_without_countries() -> bytes:
    return json.dumps(without_countries(json.loads(birth_notification()))).encode()


def submit_together(env: DemoEnvironment, *sent: tuple[str, str, bytes]) -> list[Any]:
    """Submit on one event loop turn, so the exchanges share one batch."""

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(
                env.runtime.exchanges.submit(
                    Inbound(
                        credential=env.credentials[REGISTRATION],
                        headers=env.birth_headers(to, key),
                        body=body,
                    )
                )
                for to, key, body in sent
            ),
            return_exceptions=True,
        )

    return asyncio.run(main())


def test_what_an_exchange_teaches_the_guard_binds_the_next_one_in_its_batch(
    env: DemoEnvironment,
) -> None:
    allowed, denied = submit_together(
        env,
        (CIVIL_REGISTRY, "teaches-key-1", birth_notification()),  # says the family is from SSD
        (EMBASSY, "omits-key-1", birth_without_countries()),  # says nothing, to the embassy of SSD
    )
    assert isinstance(allowed, Accepted)
    assert isinstance(denied, PolicyDeniedError)
    assert denied.reasons == ["origin.risk_country"]  # remembered, not merely unknown


def test_a_key_replayed_in_the_same_batch_is_the_same_exchange(env: DemoEnvironment) -> None:
    first, again, conflict = submit_together(
        env,
        (CIVIL_REGISTRY, "same-batch-1", birth_notification()),
        (CIVIL_REGISTRY, "same-batch-1", birth_notification()),
        (CIVIL_REGISTRY, "same-batch-1", birth_without_countries()),
    )
    assert isinstance(first, Accepted) and not first.replay
    assert again == Accepted(first.exchange_id, first.categories, replay=True)
    assert isinstance(conflict, IdempotencyConflictError)
    with env.runtime.db.reading() as session:
        assert len(session.scalars(select(OutboxMessage.id)).all()) == 1
