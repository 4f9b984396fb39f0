"""The one road every exchange walks: receive, parse, decide, minimise, render, record, deliver.

Orchestration only: parsing and rendering belong to adapters, decisions to the policy engine,
delivery to the outbox relay. Every attempt leaves exactly one exchange record: an accepted
exchange's record is written with its outbox row in one transaction, a denied one with the
risk countries learnt from it, and a failed one (bad credential, bad envelope, bad body) on
its own after everything else was rolled back, so nothing of a bad input is kept but that.

The road has two halves. `receive` reads: authenticate, parse, pseudonymise, and minimise and
render as the fitting rule allows; it needs no transaction. `settle` decides and writes: the
idempotency key, remembered risk, consent, the decision, the record and the outbox row, in
one transaction. On SQLite only the second half holds the database's turn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from adapters.contract import CONTENT_TYPE, Rendered, check_content_type
from adapters.registry import AdapterRegistry
from gateway import consents as consent_registry
from gateway import envelope as envelope_reader
from gateway.audit.record import ALLOWED, DENIED, INVALID, Attempt
from gateway.canonical import DataCategory, Envelope, Payload
from gateway.crypto import BodySealer, Pseudonymiser, canonical_json, sha256_hex
from gateway.delivery.bodies import sealed_columns
from gateway.errors import (
    EnvelopeError,
    GatewayError,
    IdempotencyConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PolicyDeniedError,
    Problem,
    UnknownSystemError,
)
from gateway.policy import (
    Decision,
    PolicyEngine,
    PolicyRequest,
    SubjectFacts,
    SystemInfo,
    inherited_risk,
)
from gateway.store.db import Database
from gateway.store.models import ExchangeRecord, IdempotencyKey, OutboxMessage, table_of
from gateway.store.prepared import Statement, Transaction, TransactionFactory
from gateway.subjects import Subject, by_ref, identify, recall, remember
from gateway.systems import Directory, Entry

_RECORDS = table_of(ExchangeRecord)
_BOUND = Statement(
    select(IdempotencyKey.request_digest, IdempotencyKey.exchange_id).where(
        IdempotencyKey.source == bindparam("source"), IdempotencyKey.key == bindparam("key")
    )
)
_ORIGINAL = Statement(
    select(_RECORDS.c.id, _RECORDS.c.decision, _RECORDS.c.reasons, _RECORDS.c.categories).where(
        _RECORDS.c.id == bindparam("id")
    )
)
_RECORD = Statement(insert(_RECORDS))
_BIND_KEY = Statement(insert(table_of(IdempotencyKey)))
_QUEUE = Statement(insert(table_of(OutboxMessage)))


@dataclass(frozen=True)
class Inbound:
    """A submission as received: the caller's credential, envelope headers and body.

    `body` is None when it was not read: the caller is not authenticated, or `unread` says
    why (over the size limit, or too slow to arrive); the attempt is recorded all the same.
    """

    credential: str | None
    headers: Mapping[str, str]
    body: bytes | None
    unread: GatewayError | None = None


@dataclass(frozen=True)
class Message:
    """A parsed submission: its envelope, the system it is for, what it says, about whom."""

    envelope: Envelope
    destination: Entry
    payload: Payload
    subjects: list[Subject]  # the payload's persons, pseudonymised


@dataclass(frozen=True)
class Ahead:
    """The payload minimised to what the fitting rule grants, and rendered, before deciding."""

    categories: frozenset[DataCategory]
    minimised: Payload
    rendered: Rendered


@dataclass
class Received:
    """A submission as read before any transaction: its sender, its message, or its error."""

    inbound: Inbound
    attempt: Attempt
    source: Entry | None = None
    message: Message | None = None
    ahead: Ahead | None = None
    error: GatewayError | None = None


@dataclass(frozen=True)
class Accepted:
    exchange_id: str
    categories: list[str]
    replay: bool = False


class Pipeline:
    def __init__(
        self,
        db: Database,
        directory: Directory,
        adapters: AdapterRegistry,
        policy: PolicyEngine,
        pseudonymiser: Pseudonymiser,
        host_jurisdiction: str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_accepted: Callable[[], None] = lambda: None,
        *,
        sealer: BodySealer,
    ) -> None:
        self.db = db
        self.directory = directory
        self.adapters = adapters
        self.policy = policy
        self.pseudonymiser = pseudonymiser
        self.host_jurisdiction = host_jurisdiction
        self.clock = clock
        self.on_accepted = on_accepted
        self.sealer = sealer  # seals outbox bodies at rest

    def submit(self, inbound: Inbound) -> Accepted:
        """Walk one submission down the road; raise a GatewayError carrying the record id."""
        return self.settle(self.receive(inbound))

    def receive(self, inbound: Inbound) -> Received:
        """Read a submission without touching the exchange tables: who sent what, about whom.

        Why apart from `settle`: this is most of an exchange's work, and none of it needs the
        database's turn, so a server runs it while another exchange's batch is written. A
        failure is kept, not raised: `settle` records it, and reports a bad envelope or body
        only after the idempotency check, so a reused key is reported as reused whatever the
        body holds.
        """
        attempt = Attempt(recorded_at=self.clock())
        received = Received(inbound, attempt)
        if inbound.body is not None:
            attempt.request_digest = _request_digest(inbound)
        try:
            received.source = self.directory.authenticate(inbound.credential)
            attempt.source = received.source.id
            if inbound.body is None:
                raise inbound.unread or PayloadTooLargeError("the message body was not read")
            reader = self.adapters.get(received.source.adapter)
            check_content_type(reader, inbound.headers.get(CONTENT_TYPE))
            received.message = self._receive(inbound, received.source, attempt)
        except GatewayError as error:
            received.error = error
            return received
        received.ahead = self._render_ahead(received.message)
        return received

    def settle(self, received: Received, transaction: TransactionFactory | None = None) -> Accepted:
        """Decide, record and queue a received submission; raise a GatewayError if refused.

        `transaction` opens the transactions it writes in: the database's own by default, a
        group commit's when the server batches commits.
        """
        transaction = transaction or self.db.transaction
        attempt = received.attempt
        try:
            try:
                with transaction() as tx:
                    outcome = self._walk(tx, received)
            except IntegrityError:
                # Two submissions raced on one idempotency key: the loser sees the winner's
                # row, and is a replay or, with another body, a conflict recorded below.
                outcome = self._replay_after_race(received, transaction)
        except GatewayError as error:
            if error.exchange_id is not None:  # a replayed denial: recorded the first time
                raise
            error.exchange_id = attempt.id
            if not isinstance(error, PolicyDeniedError):
                attempt.decision = INVALID
                attempt.reasons = [error.reason]
                with transaction() as tx:
                    tx.execute(_RECORD, ExchangeRecord.values(attempt))
            raise
        if isinstance(outcome, Decision):
            denied = PolicyDeniedError(
                "the exchange is denied by policy", reasons=list(outcome.reasons)
            )
            denied.exchange_id = attempt.id
            raise denied
        if not outcome.replay:
            self.on_accepted()
        return outcome

    def explain(self, source_id: str, headers: Mapping[str, str], body: bytes) -> Decision:
        """Decide a submission without recording or sending anything (`policy explain`)."""
        source = self.directory.get(source_id)
        if source is None:
            raise NotFoundError(f"no system {source_id!r}")
        inbound = Inbound(credential=None, headers=headers, body=body)
        message = self._receive(inbound, source, Attempt())
        with self.db.scratch() as tx:
            return self._decide(tx, message, source)

    def _walk(self, tx: Transaction, received: Received) -> Accepted | Decision:
        attempt, source, message = received.attempt, received.source, received.message
        if source is None or received.inbound.body is None:
            assert received.error is not None
            raise received.error
        bound = self._bound_key(tx, received.inbound, source.id, attempt)
        if bound is not None:
            return bound
        if received.error is not None:
            raise received.error
        assert message is not None
        decision = self._decide(tx, message, source)
        attempt.subjects = [s.primary for s in message.subjects]
        attempt.policy_version = decision.policy_version
        attempt.policy_rule = decision.rule
        attempt.reasons = list(decision.reasons)
        envelope, destination = message.envelope, message.destination
        if not decision.allowed:
            attempt.decision = DENIED
            self._record(tx, attempt, envelope)
            return decision
        ahead = received.ahead
        if ahead is not None and ahead.categories == decision.categories:
            minimised, rendered = ahead.minimised, ahead.rendered
        else:
            minimised = message.payload.minimised(decision.categories)
            rendered = self._render(message, minimised)
        attempt.decision = ALLOWED
        attempt.categories = sorted(minimised.categories())
        attempt.payload_digest = sha256_hex(rendered.body)
        self._record(tx, attempt, envelope)
        tx.execute(
            _QUEUE,
            {
                "exchange_id": attempt.id,
                "destination": destination.id,
                **sealed_columns(self.sealer, attempt.id, rendered.body),
                "content_type": rendered.content_type,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": attempt.recorded_at,
            },
        )
        return Accepted(exchange_id=attempt.id, categories=attempt.categories)

    def _render_ahead(self, message: Message) -> Ahead | None:
        """Minimise and render before the decision, outside the database's turn.

        Why: the rule fitting the envelope already says which categories may go, and for
        most exchanges the decision allows exactly those; then this is what is sent.
        Nothing rendered here leaves unless the decision allows the same categories. When
        it does not (denied, narrowed by consent) or rendering fails, `settle` minimises
        and renders after the decision, so every exchange is answered as without this.
        """
        categories = self.policy.granted_by_rule(message.envelope)
        if categories is None:
            return None
        try:
            minimised = message.payload.minimised(categories)
            return Ahead(categories, minimised, self._render(message, minimised))
        except Exception:  # reported, if it still fails, by the render after the decision
            return None

    def _render(self, message: Message, payload: Payload) -> Rendered:
        writer = self.adapters.get(message.destination.adapter)
        return writer.render(message.envelope.message_type, payload)

    def _bound_key(
        self, tx: Transaction, inbound: Inbound, source: str, attempt: Attempt
    ) -> Accepted | None:
        """Return the original exchange for a replayed key; refuse a key reused differently."""
        key = inbound.headers.get(envelope_reader.HEADERS["idempotency_key"])
        bound = tx.first(_BOUND, {"source": source, "key": key}) if key else None
        if bound is None:
            return None
        if bound.request_digest != attempt.request_digest:
            raise IdempotencyConflictError(
                "this idempotency key was already used with a different message",
                [Problem("Idempotency-Key", "reused with a different body or envelope")],
            )
        original = tx.one(_ORIGINAL, {"id": bound.exchange_id})
        if original.decision == DENIED:
            error = PolicyDeniedError("the exchange is denied by policy", reasons=original.reasons)
            error.exchange_id = original.id
            raise error
        return Accepted(exchange_id=original.id, categories=original.categories, replay=True)

    def _receive(self, inbound: Inbound, source: Entry, attempt: Attempt) -> Message:
        envelope = envelope_reader.from_headers(inbound.headers, source.id)
        attempt.destination = envelope.destination
        attempt.message_type = envelope.message_type
        attempt.purpose = envelope.purpose
        attempt.legal_basis = envelope.legal_basis.value
        attempt.agreement = envelope.agreement
        destination = self.directory.get(envelope.destination)
        where = envelope_reader.HEADERS["destination"]
        if destination is None:
            raise UnknownSystemError(
                f"no destination system {envelope.destination!r}",
                [Problem(where, "no system is registered under this id")],
            )
        attempt.destination_jurisdiction = destination.jurisdiction
        if destination.endpoint is None:
            raise UnknownSystemError(
                f"system {destination.id!r} has no endpoint to deliver to",
                [Problem(where, "the system has no endpoint")],
            )
        reader = self.adapters.get(source.adapter)
        writer = self.adapters.get(destination.adapter)
        problems = []
        if envelope.message_type not in reader.parses:
            problems.append(Problem("X-Exchange-Message-Type", f"{source.id} cannot send it"))
        if envelope.message_type not in writer.renders:
            problems.append(
                Problem("X-Exchange-Message-Type", f"{destination.id} cannot receive it")
            )
        if problems:
            raise EnvelopeError(f"unsupported message type {envelope.message_type!r}", problems)
        attempt.mapping_version = " -> ".join(
            self.adapters.mapping_version(name, envelope.message_type)
            for name in (source.adapter, destination.adapter)
        )
        assert inbound.body is not None
        payload = reader.parse(envelope.message_type, inbound.body)
        return Message(
            envelope, destination, payload, identify(payload.subjects(), self.pseudonymiser)
        )

    def _decide(self, tx: Transaction, message: Message, source: Entry) -> Decision:
        envelope, destination, payload = message.envelope, message.destination, message.payload
        subjects = message.subjects
        persons = payload.subjects()
        recalled = recall(tx, subjects)
        risk = inherited_risk(persons, by_ref(subjects, recalled))
        remember(tx, subjects, risk, recalled)
        primary_of = {p: s.primary for s in subjects for p in s.pseudonyms}
        grants = consent_registry.held_for(tx, primary_of, destination.id, envelope.purpose)
        request = PolicyRequest(
            envelope=envelope,
            source=SystemInfo(id=source.id, jurisdiction=source.jurisdiction),
            destination=SystemInfo(id=destination.id, jurisdiction=destination.jurisdiction),
            subjects=tuple(
                SubjectFacts(
                    pseudonym=s.primary,
                    subject=consent_registry.pseudonym_identifier(s.primary),
                    risk_countries=risk[s.ref],
                )
                for s in subjects
            ),
            consents=tuple(consent_registry.as_canonical(g, primary_of[g.subject]) for g in grants),
            payload_categories=payload.categories(),
            host_jurisdiction=self.host_jurisdiction,
            now=self.clock(),
        )
        return self.policy.decide(request)

    def _record(self, tx: Transaction, attempt: Attempt, envelope: Envelope) -> None:
        tx.execute(_RECORD, ExchangeRecord.values(attempt))
        tx.execute(
            _BIND_KEY,
            {
                "source": envelope.source,
                "key": envelope.idempotency_key,
                "request_digest": attempt.request_digest,
                "exchange_id": attempt.id,
            },
        )

    def _replay_after_race(self, received: Received, transaction: TransactionFactory) -> Accepted:
        assert received.source is not None  # a race needs a key, bound only once authenticated
        attempt = received.attempt  # what the rolled-back walk decided is not this attempt's
        attempt.subjects, attempt.categories, attempt.payload_digest = [], [], None
        attempt.policy_version = attempt.policy_rule = None
        with transaction() as tx:
            bound = self._bound_key(tx, received.inbound, received.source.id, received.attempt)
        if bound is None:
            raise GatewayError("an idempotency race left no winner")
        return bound


def _request_digest(inbound: Inbound) -> str:
    """Digest the envelope and body, so a reused key with other content is caught."""
    envelope = {h: inbound.headers.get(h) for h in envelope_reader.HEADERS.values()}
    assert inbound.body is not None
    return sha256_hex(canonical_json(envelope) + b"\x00" + inbound.body)
