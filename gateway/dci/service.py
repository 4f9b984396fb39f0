"""DCI civil registry subscriptions: subscribe to live births; walk each notice down the road.

A DCI registry pushes registered births to the notify URL the gateway gave it when it
subscribed. The notice is the registry's native message; the subscription supplies the
envelope it cannot (destination, message type, purpose, legal basis, agreement), and the
notice is then submitted like any exchange (`ExchangeService.submit`): parsed by the
registry's adapter, decided, minimised, rendered, recorded and delivered, every attempt
recorded, denied ones included. There is no second road.

Why the idempotency key is the body's digest: a registry that does not hear the answer posts
the same notice again, and it must be the same exchange, not a second registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from adapters.kit.contract import CONTENT_TYPE, FetchRequest
from adapters.registry import AdapterRegistry
from gateway.crypto import Sealer, sha256_hex
from gateway.delivery.transport import HttpTransport, Transport
from gateway.envelope import HEADERS
from gateway.errors import (
    EnvelopeError,
    ForbiddenError,
    GatewayError,
    Problem,
    UnknownSystemError,
)
from gateway.pipeline import Accepted, ExchangeService, Inbound
from gateway.store.db import Database
from gateway.store.models import DciSubscription, System
from gateway.systems import Directory

CONFIRMATION = "birth-registration-confirmation"


@runtime_checkable
class Subscriber(Protocol):
    """An adapter whose system can be subscribed to, and notifies: what this service needs."""

    name: str

    def subscribe_request(self, notify_url: str) -> FetchRequest: ...

    def read_subscribed(self, status: int, headers: Mapping[str, str], body: bytes) -> str: ...


@dataclass(frozen=True)
class SubscriptionSpec:
    """What an administrator asks for: whose births, to whom, why, where to be notified."""

    registry: str
    destination: str
    purpose: str
    legal_basis: str
    notify_url: str
    agreement: str | None = None
    message_type: str = CONFIRMATION


@dataclass(frozen=True)
class Subscribed:
    registry: str
    destination: str
    message_type: str
    correlation_id: str
    subscribed_at: dt.datetime


class DciSubscriptions:
    """Subscribe to DCI registries; submit their notices as exchanges."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        adapters: AdapterRegistry,
        exchanges: ExchangeService,
        sealer: Sealer,
        transport: Transport,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.db = db
        self.directory = directory
        self.adapters = adapters
        self.exchanges = exchanges
        self.sealer = sealer
        self.transport = transport
        self.clock = clock

    def close(self) -> None:
        if isinstance(self.transport, HttpTransport):
            self.transport.close()

    def subscribe(self, spec: SubscriptionSpec) -> Subscribed:
        """Ask the registry for its live births; keep the subscription once it acknowledged.

        Checked before anything is sent: both systems exist, the registry can be asked and
        its adapter subscribes, the destination's adapter renders the message type.
        """
        registry = self.directory.get(spec.registry)
        if registry is None or registry.endpoint is None:
            problem = Problem("registry", "no system that can be asked has this id")
            raise UnknownSystemError(f"no registry {spec.registry!r}", [problem])
        adapter = self.adapters.get(registry.adapter)
        if not isinstance(adapter, Subscriber):
            problem = Problem("registry", f"{registry.id} cannot be subscribed to")
            raise EnvelopeError(f"{registry.id} takes no subscriptions", [problem])
        destination = self.directory.get(spec.destination)
        if destination is None:
            problem = Problem("destination", "no system has this id")
            raise UnknownSystemError(f"no system {spec.destination!r}", [problem])
        if spec.message_type not in self.adapters.get(destination.adapter).renders:
            problem = Problem("message_type", f"{destination.id} does not take this message type")
            raise EnvelopeError(f"unsupported message type {spec.message_type!r}", [problem])
        asked = adapter.subscribe_request(spec.notify_url)
        headers = dict(asked.headers)
        with self.db.reading() as session:
            sealed = session.get(System, registry.id)
            token = sealed.outbound_token_sealed if sealed else None
        if token:
            headers["Authorization"] = "Bearer " + self.sealer.open(token)
        url = registry.endpoint.rstrip("/") + "/" + asked.path.lstrip("/")
        answer = self.transport.post(url, asked.body, headers)
        correlation = adapter.read_subscribed(answer.status, answer.headers, answer.body)
        at = self.clock()
        with self.db.unit_of_work() as session:
            _keep(session, spec, correlation, at)
        return Subscribed(registry.id, destination.id, spec.message_type, correlation, at)

    async def notify(
        self,
        credential: str | None,
        body: bytes | None,
        content_type: str | None,
        unread: GatewayError | None = None,
    ) -> Accepted:
        """Submit a registry's notice as the exchange its subscription names.

        A caller the gateway does not know is refused by the road itself, and recorded there
        as unauthenticated, its notice unread. A known system without a subscription is
        refused (403) before its notice is looked at: no exchange was begun, so none is
        recorded.
        """
        if not self.directory.recognises(credential):
            return await self.exchanges.submit(Inbound(credential, {}, None))
        registry = self.directory.authenticate(credential)
        with self.db.reading() as session:
            subscription = session.get(DciSubscription, registry.id)
            envelope = None if subscription is None else _envelope(subscription)
        if envelope is None:
            raise ForbiddenError(f"{registry.id} holds no subscription: its notices are refused")
        headers = dict(envelope)
        if body is not None:  # one that was not read is recorded, never replayed
            headers[HEADERS["idempotency_key"]] = "dci-" + sha256_hex(body)[:48]
        if content_type is not None:
            headers[CONTENT_TYPE] = content_type
        return await self.exchanges.submit(Inbound(credential, headers, body, unread))


def _envelope(subscription: DciSubscription) -> dict[str, str]:
    fields = {
        "destination": subscription.destination,
        "message_type": subscription.message_type,
        "purpose": subscription.purpose,
        "legal_basis": subscription.legal_basis,
        "agreement": subscription.agreement,
    }
    return {HEADERS[name]: value for name, value in fields.items() if value is not None}


def _keep(session: Session, spec: SubscriptionSpec, correlation: str, at: dt.datetime) -> None:
    """Write the subscription, replacing the registry's previous one."""
    row = session.get(DciSubscription, spec.registry) or DciSubscription(registry_id=spec.registry)
    row.destination = spec.destination
    row.message_type = spec.message_type
    row.purpose = spec.purpose
    row.legal_basis = spec.legal_basis
    row.agreement = spec.agreement
    row.notify_url = spec.notify_url
    row.correlation_id = correlation
    row.subscribed_at = at
    session.add(row)
