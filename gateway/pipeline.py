"""The exchange service: the one road every exchange walks.

    receive -> parse -> decide -> minimise -> render -> record -> deliver

`submit` reads the road top to bottom; each step hands the next an immutable value, and no
step runs before the one above it (nothing is minimised or rendered before the decision).
Orchestration only: parsing and rendering belong to adapters, the decision to the policy
engine (the origin guard and risk inheritance included), the record to `audit/`, the outbox
row and the sending to `delivery/`.

Every attempt leaves exactly one exchange record: an accepted exchange's record is written
with its outbox row in one transaction, a denied one with the risk countries learnt from it,
and a failed one (bad credential, bad envelope, bad body) on its own after everything else
was rolled back, so nothing of a bad input is kept but that. The writing steps run in a
batch of exchanges committed together (store/group.py); the answer, and anything that must
follow a commit (waking the relay), come only after the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from anyio import to_thread
from sqlalchemy import Connection

from adapters.kit.contract import CONTENT_TYPE, Rendered, check_content_type
from adapters.registry import AdapterRegistry
from gateway import consents as consent_registry
from gateway import envelope as envelope_reader
from gateway import metrics
from gateway.approvals import repository as approvals
from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import ALLOWED, DENIED, INVALID, Record
from gateway.canonical import Envelope, Payload
from gateway.canonical.categories import CategoryWithheldError
from gateway.canonical.json import canonical_json
from gateway.crypto import BodySealer, Pseudonymiser, sha256_hex
from gateway.delivery import repository as outbox
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
from gateway.ids import new_id
from gateway.known import Known
from gateway.policy import Decision, PolicyEngine, PolicyRequest, SubjectFacts, SystemInfo
from gateway.registrations import service as registrations
from gateway.registrations.service import Registered
from gateway.statistics.repository import StatisticalRegister
from gateway.store.db import Database
from gateway.store.group import Batch, GroupCommit, Write
from gateway.subjects import Subject, by_ref, identify, remember
from gateway.systems import Directory, RegisteredSystem

# Bodies up to this size are parsed on the event loop (the demo birth is 4 KiB); larger ones
# in a worker thread, where a hostile megabyte cannot stall every other request.
INLINE_PARSE_BYTES = 64 * 1024
DESTINATION = envelope_reader.HEADERS["destination"]
MESSAGE_TYPE = envelope_reader.HEADERS["message_type"]
# A denial the policy did not make: it allowed the exchange, but withheld a category without
# which the payload means nothing (a birth without the birth, an asylum referral without the
# claim). Payloads say so by refusing to be minimised (gateway/canonical/events.py).
CATEGORY_WITHHELD = "minimise.required_category_withheld"
_COUNTED_IF_GIVEN = (envelope_reader.SOURCE_HEADER, envelope_reader.HEADERS["best_interests"])


@dataclass(frozen=True)
class Inbound:
    """A submission as it arrived: the caller's credential, envelope headers and body.

    `body` is None when it was not read: the caller is not authenticated, or `unread` says
    why (over the size limit, or too slow to arrive); the attempt is recorded all the same.
    """

    credential: str | None
    headers: Mapping[str, str]
    body: bytes | None
    unread: GatewayError | None = None


@dataclass(frozen=True)
class Received:
    """Step 1: a submission given its exchange id and time, digest and idempotency key."""

    inbound: Inbound
    exchange_id: str
    at: dt.datetime
    request_digest: str | None  # of envelope and body; None when the body was not read
    idempotency_key: str | None  # as sent: read here once, checked before anything else


@dataclass(frozen=True)
class Addressed:
    """What a submission's envelope says and whom it names, as far as they could be read."""

    source: RegisteredSystem | None = None
    envelope: Envelope | None = None
    destination: RegisteredSystem | None = None
    mapping_version: str | None = None


@dataclass(frozen=True)
class Parsed:
    """Step 2: a submission read into canonical records, about pseudonymised subjects."""

    received: Received
    source: RegisteredSystem
    envelope: Envelope
    destination: RegisteredSystem
    mapping_version: str
    payload: Payload
    subjects: tuple[Subject, ...]


@dataclass(frozen=True)
class Refused:
    """Step 2, failed: why the submission cannot be read, and what was read of it."""

    received: Received
    addressed: Addressed
    error: GatewayError


@dataclass(frozen=True)
class Accepted:
    """An exchange recorded and queued (or, for a replayed key, the one first accepted)."""

    exchange_id: str
    categories: list[str]
    replay: bool = False
    held: bool = False  # for the DPO's approval: its message is not sent until approved


@dataclass(frozen=True)
class Denied:
    """An exchange recorded as denied by policy."""

    exchange_id: str
    reasons: tuple[str, ...]
    hints: tuple[Problem, ...] = ()  # what the rules would accept, for a denial by the rules


class ExchangeService:
    def __init__(
        self,
        db: Database,
        directory: Directory,
        adapters: AdapterRegistry,
        policy: PolicyEngine,
        pseudonymiser: Pseudonymiser,
        host_jurisdiction: str,
        *,
        sealer: BodySealer,
        register: StatisticalRegister,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = db
        self.directory = directory
        self.adapters = adapters
        self.policy = policy
        self.pseudonymiser = pseudonymiser
        self.host_jurisdiction = host_jurisdiction
        self.clock = clock
        self.sealer = sealer  # seals outbox bodies at rest
        self.register = register  # the statistical register (gateway/statistics/)
        self.writes: GroupCommit[Parsed | Refused, Accepted | Denied] = GroupCommit(
            db, self.decide_and_record
        )
        self.on_accepted: Callable[[], None] = lambda: None  # after the commit: wake the relay

    async def submit(self, inbound: Inbound) -> Accepted:
        """Walk one submission down the road; raise a GatewayError carrying the record id."""
        received = self.receive(inbound)  # 1. receive
        if inbound.body is not None and len(inbound.body) > INLINE_PARSE_BYTES:
            read = await to_thread.run_sync(self.parse, received)  # 2. parse
        else:
            read = self.parse(received)
        # 3.-6. decide, minimise, render, record (and queue), in a batch's transaction
        try:
            outcome = await self.writes.run(read)
        except GatewayError as error:
            if error.exchange_id == received.exchange_id:  # recorded as invalid, not a replay
                metrics.exchange_decided(INVALID, [error.reason])
            raise
        return self.deliver(outcome)  # 7. deliver, once committed

    def receive(self, inbound: Inbound) -> Received:
        """Give a submission its exchange id and time; digest it; read its idempotency key."""
        return Received(
            inbound=inbound,
            exchange_id=new_id(),
            at=self.clock(),
            request_digest=None if inbound.body is None else _request_digest(inbound),
            idempotency_key=inbound.headers.get(envelope_reader.HEADERS["idempotency_key"]),
        )

    def parse(self, received: Received, source: RegisteredSystem | None = None) -> Parsed | Refused:
        """Authenticate the sender (unless given), read the envelope and the body.

        A failure is returned, not raised: it is recorded with what was read before it, and
        reported only after the idempotency check, so a reused key is reported as reused
        whatever the body holds.
        """
        inbound, addressed = received.inbound, Addressed()
        try:
            source = source or self.directory.authenticate(inbound.credential)
            addressed = Addressed(source)
            if inbound.body is None:
                raise inbound.unread or PayloadTooLargeError("the message body was not read")
            reader = self.adapters.get(source.adapter)
            check_content_type(reader, inbound.headers.get(CONTENT_TYPE))
            envelope = envelope_reader.from_headers(inbound.headers, source.id)
            addressed = Addressed(source, envelope)
            destination = self._destination(envelope)
            addressed = Addressed(source, envelope, destination)
            mapping_version = self._mapping_version(source, envelope, destination)
            addressed = Addressed(source, envelope, destination, mapping_version)
            payload = reader.parse(envelope.message_type, inbound.body)
            subjects = tuple(identify(payload.subjects(), self.pseudonymiser))
        except GatewayError as error:
            return Refused(received, addressed, error)
        return Parsed(received, source, envelope, destination, mapping_version, payload, subjects)

    def decide_and_record(
        self, batch: Batch, reads: Sequence[Parsed | Refused]
    ) -> list[Accepted | Denied | Exception]:
        """Decide, minimise, render and record a batch of submissions, in its transaction.

        What they need from the store is read once for all of them (`Known`). An exchange
        allowed leaves its record, its idempotency key and its outbox row; one denied, its
        record, its key and the risk countries learnt from it; one refused or failing, only
        its record (and what it taught the guard).
        """
        keys = [key for read in reads if (key := _idempotency_key(read)) is not None]
        subjects = [s for read in reads if isinstance(read, Parsed) for s in read.subjects]
        known = Known(batch.connection, keys, subjects)
        addressed = [(r.payload, r.destination.id) for r in reads if isinstance(r, Parsed)]
        registered = registrations.prepare(batch, self.pseudonymiser, addressed)  # read once
        outcomes: list[Accepted | Denied | Exception] = []
        for read in reads:
            try:
                outcomes.append(self._decide_one(batch, known, registered, read))
            except Exception as error:
                outcomes.append(error)
        return outcomes

    def _decide_one(
        self, batch: Batch, known: Known, registered: Registered, read: Parsed | Refused
    ) -> Accepted | Denied:
        try:
            outcome, writes = self._decide_to_queue(batch, known, registered, read)
        except GatewayError as error:
            if error.exchange_id is not None:  # a replayed denial: recorded the first time
                raise
            error.exchange_id = read.received.exchange_id
            batch.defer(*audit_log.writes(self._invalid(read, error)))
            raise
        batch.defer(*writes)
        return outcome

    def deliver(self, outcome: Accepted | Denied) -> Accepted:
        """Answer a committed outcome; wake the relay for an exchange newly accepted."""
        if isinstance(outcome, Denied):
            metrics.exchange_decided(DENIED, outcome.reasons)
            denied = PolicyDeniedError(
                "the exchange is denied by policy", outcome.hints, reasons=list(outcome.reasons)
            )
            denied.exchange_id = outcome.exchange_id
            raise denied
        if not outcome.replay:
            metrics.exchange_decided(ALLOWED)
            self.on_accepted()
        return outcome

    def explain(self, source_id: str, headers: Mapping[str, str], body: bytes) -> Decision:
        """Decide a submission without recording or sending anything (`policy explain`)."""
        source = self.directory.get(source_id)
        if source is None:
            raise NotFoundError(f"no system {source_id!r}")
        read = self.parse(self.receive(Inbound(None, headers, body)), source)
        if isinstance(read, Refused):
            raise read.error
        with self.db.dry_run() as connection:
            decision = self._decide(connection, Known(connection, [], read.subjects), read)
        return _minimised(decision, read.payload)[0]

    def _decide_to_queue(
        self, batch: Batch, known: Known, registered: Registered, read: Parsed | Refused
    ) -> tuple[Accepted | Denied, list[Write]]:
        """Steps 3 to 6 after the idempotency check: the outcome, and the rows it writes."""
        replay = self._replay(batch, known, read)
        if replay is not None:
            return replay, []
        if isinstance(read, Refused):
            raise read.error
        decision = self._decide(batch.connection, known, read)  # 3. decide
        key = (read.source.id, read.envelope.idempotency_key)
        decision, minimised = _minimised(decision, read.payload)  # 4. minimise
        if minimised is None:
            denied = self._record(read, decision, DENIED)
            hints = self.policy.what_would_be_accepted(read.envelope, denied.reasons)
            return Denied(denied.id, denied.reasons, tuple(hints)), audit_log.writes(denied, key)
        rendered = self._render(read, minimised)  # 5. render
        allowed = self._record(read, decision, ALLOWED, minimised, rendered)  # 6. record
        queued = outbox.queued(  # with its record; sent by the relay once committed
            self.sealer,
            exchange_id=allowed.id,
            destination=read.destination.id,
            body=rendered.body,
            content_type=rendered.content_type,
            due=read.received.at,
            held=decision.approval is not None,  # until the DPO approves (gateway/approvals/)
        )
        accepted = Accepted(
            exchange_id=allowed.id,
            categories=list(allowed.categories),
            held=decision.approval is not None,
        )
        writes = [*audit_log.writes(allowed, key), queued]
        writes += consent_registry.relied_upon(allowed.id, decision.consent_ids)  # for withdrawal
        writes += self.register.writes(  # its people, counted in statistics
            read.source.id, read.payload, read.subjects, known.recalled, read.received.at
        )
        if decision.approval is not None:
            writes.append(approvals.requested(allowed.id, decision.approval, read.received.at))
        flagged = registrations.flag(  # a registration's persons seen before: flagged, not merged
            batch,
            self.pseudonymiser,
            read.payload,
            allowed.id,
            read.destination.id,
            read.received.at,
            registered,
            allowed=decision.categories,  # no flag on evidence the authority may not receive
        )
        return accepted, writes + flagged.writes

    def _destination(self, envelope: Envelope) -> RegisteredSystem:
        destination = self.directory.get(envelope.destination)
        if destination is None:
            raise UnknownSystemError(
                f"no destination system {envelope.destination!r}",
                [Problem(DESTINATION, "no system is registered under this id")],
            )
        return destination

    def _mapping_version(
        self, source: RegisteredSystem, envelope: Envelope, destination: RegisteredSystem
    ) -> str:
        """Check that the destination can be sent this type; name the mappings that will."""
        if destination.endpoint is None:
            raise UnknownSystemError(
                f"system {destination.id!r} has no endpoint to deliver to",
                [Problem(DESTINATION, "the system has no endpoint")],
            )
        message_type = envelope.message_type
        problems = []
        if message_type not in self.adapters.get(source.adapter).parses:
            problems.append(Problem(MESSAGE_TYPE, f"{source.id} cannot send it"))
        if message_type not in self.adapters.get(destination.adapter).renders:
            problems.append(Problem(MESSAGE_TYPE, f"{destination.id} cannot receive it"))
        if problems:
            raise EnvelopeError(f"unsupported message type {message_type!r}", problems)
        return " -> ".join(
            self.adapters.mapping_version(name, message_type)
            for name in (source.adapter, destination.adapter)
        )

    def _replay(self, batch: Batch, known: Known, read: Parsed | Refused) -> Accepted | None:
        """Return the original exchange for a replayed key; refuse a key reused differently."""
        key = _idempotency_key(read)
        bound = None if key is None else known.bound(batch, *key)
        if bound is None:
            return None
        if bound.request_digest != read.received.request_digest:
            raise IdempotencyConflictError(
                "this idempotency key was already used with a different message",
                [Problem("Idempotency-Key", "reused with a different body or envelope")],
            )
        if bound.decision == DENIED:
            hints = (
                self.policy.what_would_be_accepted(read.envelope, bound.reasons)
                if isinstance(read, Parsed)
                else []
            )
            error = PolicyDeniedError(
                "the exchange is denied by policy", hints, reasons=bound.reasons
            )
            error.exchange_id = bound.exchange_id
            raise error
        held = approvals.held_in(batch, bound.exchange_id)  # answered as it was the first time
        return Accepted(bound.exchange_id, bound.categories, replay=True, held=held)

    def _decide(self, connection: Connection, known: Known, read: Parsed) -> Decision:
        """Decide with what the gateway remembers of the subjects; remember what it learnt."""
        envelope, destination, subjects = read.envelope, read.destination, read.subjects
        recalled = known.recalled()
        remembered = by_ref(subjects, recalled)
        primary_of = {p: s.primary for s in subjects for p in s.pseudonyms}
        grants = known.grants(primary_of, destination.id, envelope.purpose)
        persons = {p.ref: p for p in read.payload.subjects()}
        request = PolicyRequest(
            envelope=envelope,
            source=SystemInfo(id=read.source.id, jurisdiction=read.source.jurisdiction),
            destination=SystemInfo(id=destination.id, jurisdiction=destination.jurisdiction),
            subjects=tuple(
                SubjectFacts.of(
                    persons[s.ref],
                    s.primary,
                    consent_registry.pseudonym_identifier(s.primary),
                    remembered[s.ref],
                )
                for s in subjects
            ),
            consents=tuple(consent_registry.as_canonical(g, primary_of[g.subject]) for g in grants),
            payload_categories=read.payload.categories(),
            host_jurisdiction=self.host_jurisdiction,
            now=self.clock(),
        )
        decision = self.policy.decide(request)
        learnt = {s.ref: risk for s, risk in zip(subjects, decision.risk_countries, strict=True)}
        if remember(connection, subjects, learnt, recalled):
            known.learnt(subjects, learnt)  # the next exchange of the batch must see it
        return decision

    def _render(self, read: Parsed, payload: Payload) -> Rendered:
        writer = self.adapters.get(read.destination.adapter)
        return writer.render(read.envelope.message_type, payload)

    def _record(
        self,
        read: Parsed,
        decision: Decision,
        outcome: str,
        minimised: Payload | None = None,
        rendered: Rendered | None = None,
    ) -> Record:
        return audit_record.build(
            exchange_id=read.received.exchange_id,
            recorded_at=read.received.at,
            source=read.source.id,
            request_digest=read.received.request_digest,
            decision=outcome,
            reasons=decision.reasons,
            envelope=read.envelope,
            destination_jurisdiction=read.destination.jurisdiction,
            mapping_version=read.mapping_version,
            subjects=(s.primary for s in read.subjects),
            categories=() if minimised is None else minimised.categories(),
            policy_version=decision.policy_version,
            policy_rule=decision.rule,
            agreement=decision.agreement,
            payload_digest=None if rendered is None else sha256_hex(rendered.body),
        )

    def _invalid(self, read: Parsed | Refused, error: GatewayError) -> Record:
        addressed = (
            Addressed(read.source, read.envelope, read.destination, read.mapping_version)
            if isinstance(read, Parsed)
            else read.addressed
        )
        destination = addressed.destination
        return audit_record.build(
            exchange_id=read.received.exchange_id,
            recorded_at=read.received.at,
            source=None if addressed.source is None else addressed.source.id,
            request_digest=read.received.request_digest,
            decision=INVALID,
            reasons=[error.reason],
            envelope=addressed.envelope,
            destination_jurisdiction=None if destination is None else destination.jurisdiction,
            mapping_version=addressed.mapping_version,
        )


def _minimised(decision: Decision, payload: Payload) -> tuple[Decision, Payload | None]:
    """Return what may be sent of an allowed payload; a payload that cannot go without a
    category the decision withheld turns the decision into a denial (CATEGORY_WITHHELD)."""
    if not decision.allowed:
        return decision, None
    try:
        return decision, payload.minimised(decision.categories)
    except CategoryWithheldError:
        return replace(decision, allowed=False, reasons=(CATEGORY_WITHHELD,)), None


def _idempotency_key(read: Parsed | Refused) -> tuple[str, str] | None:
    """Return (source, key) if the submission can be a replay: authenticated, body read."""
    source = read.source if isinstance(read, Parsed) else read.addressed.source
    received = read.received
    if source is None or received.idempotency_key is None or received.request_digest is None:
        return None
    return source.id, received.idempotency_key


def _request_digest(inbound: Inbound) -> str:
    """Digest the envelope and body, so a reused key with other content is caught.

    A claimed source and a BID reference count only when given: digests made before they
    counted stay the same, and a replay that adds one is another envelope, refused as such.
    """
    headers = envelope_reader.HEADERS
    envelope = {h: inbound.headers.get(h) for h in headers.values() if h not in _COUNTED_IF_GIVEN}
    for header in _COUNTED_IF_GIVEN:
        if (given := inbound.headers.get(header)) is not None:
            envelope[header] = given
    assert inbound.body is not None
    return sha256_hex(canonical_json(envelope) + b"\x00" + inbound.body)
