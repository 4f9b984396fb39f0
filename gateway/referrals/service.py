"""Border referrals: publish the National Reference Guide, route interviews, send referrals.

An interview walks no road of its own. It is routed (routing.py, pure), then each referral
the guide says to send is rendered in the border system's own dialect and submitted to the
exchange service exactly as `POST /exchanges` submits a message, with the caller's
credential: authentication, the policy (origin guard, rules, agreements, consent, child
rules), minimisation, the record and the outbox apply to each, one exchange per referral.
The emergency referral goes first (seed 001, 5.5).

What the road does not record, this service does, after each exchange is committed: the
routing (source, Idempotency-Key, guide version, rules) and each referral's outcome. A retry
under the same key is routed under the same guide version, so each referral's exchange is a
replay of the first; a crash between the two is repaired by that retry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from anyio import to_thread
from pydantic import ValidationError

from adapters.kit.jsonbody import load_object
from gateway.canonical.interview import IdentificationInterview
from gateway.canonical.json import canonical_json
from gateway.canonical.referral import REFERRAL
from gateway.crypto import sha256_hex
from gateway.envelope import to_headers
from gateway.errors import (
    ConflictError,
    GatewayError,
    IdempotencyConflictError,
    InvalidInput,
    NotFoundError,
    PolicyDeniedError,
    Problem,
    validation_problems,
)
from gateway.ids import new_id
from gateway.pipeline import ExchangeService, Inbound
from gateway.referrals import repository
from gateway.referrals.guide import Authority, ReferenceGuide, ReferralMode, checked
from gateway.referrals.routing import Routed, Routing, route
from gateway.referrals.schemas import (
    Contact,
    GuideVersion,
    InterviewRouted,
    Outcome,
    PublishedGuide,
    ReferralOut,
)
from gateway.store.db import Database
from gateway.store.models import InterviewRouting, ReferenceGuideVersion, ReferralRoute
from gateway.systems import RegisteredSystem

IDEMPOTENCY_KEY = "Idempotency-Key"
# The interview's key, to which ".<kind>" is added for each referral's exchange: 96 + 17
# stays within the envelope's 128.
_KEY = re.compile(r"[A-Za-z0-9._:-]{8,96}")


class Guides:
    """The National Reference Guide's versions: published once each, read as published."""

    def __init__(
        self, db: Database, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self._db = db
        self._clock = clock

    def publish(self, guide: ReferenceGuide) -> PublishedGuide:
        """Publish a new version; the one published under its number is never replaced."""
        document = guide.model_dump(mode="json")
        row = ReferenceGuideVersion(
            version=guide.version,
            country=guide.country,
            effective_from=guide.effective_from,
            document=document,
            digest=sha256_hex(canonical_json(document)),
            published_at=self._clock(),
        )
        with self._db.unit_of_work() as session:
            repository.add_guide(session, row)
            return _published(row)

    def current(self) -> PublishedGuide:
        """Return the newest version in force today."""
        with self._db.reading() as session:
            row = repository.guide_in_force(session, self._clock().date())
            if row is None:
                raise NotFoundError("no reference guide is in force: publish one")
            return _published(row)

    def version(self, version: int) -> PublishedGuide:
        """Return one version, in force or not, as it was published."""
        with self._db.reading() as session:
            row = repository.guide(session, version)
            if row is None:
                raise NotFoundError(f"no reference guide version {version}")
            return _published(row)

    def versions(self) -> list[GuideVersion]:
        with self._db.reading() as session:
            found = repository.versions(session)
        return [GuideVersion(version=v, effective_from=d) for v, d in found]


class Referrals:
    """The routing of border interviews, and the sending of their referrals."""

    def __init__(
        self,
        db: Database,
        exchanges: ExchangeService,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._db = db
        self._exchanges = exchanges
        self._clock = clock

    # --- interviews ---

    async def refer(self, credential: str | None, key: str | None, body: bytes) -> InterviewRouted:
        """Route an interview and send its referrals; answer once each is committed."""
        source = self._exchanges.directory.authenticate(credential)
        if key is None or not _KEY.fullmatch(key):
            problem = Problem(IDEMPOTENCY_KEY, "required: 8 to 96 of A-Z a-z 0-9 . _ : -")
            raise InvalidInput("the interview needs an Idempotency-Key", [problem])
        interview = parsed(body)
        digest = sha256_hex(body)
        routing, routing_id, kept = await to_thread.run_sync(
            self._routed, source, key, digest, interview
        )
        if kept is not None:
            return _answer(routing, kept, replay=True)
        outcomes = []
        for routed in routing.referrals:
            outcomes.append(await self._send(credential, source, key, routed))
        rows = [
            _route_row(routing_id, routed, out)
            for routed, out in zip(routing.referrals, outcomes, strict=True)
        ]
        await to_thread.run_sync(self._keep, rows)
        return _answer(routing, {r.kind: r for r in rows}, replay=False)

    def _routed(
        self, source: RegisteredSystem, key: str, digest: str, interview: IdentificationInterview
    ) -> tuple[Routing, str, dict[str, ReferralRoute] | None]:
        """Route under the guide in force, or, for a retry, under the version first used.

        Returns the routing, its id, and the outcomes kept if every referral has one.
        """
        with self._db.unit_of_work() as session:
            earlier = repository.routing_of(session, source.id, key)
            if earlier is not None and earlier.request_digest != digest:
                raise IdempotencyConflictError(
                    "this idempotency key was already used with a different interview",
                    [Problem(IDEMPOTENCY_KEY, "reused with a different interview")],
                )
            if earlier is not None:
                row = repository.guide(session, earlier.guide_version)
            else:
                row = repository.guide_in_force(session, self._clock().date())
            if row is None:
                raise ConflictError(
                    "no reference guide is in force: an administrator must publish one",
                    [Problem("guide", "none in force")],
                )
            routing = route(interview, checked(row.document))
            _check_source_can_refer(self._exchanges, source, routing)
            if earlier is None:
                earlier = InterviewRouting(
                    id=new_id(),
                    source=source.id,
                    idempotency_key=key,
                    request_digest=digest,
                    guide_version=routing.guide_version,
                    rules=list(routing.rules),
                    routed_at=self._clock(),
                )
                repository.add_routing(session, earlier)
                return routing, earlier.id, None
            kept = repository.routes_of(session, earlier.id)
            done = {r.referral.kind.value for r in routing.referrals} <= set(kept)
            return routing, earlier.id, kept if done else None

    async def _send(
        self, credential: str | None, source: RegisteredSystem, key: str, routed: Routed
    ) -> tuple[Outcome, str | None, list[str]]:
        """Submit one referral as an exchange; return its outcome, exchange id and reasons."""
        authority = routed.authority
        if authority is None:
            return Outcome.UNROUTED, None, ["guide.no_authority"]
        if authority.referral is ReferralMode.INFORM:
            return Outcome.INFORMED, None, []
        assert authority.system and authority.purpose and authority.legal_basis  # guide checked
        writer = self._exchanges.adapters.get(source.adapter)
        kind = routed.referral.kind.value
        try:
            rendered = writer.render(REFERRAL, routed.referral)
            headers = to_headers(
                {
                    "destination": authority.system,
                    "message_type": REFERRAL,
                    "purpose": authority.purpose,
                    "legal_basis": authority.legal_basis.value,
                    "agreement": authority.agreement,
                    "idempotency_key": f"{key}.{kind}",
                }
            )
            headers["Content-Type"] = rendered.content_type
            accepted = await self._exchanges.submit(Inbound(credential, headers, rendered.body))
        except PolicyDeniedError as denied:
            return Outcome.DENIED, denied.exchange_id, list(denied.reasons)
        except GatewayError as failed:
            return Outcome.FAILED, failed.exchange_id, [failed.reason]
        outcome = Outcome.HELD if accepted.held else Outcome.ACCEPTED
        return outcome, accepted.exchange_id, []

    def _keep(self, rows: list[ReferralRoute]) -> None:
        with self._db.unit_of_work() as session:
            repository.keep_routes(session, rows)


def parsed(body: bytes) -> IdentificationInterview:
    """Read an interview body: safe JSON, then the model; each problem names its field."""
    document = load_object(body)
    try:
        return IdentificationInterview.model_validate(document)
    except ValidationError as exc:
        problems = validation_problems(
            exc.errors(include_input=False, include_context=False),
            lambda loc: ".".join(["interview", *map(str, loc)]),
        )
        raise InvalidInput("the interview is invalid", problems) from exc


def _check_source_can_refer(
    exchanges: ExchangeService, source: RegisteredSystem, routing: Routing
) -> None:
    """Refuse, before anything is sent, a border system whose dialect has no referral."""
    sent = [r for r in routing.referrals if _sent(r.authority)]
    adapter = exchanges.adapters.get(source.adapter)
    if sent and not (REFERRAL in adapter.renders and REFERRAL in adapter.parses):
        raise InvalidInput(
            "the border system's adapter cannot carry referrals",
            [Problem("source", f"adapter {adapter.name} does not read and write {REFERRAL!r}")],
        )


def _sent(authority: Authority | None) -> bool:
    return authority is not None and authority.referral is ReferralMode.EXCHANGE


def _published(row: ReferenceGuideVersion) -> PublishedGuide:
    return PublishedGuide(
        guide=checked(row.document), digest=row.digest, published_at=row.published_at
    )


def _route_row(
    routing_id: str, routed: Routed, out: tuple[Outcome, str | None, list[str]]
) -> ReferralRoute:
    outcome, exchange_id, reasons = out
    return ReferralRoute(
        routing_id=routing_id,
        kind=routed.referral.kind.value,
        urgency=routed.referral.urgency.value,
        authority=routed.referral.to_authority,
        exchange_id=exchange_id,
        outcome=outcome.value,
        reasons=reasons,
        rules=list(routed.rules),
    )


def _answer(routing: Routing, rows: dict[str, ReferralRoute], *, replay: bool) -> InterviewRouted:
    referrals = []
    for routed in routing.referrals:
        row = rows[routed.referral.kind.value]
        outcome = Outcome(row.outcome)
        authority = routed.authority
        shown = authority is not None and outcome in (
            Outcome.INFORMED,
            Outcome.DENIED,
            Outcome.FAILED,
        )
        referrals.append(
            ReferralOut(
                kind=row.kind,
                urgency=row.urgency,
                authority=row.authority,
                outcome=outcome,
                exchange_id=row.exchange_id,
                reasons=list(row.reasons),
                rules=list(row.rules),
                contact=_contact(authority) if shown and authority is not None else None,
            )
        )
    return InterviewRouted(
        guide_version=routing.guide_version,
        replay=replay,
        referrals=referrals,
        rules=list(routing.rules),
    )


def _contact(authority: Authority) -> Contact:
    return Contact(
        name=authority.name,
        telephone=authority.telephone,
        hotline=authority.hotline,
        address=authority.address,
        hours=authority.hours,
    )
