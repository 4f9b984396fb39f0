"""Consent: who agreed to share which categories with this recipient for this purpose.

Why: consent is needed to share with any other party unless a rule names another legal
basis the policy allows; withdrawn or expired consent stops every future transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.canonical import Consent, DataCategory, Identifier
from gateway.policy.model import PolicyRequest, RuleFired, categories_text

CONSENT_RULE = "every identified subject consents to this recipient and purpose"
WITHDRAWAL_RULE = "a withdrawal is recorded even where consent is not the basis"


@dataclass(frozen=True)
class ConsentResult:
    """The categories every subject's consent allows, or the reason codes why not.

    `consent_ids` names the grants relied upon (each subject's current one): when one is
    withdrawn, the recipients of the exchanges that relied on it are told (gateway/consents.py).
    """

    categories: frozenset[DataCategory]
    reasons: tuple[str, ...]
    trace: tuple[RuleFired, ...]
    consent_ids: tuple[str, ...] = ()


def check_consent(request: PolicyRequest, allowed: frozenset[DataCategory]) -> ConsentResult:
    """Narrow `allowed` to what every identified subject consented to; deny if one did not."""
    scope = f"{request.destination.id}/{request.envelope.purpose}"
    reasons: list[str] = []
    trace: list[RuleFired] = []
    checked = 0
    relied: list[str] = []
    for subject in request.subjects:
        who = f"subject {subject.pseudonym}"
        if subject.subject is None:
            detail = f"{who}: no identifier, so no consent can be looked up; not counted"
            trace.append(RuleFired("consent", CONSENT_RULE, "info", detail))
            continue
        checked += 1
        relevant = _relevant(request, subject.subject)
        active = [c for c in relevant if _active(c, request)]
        if not active:
            reason = _why_inactive(relevant, request)
            trace.append(RuleFired("consent", CONSENT_RULE, "deny", f"{who}: {reason} ({scope})"))
            if reason not in reasons:
                reasons.append(reason)
            continue
        current = _current_grants(active)
        granted = frozenset.intersection(*(c.categories for c in current))
        relied.extend(c.id for c in current if c.id not in relied)
        allowed &= granted
        detail = f"{who}: active consent for {scope} covers {categories_text(granted)}"
        trace.append(RuleFired("consent", CONSENT_RULE, "allow", detail))
    if checked == 0:
        # Why: with nobody to ask, "every subject consented" would be vacuously true.
        detail = f"no subject has an identifier to look consent up by ({scope})"
        trace.append(RuleFired("consent", CONSENT_RULE, "deny", detail))
        reasons.append("consent.missing")
    if reasons:
        return ConsentResult(frozenset(), tuple(reasons), tuple(trace))
    return ConsentResult(allowed, (), tuple(trace), tuple(relied))


def note_withdrawals(request: PolicyRequest) -> tuple[RuleFired, ...]:
    """Record, as info, each subject's withdrawn consent for this recipient and purpose."""
    scope = f"{request.destination.id}/{request.envelope.purpose}"
    basis = request.envelope.legal_basis.value
    notes: list[RuleFired] = []
    for subject in request.subjects:
        if subject.subject is None:
            continue
        relevant = _relevant(request, subject.subject)
        if any(_withdrawn(c, request) for c in relevant):
            detail = (
                f"subject {subject.pseudonym}: consent for {scope} was withdrawn; "
                f"the transfer rests on basis {basis}"
            )
            notes.append(RuleFired("consent", WITHDRAWAL_RULE, "info", detail))
    return tuple(notes)


def _relevant(request: PolicyRequest, subject: Identifier) -> list[Consent]:
    return [
        c
        for c in request.consents
        if c.subject == subject
        and c.recipient == request.destination.id
        and c.purpose == request.envelope.purpose
    ]


def _active(consent: Consent, request: PolicyRequest) -> bool:
    # A grant dated after `now` did not exist when the decision was taken.
    return consent.granted_at <= request.now and consent.is_active(request.now)


def _withdrawn(consent: Consent, request: PolicyRequest) -> bool:
    return consent.withdrawn_at is not None and consent.withdrawn_at <= request.now


def _why_inactive(relevant: list[Consent], request: PolicyRequest) -> str:
    if any(_withdrawn(c, request) for c in relevant):
        return "consent.withdrawn"
    if any(c.expires_at is not None and c.expires_at <= request.now for c in relevant):
        return "consent.expired"
    return "consent.missing"


def _current_grants(active: list[Consent]) -> list[Consent]:
    """Return the latest grants: the person's current will (those of one instant must agree)."""
    latest = max(c.granted_at for c in active)
    return [c for c in active if c.granted_at == latest]
