"""Children: what a transfer about a person under 18 needs beyond the rules.

Why (seed 001, on unaccompanied and separated children): a child's data goes beyond child
protection and the asylum authority only with a guardian's consent or a best-interests
determination (BID); tracing a child's family or returning a child needs a BID whatever the
consent, because a family or a state may be the danger. A guardian is a parent or guardian
of the child in the same message whose own consent covers this recipient and purpose (the
parents who consent to notify their newborn's birth), or a consent recorded for the child
as granted by a guardian. A person whose date of birth is unknown is not treated as a child
here; the trace says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.canonical import Consent, Relationship
from gateway.canonical.consent import GrantedBy
from gateway.policy.model import Outcome, PolicyRequest, RuleFired, SubjectFacts

CHILD_RULE = "a child's data needs a guardian's consent or a best-interests determination"
TRACING_RULE = "tracing or returning a child needs a best-interests determination"
ADULT_AGE = 18
# Destinations a child's data may reach without a guardian's consent or a BID.
CHILD_SAFE_GROUPS = frozenset({"child-protection", "asylum-authority", "anti-trafficking"})
# Purposes that need a BID for a child whatever else allows them.
TRACING_OR_RETURN = frozenset({"tracing", "family-tracing", "return"})
_GUARDIAN_OF_HOLDER = frozenset({Relationship.MOTHER, Relationship.FATHER, Relationship.GUARDIAN})


@dataclass(frozen=True)
class ChildrenResult:
    reasons: tuple[str, ...]
    trace: tuple[RuleFired, ...]


def is_minor(birth_date: dt.date | None, at: dt.datetime) -> bool:
    """Tell whether someone born on `birth_date` is under 18 on `at`'s date (UTC)."""
    if birth_date is None:
        return False
    day = at.astimezone(dt.UTC).date()
    try:
        adulthood = birth_date.replace(year=birth_date.year + ADULT_AGE)
    except ValueError:  # born on 29 February: adult on 1 March
        adulthood = dt.date(birth_date.year + ADULT_AGE, 3, 1)
    return day < adulthood


def check_children(request: PolicyRequest, destination_groups: frozenset[str]) -> ChildrenResult:
    """Deny a transfer about a child that lacks a guardian's consent or a BID it needs."""
    envelope = request.envelope
    children = [s for s in request.subjects if is_minor(s.birth_date, request.now)]
    if not children:
        return ChildrenResult((), ())
    has_bid = envelope.best_interests is not None
    reasons: list[str] = []
    trace: list[RuleFired] = []
    safe = destination_groups & CHILD_SAFE_GROUPS
    for child in children:
        who = f"subject {child.pseudonym} (a child)"
        if envelope.purpose in TRACING_OR_RETURN:
            if has_bid:
                trace.append(_fired(TRACING_RULE, "allow", f"{who}: a BID is referenced"))
            else:
                detail = f"{who}: {envelope.purpose} without a best-interests determination"
                trace.append(_fired(TRACING_RULE, "deny", detail))
                reasons.append("children.best_interests")
            continue
        if safe:
            detail = f"{who}: the destination is {', '.join(sorted(safe))}"
            trace.append(_fired(CHILD_RULE, "allow", detail))
        elif has_bid:
            trace.append(_fired(CHILD_RULE, "allow", f"{who}: a BID is referenced"))
        elif _guardian_consents(request, child):
            trace.append(_fired(CHILD_RULE, "allow", f"{who}: a guardian consented"))
        else:
            detail = f"{who}: no guardian's consent for this recipient and purpose, and no BID"
            trace.append(_fired(CHILD_RULE, "deny", detail))
            reasons.append("children.guardian_consent")
    return ChildrenResult(tuple(dict.fromkeys(reasons)), tuple(trace))


def _guardian_consents(request: PolicyRequest, child: SubjectFacts) -> bool:
    """A consent for the child granted by a guardian, or a guardian's own in the message."""
    if any(c.granted_by is GrantedBy.GUARDIAN for c in _active_for(request, [child])):
        return True
    guardians = _guardians_of(request.subjects, child)
    return bool(guardians) and any(_active_for(request, guardians))


def _guardians_of(subjects: Iterable[SubjectFacts], child: SubjectFacts) -> list[SubjectFacts]:
    by_ref = {s.ref: s for s in subjects if s.ref is not None}
    found = [
        by_ref[link.person_ref]
        for link in child.family_links
        if link.relationship in _GUARDIAN_OF_HOLDER and link.person_ref in by_ref
    ]
    found += [
        s
        for s in by_ref.values()
        if any(
            link.relationship is Relationship.CHILD and link.person_ref == child.ref
            for link in s.family_links
        )
    ]
    return [s for s in found if s is not child]


def _active_for(request: PolicyRequest, subjects: Iterable[SubjectFacts]) -> list[Consent]:
    wanted = {s.subject for s in subjects if s.subject is not None}
    return [
        c
        for c in request.consents
        if c.subject in wanted
        and c.recipient == request.destination.id
        and c.purpose == request.envelope.purpose
        and c.granted_at <= request.now
        and c.is_active(request.now)
    ]


def _fired(rule: str, outcome: Outcome, detail: str) -> RuleFired:
    return RuleFired("children", rule, outcome, detail)
