"""The specific-request service: one named person's record pulled from a registry, or nothing.

    receive -> read -> decide -> fetch -> decide again -> minimise -> record -> answer

`answer` reads the road top to bottom. It is the exchange road (DESIGN.md) walked as a pull:
the request is received and decided first; only an allowed request makes the registry's
adapter fetch (a denied one asks the registry nothing); what the registry answers is decided
on again, the origin guard first, since only now does the gateway know the person's
nationalities and age, and what it learnt is remembered; the record is minimised to the
categories allowed, recorded, and answered. Every request leaves exactly one exchange
record: the data flows from the registry (source) to the requester (destination), so a
requester may read the record of a request answered to it, and of no other.

Neither confirm nor deny. A requester must not learn whether a person is registered from a
refusal. So every denial, before the fetch or after it, "no such person" and "the registry
could not be asked" included, is one answer (RequestDeniedError: 403, one body, the same
headers but the exchange id) given no sooner than `denial_floor` seconds after the request
arrived. Whatever a denial cost (a fetch, or none), it leaves at the floor, and the fetch must
be over by `fetch_timeout` after arrival, which is under the floor. What is answered otherwise
(401, 413, 422, 429) depends on the request alone, never on the person: the rate limit takes
its token before anything is decided, and a request is checked for shape before any lookup.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import NoReturn

import anyio
from anyio import to_thread
from sqlalchemy import Connection

from adapters.kit.contract import Fetcher, FetchRequest
from adapters.kit.jsonbody import load_object
from adapters.registry import AdapterRegistry
from gateway import consents as consent_registry
from gateway.audit import record as audit_record
from gateway.audit.record import ALLOWED, DENIED, INVALID, Record
from gateway.canonical import SPECIFIC_REQUEST, Envelope, IndividualRecord, SpecificRequest
from gateway.canonical.identifiers import normalise_identifier
from gateway.canonical.json import canonical_json
from gateway.canonical.request import SUBJECT_REF, read_request
from gateway.crypto import Pseudonymiser, Sealer, sha256_hex
from gateway.delivery.transport import HttpTransport, Transport
from gateway.errors import (
    ConfigurationError,
    EnvelopeError,
    GatewayError,
    PayloadTooLargeError,
    Problem,
    UnknownSystemError,
)
from gateway.ids import new_id
from gateway.known import Known
from gateway.policy import Decision, PolicyEngine, PolicyRequest, SubjectFacts, SystemInfo
from gateway.requests import repository
from gateway.requests.errors import RateLimitedError, RequestDeniedError
from gateway.requests.limits import TokenBuckets
from gateway.store.db import Database
from gateway.subjects import Subject, by_ref, identify, remember
from gateway.systems import Directory, RegisteredSystem

log = logging.getLogger(__name__)

NOT_REGISTERED = "request.not_registered"
FETCH_FAILED = "request.fetch_failed"
DISAGREE = "request.identifiers_disagree"
BEYOND = "request.categories"
APPROVAL = "request.approval_required"
FETCH_BODY_CAP = 256 * 1024
"""What is read of a registry's answer: one individual is a few KiB; a longer answer is cut,
fails to parse, and the request is refused like any other."""


@dataclass(frozen=True)
class Inbound:
    """A request as it arrived: the caller's credential and body (None when not read)."""

    credential: str | None
    body: bytes | None
    unread: GatewayError | None = None


@dataclass(frozen=True)
class Received:
    """Step 1: a request given its exchange id, its time, and when its clock started."""

    exchange_id: str
    at: dt.datetime
    started: float  # monotonic: denials are timed from here
    digest: str | None


@dataclass(frozen=True)
class Read:
    """Step 2: a request read and checked, its registry able to be asked, its person named."""

    received: Received
    request: SpecificRequest
    requester: RegisteredSystem
    registry: RegisteredSystem
    fetcher: Fetcher
    fetch: FetchRequest
    envelope: Envelope
    named: Subject  # the pseudonyms of the identifiers the request names


@dataclass(frozen=True)
class Answered:
    """An allowed request, recorded: the answer's bytes (canonical JSON)."""

    exchange_id: str
    body: bytes


class SpecificRequests:
    """The specific-request road, built once from settings (gateway/runtime.py).

    Its steps that touch the store (`decide_before_fetch`, `decide_after_fetch`) run in a
    worker thread, each in one transaction; so does the fetch, which the request stops
    waiting for at its deadline. A denial waits for the floor on the event loop, holding no
    thread and no connection.
    """

    def __init__(
        self,
        db: Database,
        directory: Directory,
        adapters: AdapterRegistry,
        policy: PolicyEngine,
        pseudonymiser: Pseudonymiser,
        host_jurisdiction: str,
        *,
        transport: Transport,
        sealer: Sealer,  # opens the registry's outbound credential
        limits: TokenBuckets,
        denial_floor: float,
        fetch_timeout: float,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if fetch_timeout >= denial_floor:
            raise ConfigurationError(
                "the registry's fetch must end before a denial is answered",
                [
                    Problem(
                        "GATEWAY_REQUEST_FETCH_TIMEOUT_SECONDS",
                        f"{fetch_timeout:g} s is not under the denial floor of "
                        f"{denial_floor:g} s (GATEWAY_REQUEST_DENIAL_FLOOR_SECONDS)",
                    )
                ],
            )
        self.db = db
        self.directory = directory
        self.adapters = adapters
        self.policy = policy
        self.pseudonymiser = pseudonymiser
        self.host_jurisdiction = host_jurisdiction
        self.transport = transport
        self.sealer = sealer
        self.limits = limits
        self.denial_floor = denial_floor
        self.fetch_timeout = fetch_timeout
        self.clock = clock
        self.monotonic = monotonic

    @classmethod
    def fetching_over_http(cls, timeout_seconds: float) -> HttpTransport:
        """Return the transport a registry is asked through: one timeout per step."""
        return HttpTransport(timeout_seconds, body_cap=FETCH_BODY_CAP)

    def close(self) -> None:
        if isinstance(self.transport, HttpTransport):
            self.transport.close()

    async def answer(self, inbound: Inbound) -> Answered:
        """Walk one request down the road; raise a GatewayError if it is not answered."""
        received = self.receive(inbound)  # 1. receive
        requester = await self._authenticated(received, inbound)
        read = await self._read(received, requester, inbound)  # 2. read
        token = await to_thread.run_sync(self.decide_before_fetch, read)  # 3. decide
        if token is None:
            await self._deny(received)
        fetched = await self._fetch(read, token)  # 4. fetch, only once allowed
        # 5.-7. decide again, minimise, record; remember what the registry's answer taught
        answered = await to_thread.run_sync(self.decide_after_fetch, read, fetched)
        if answered is None:
            await self._deny(received)
        return answered  # 8. answer, once committed

    def receive(self, inbound: Inbound) -> Received:
        """Give a request its exchange id and time; start its clock."""
        return Received(
            exchange_id=new_id(),
            at=self.clock(),
            started=self.monotonic(),
            digest=None if inbound.body is None else sha256_hex(inbound.body),
        )

    async def _authenticated(self, received: Received, inbound: Inbound) -> RegisteredSystem:
        """Return the requesting system, having taken its token; else record and refuse."""
        try:
            requester = self.directory.authenticate(inbound.credential)
        except GatewayError as error:
            await self._refuse(received, None, error)
        wait = self.limits.take(requester.id)  # before anything about the person is read
        if wait is not None:
            await self._refuse(received, requester, RateLimitedError.after(wait))
        return requester

    async def _read(
        self, received: Received, requester: RegisteredSystem, inbound: Inbound
    ) -> Read:
        try:
            if inbound.body is None:
                raise inbound.unread or PayloadTooLargeError("the request body was not read")
            return self.read(received, requester, inbound.body)
        except GatewayError as error:
            await self._refuse(received, requester, error)

    def read(self, received: Received, requester: RegisteredSystem, body: bytes) -> Read:
        """Check the request and name its person; find the registry and how to ask it.

        Nothing here depends on the person: a refusal (422) tells nothing about them.
        """
        request = read_request(load_object(body), requester.id)
        registry = self.directory.get(request.registry)
        if registry is None or registry.endpoint is None:
            problem = Problem("body.registry", "no system that can be asked has this id")
            raise UnknownSystemError(f"no registry {request.registry!r}", [problem])
        adapter = self.adapters.get(registry.adapter)
        if not isinstance(adapter, Fetcher) or SPECIFIC_REQUEST not in adapter.fetches:
            problem = Problem("body.registry", f"{registry.id} cannot be asked about a person")
            raise EnvelopeError(f"{registry.id} answers no specific requests", [problem])
        fetch = adapter.fetch_request(SPECIFIC_REQUEST, request.subject.identifiers)
        envelope = Envelope(
            source=registry.id,
            destination=requester.id,
            message_type=SPECIFIC_REQUEST,
            purpose=request.purpose,
            legal_basis=request.legal_basis,
            agreement=request.agreement,
            best_interests=request.best_interests,
            idempotency_key=received.exchange_id,  # a request is never replayed
        )
        [named] = identify([request.subject.person()], self.pseudonymiser)
        return Read(received, request, requester, registry, adapter, fetch, envelope, named)

    def decide_before_fetch(self, read: Read) -> str | None:
        """Decide on what the gateway knows; record a denial. Return the sealed credential
        to ask the registry with ("" if it has none), or None if the request is denied."""
        with self.db.transaction() as connection:
            known = Known(connection, [], [read.named])
            remembered = by_ref([read.named], known.recalled())[SUBJECT_REF]
            assumed = _assumed(remembered, read.requester.jurisdiction, self.host_jurisdiction)
            facts = SubjectFacts(
                pseudonym=read.named.primary,
                subject=consent_registry.pseudonym_identifier(read.named.primary),
                risk_countries=assumed,
                ref=SUBJECT_REF,
            )
            decision = self.policy.decide(self._policy_request(read, known, [read.named], facts))
            refused = _refused(decision, read.request)
            if refused:
                record = self._record(read, DENIED, refused, [read.named], decision)
                repository.write_record(connection, record)
                return None
            return repository.sealed_token(connection, read.registry.id) or ""

    async def _fetch(self, read: Read, sealed_token: str) -> IndividualRecord | str:
        """Ask the registry, by the deadline; return the record, or why there is none."""
        url = read.registry.endpoint or ""
        url = url.rstrip("/") + "/" + read.fetch.path.lstrip("/")
        headers = {**read.fetch.headers, "X-Exchange-Id": read.received.exchange_id}
        why = "no answer in time"
        try:
            if sealed_token:
                headers["Authorization"] = "Bearer " + self.sealer.open(sealed_token)
            left = read.received.started + self.fetch_timeout - self.monotonic()
            with anyio.move_on_after(left):
                response = await to_thread.run_sync(
                    self.transport.post, url, read.fetch.body, headers, abandon_on_cancel=True
                )
                found = read.fetcher.parse_fetched(
                    SPECIFIC_REQUEST, response.status, response.headers, response.body
                )
                if found is None:
                    return NOT_REGISTERED
                if isinstance(found, IndividualRecord) and len(found.subjects()) == 1:
                    return found
                why = "the adapter's answer is not one individual"
        except GatewayError as error:
            why = error.reason
        log.warning(  # an outage the operator must see; the requester sees a denial
            "specific request %s: registry %s could not be asked (%s)",
            read.received.exchange_id,
            read.registry.id,
            why,
        )
        return FETCH_FAILED

    def decide_after_fetch(self, read: Read, fetched: IndividualRecord | str) -> Answered | None:
        """Decide on the registry's record; remember it; record the outcome; None if denied."""
        with self.db.transaction() as connection:
            if isinstance(fetched, IndividualRecord):
                try:
                    subjects = identify([fetched.person], self.pseudonymiser)
                    confirmed = _confirms(read.request, fetched)
                except (GatewayError, ValueError):  # an identifier its scheme cannot compare
                    log.warning(
                        "specific request %s: registry %s answered an unusable identifier",
                        read.received.exchange_id,
                        read.registry.id,
                    )
                    fetched = FETCH_FAILED
                else:
                    return self._decide_fetched(connection, read, fetched, subjects, confirmed)
            record = self._record(read, DENIED, (fetched,), [read.named])
            repository.write_record(connection, record)
            return None

    def _decide_fetched(
        self,
        connection: Connection,
        read: Read,
        fetched: IndividualRecord,
        subjects: Sequence[Subject],
        confirmed: bool,
    ) -> Answered | None:
        person = fetched.person
        known = Known(connection, [], subjects)
        recalled = known.recalled()
        primary = subjects[0].primary
        facts = SubjectFacts.of(
            person,
            primary,
            consent_registry.pseudonym_identifier(primary),
            by_ref(subjects, recalled)[person.ref],
        )
        decision = self.policy.decide(self._policy_request(read, known, subjects, facts))
        learnt = dict(zip((s.ref for s in subjects), decision.risk_countries, strict=True))
        remember(connection, subjects, learnt, recalled)  # allowed or not: the guard learnt
        refused = _refused(decision, read.request)
        if not refused and not confirmed:
            refused = (DISAGREE,)
        if refused:
            record = self._record(read, DENIED, refused, subjects, decision)
            repository.write_record(connection, record)
            return None
        minimised = fetched.minimised(decision.categories & read.request.categories)
        body = canonical_json(
            {
                "exchange_id": read.received.exchange_id,
                "case_reference": read.request.case_reference,
                "categories": sorted(minimised.categories()),
                "person": minimised.person.model_dump(mode="json", exclude_defaults=True),
            }
        )
        record = self._record(
            read,
            ALLOWED,
            decision.reasons,
            subjects,
            decision,
            categories=minimised.categories(),
            payload_digest=sha256_hex(body),
        )
        repository.write_record(connection, record)
        # The consents it rested on: a withdrawal is told to the requester too.
        repository.write(connection, consent_registry.relied_upon(record.id, decision.consent_ids))
        return Answered(read.received.exchange_id, body)

    def _policy_request(
        self, read: Read, known: Known, subjects: Sequence[Subject], facts: SubjectFacts
    ) -> PolicyRequest:
        """The decision's question: data from the registry to the requester, about one person."""
        primary_of = {p: s.primary for s in subjects for p in s.pseudonyms}
        grants = known.grants(primary_of, read.requester.id, read.request.purpose)
        return PolicyRequest(
            envelope=read.envelope,
            source=SystemInfo(id=read.registry.id, jurisdiction=read.registry.jurisdiction),
            destination=SystemInfo(id=read.requester.id, jurisdiction=read.requester.jurisdiction),
            subjects=(facts,),
            consents=tuple(consent_registry.as_canonical(g, primary_of[g.subject]) for g in grants),
            payload_categories=frozenset(read.request.categories),
            host_jurisdiction=self.host_jurisdiction,
            now=self.clock(),
        )

    async def _deny(self, received: Received) -> NoReturn:
        """Answer a denial, once recorded, no sooner than the floor after the request arrived."""
        left = received.started + self.denial_floor - self.monotonic()
        if left > 0:
            await anyio.sleep(left)
        else:
            log.warning(
                "specific request %s was denied %.0f ms after the %.0f ms floor: raise "
                "GATEWAY_REQUEST_DENIAL_FLOOR_SECONDS, or its timing may tell what refused it",
                received.exchange_id,
                -left * 1000,
                self.denial_floor * 1000,
            )
        raise RequestDeniedError.of(received.exchange_id)

    async def _refuse(
        self, received: Received, requester: RegisteredSystem | None, error: GatewayError
    ) -> NoReturn:
        """Record a request that could not be read or decided, then raise its error."""
        record = self._invalid(received, requester, error)
        await to_thread.run_sync(self._write, record)
        error.exchange_id = received.exchange_id
        raise error

    def _write(self, record: Record) -> None:
        with self.db.transaction() as connection:
            repository.write_record(connection, record)

    def _record(
        self,
        read: Read,
        outcome: str,
        reasons: Sequence[str],
        subjects: Sequence[Subject],
        decision: Decision | None = None,
        categories: Iterable[str] = (),
        payload_digest: str | None = None,
    ) -> Record:
        return audit_record.build(
            exchange_id=read.received.exchange_id,
            recorded_at=read.received.at,
            source=read.registry.id,
            request_digest=read.received.digest,
            decision=outcome,
            reasons=reasons,
            envelope=read.envelope,
            destination_jurisdiction=read.requester.jurisdiction,
            subjects=(s.primary for s in subjects),
            categories=categories,
            policy_version=self.policy.version if decision is None else decision.policy_version,
            policy_rule=None if decision is None else decision.rule,
            payload_digest=payload_digest,
            agreement=None if decision is None else decision.agreement,
        )

    def _invalid(
        self, received: Received, requester: RegisteredSystem | None, error: GatewayError
    ) -> Record:
        """The record of a request refused before it could be decided: who asked, and why."""
        record = audit_record.build(
            exchange_id=received.exchange_id,
            recorded_at=received.at,
            source=None,
            request_digest=received.digest,
            decision=INVALID,
            reasons=error.reasons or [error.reason],
        )
        return replace(
            record,
            destination=None if requester is None else requester.id,
            destination_jurisdiction=None if requester is None else requester.jurisdiction,
            message_type=SPECIFIC_REQUEST,
        )


def _assumed(
    remembered: frozenset[str], requester_jurisdiction: str | None, host: str
) -> frozenset[str]:
    """What the guard is told, before the fetch, of the countries where the person is at risk.

    What the gateway remembers of them. Of a person it remembers nothing of, the guard would
    say "risk countries unknown" to every foreign state, and no one the gateway had not met
    before could ever be asked about. So such a person is put to it as at risk in the host
    state only, a state that is never a foreign requester's: the guard (on what is
    remembered), the rules, the agreement and consent all decide before anything is fetched.
    After the fetch the whole policy decides again on the registry's record, where "unknown"
    denies as it always does. A requester of the host state itself is not foreign, so
    nothing is assumed for it.
    """
    if remembered or requester_jurisdiction == host:
        return remembered
    return frozenset({host})


def _refused(decision: Decision, request: SpecificRequest) -> tuple[str, ...]:
    """Return why a decision does not answer the request as asked, or () if it does.

    Beyond the engine's reasons: a request is answered in full or not at all (never with
    fewer categories than asked for), and at once, so a transfer the DPO must approve first
    cannot be answered.
    """
    if not decision.allowed:
        return decision.reasons
    if request.categories - decision.categories:
        return (BEYOND,)
    if decision.approval is not None:
        return (APPROVAL,)
    return ()


def _confirms(request: SpecificRequest, fetched: IndividualRecord) -> bool:
    """Tell whether the record holds every identifier the request names (as schemes compare)."""
    held = {normalise_identifier(i.scheme, i.value) for i in fetched.person.identifiers}
    named = {normalise_identifier(i.scheme, i.value) for i in request.subject.identifiers}
    return named <= held
