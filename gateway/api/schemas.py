"""API models: what callers send and get back (never the store's rows themselves)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from gateway.store.models import ExchangeRecord, OutboxMessage, System


class ExchangeAccepted(BaseModel):
    exchange_id: str
    categories: list[str]
    replay: bool = False


class Delivery(BaseModel):
    status: str
    attempts: int
    last_error: str | None
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


class ExchangeStatus(BaseModel):
    """An exchange as its parties and the administrator may see it: metadata only."""

    exchange_id: str
    recorded_at: dt.datetime
    source: str | None
    destination: str | None
    destination_jurisdiction: str | None
    message_type: str | None
    purpose: str | None
    legal_basis: str | None
    decision: str
    reasons: list[str]
    categories: list[str]
    subjects: list[str]
    policy_version: str | None
    policy_rule: str | None
    mapping_version: str | None
    payload_digest: str | None
    leaf_hash: str
    delivery: Delivery | None

    @classmethod
    def from_rows(
        cls, record: ExchangeRecord, outbox: OutboxMessage | None, attempts: int
    ) -> ExchangeStatus:
        delivery = None
        if outbox is not None:
            delivery = Delivery(
                status=outbox.status,
                attempts=attempts,
                last_error=outbox.last_error,
                delivered_at=outbox.delivered_at,
                next_attempt_at=outbox.next_attempt_at if outbox.status == "pending" else None,
            )
        return cls(
            exchange_id=record.id,
            recorded_at=record.recorded_at,
            source=record.source,
            destination=record.destination,
            destination_jurisdiction=record.destination_jurisdiction,
            message_type=record.message_type,
            purpose=record.purpose,
            legal_basis=record.legal_basis,
            decision=record.decision,
            reasons=record.reasons,
            categories=record.categories,
            subjects=record.subjects,
            policy_version=record.policy_version,
            policy_rule=record.policy_rule,
            mapping_version=record.mapping_version,
            payload_digest=record.payload_digest,
            leaf_hash=record.leaf_hash,
            delivery=delivery,
        )


class SystemOut(BaseModel):
    id: str
    name: str
    adapter: str
    endpoint: str | None
    jurisdiction: str | None
    has_outbound_token: bool

    @classmethod
    def of(cls, system: System) -> SystemOut:
        return cls(
            id=system.id,
            name=system.name,
            adapter=system.adapter,
            endpoint=system.endpoint,
            jurisdiction=system.jurisdiction,
            has_outbound_token=system.outbound_token_sealed is not None,
        )


class SystemRegistered(SystemOut):
    credential: str  # shown once, at registration or rotation


class Credential(BaseModel):
    system_id: str
    credential: str


class ConsentOut(BaseModel):
    id: str
    subject: str  # the pseudonym: the identifier given is not kept
    recipient: str
    purpose: str
    categories: list[str]
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
