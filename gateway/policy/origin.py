"""The origin guard: a person's data never goes to a country where they are at risk.

This is the first and hardest rule of the gateway. It runs before the rule set and consent,
and nothing after it can undo a denial: not consent, not a rule, not an agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from gateway.canonical import FamilyLink, Person, Relationship
from gateway.canonical.countries import (
    UnknownCountryError,
    country_codes,
    is_state,
    normalise_country,
)
from gateway.policy.model import PolicyRequest, RuleFired, SubjectFacts

RISK_RULE = "a subject's risk country is never a destination"
JURISDICTION_RULE = "a destination's jurisdiction must be known"
UNKNOWN_RISK_RULE = "a subject whose risk countries are unknown never goes to a foreign state"

# A destination's jurisdiction is a state or the UN (ICAO's "UNO", and "UNA" for its
# specialised agencies). Any other code is no known jurisdiction: a person's status (XXA,
# XXB, XXC, XXX), an organisation whose members may share what it receives (INTERPOL, the
# EU), a state that no longer exists, the specimen "Utopia".
_UN = frozenset({"UNO", "UNA"})

# ICAO codes that are not states but belong to one: British nationals of other kinds are
# British, and XXK means Kosovo. Folding them in can only add a risk country.
_STATE_OF = {
    "GBD": "GBR",
    "GBN": "GBR",
    "GBO": "GBR",
    "GBS": "GBR",
    "GBP": "GBR",
    "XXK": "RKS",
}

# "UNK" is ICAO's code for a resident of Kosovo holding a UN (UNMIK) document, and what many
# systems write for "unknown". Both readings hold: a risk in Kosovo that tells nothing of any
# other state, as "XXX" tells nothing; never a jurisdiction.
_MAYBE_UNKNOWN = {"UNK": "RKS"}

# States that no longer exist (ICAO Doc 9303 Part F): a risk in every state that followed
# (ISO 3166-3: the Netherlands Antilles were divided into BQ, CW and SX; the Neutral Zone
# between Iraq and Saudi Arabia), as a name of two states is a risk in both.
_FOLLOWED_BY = {"ANT": ("BES", "CUW", "SXM"), "NTZ": ("IRQ", "SAU")}

_PARENT_OF_HOLDER = frozenset({Relationship.MOTHER, Relationship.FATHER})


def inherited_risk(
    persons: Sequence[Person], remembered: Mapping[str, Iterable[str]] | None = None
) -> dict[str, frozenset[str]]:
    """Return each person's risk countries, with those inherited from parents, by `ref`.

    `remembered` (by `ref`) adds what the gateway recalled of each person before inheriting,
    so a parent's remembered origin reaches the child too. See `_inherit`.
    """
    remembered = remembered or {}
    stated = {
        p.ref: frozenset(p.risk_countries()) | frozenset(remembered.get(p.ref, ())) for p in persons
    }
    return _inherit(stated, {p.ref: p.family_links for p in persons})


def inherit(subjects: Sequence[SubjectFacts]) -> tuple[SubjectFacts, ...]:
    """Return the subjects with the risk countries each inherits from parents among them."""
    refs = [s.ref or s.pseudonym for s in subjects]
    stated: dict[str, frozenset[str]] = {}
    for ref, subject in zip(refs, subjects, strict=True):
        stated[ref] = stated.get(ref, frozenset()) | subject.risk_countries
    links = {ref: s.family_links for ref, s in zip(refs, subjects, strict=True)}
    risk = _inherit(stated, links)
    return tuple(
        replace(s, risk_countries=risk[ref]) for ref, s in zip(refs, subjects, strict=True)
    )


def _inherit(
    stated: Mapping[str, frozenset[str]], links: Mapping[str, Iterable[FamilyLink]]
) -> dict[str, frozenset[str]]:
    """Add to each person's risk countries those of their parents, transitively.

    Why: a child born to refugee parents must never be reported to the parents' country of
    origin, even when the child's own record names no country. A MOTHER or FATHER link on P
    pointing at X makes X a parent of P; a CHILD link on P pointing at X makes X a child of P.
    Inheritance is transitive (a grandparent's risk reaches the grandchild). Links to people
    outside `stated` are ignored.
    """
    risk = {ref: set(countries) for ref, countries in stated.items()}
    parents: dict[str, set[str]] = {ref: set() for ref in risk}
    for ref, its_links in links.items():
        for link in its_links:
            if link.person_ref not in risk or link.person_ref == ref:
                continue
            if link.relationship in _PARENT_OF_HOLDER:
                parents[ref].add(link.person_ref)
            elif link.relationship is Relationship.CHILD:
                parents[link.person_ref].add(ref)
    changed = True
    while changed:  # sets only grow and are bounded, so this ends, cycles included
        changed = False
        for child, its_parents in parents.items():
            for parent in its_parents:
                missing = risk[parent] - risk[child]
                if missing:
                    risk[child] |= missing
                    changed = True
    return {ref: frozenset(countries) for ref, countries in risk.items()}


@dataclass(frozen=True)
class OriginResult:
    """Reason codes of every denial the guard found (empty: passed), and what fired."""

    reasons: tuple[str, ...]
    trace: tuple[RuleFired, ...]


def _normalised(code: str | None) -> str | None:
    """Return the state code of one country, or None if it is unknown or names two states.

    Why: a jurisdiction written as "Congo" is never resolved to one of its states; as an
    unknown jurisdiction it is denied (an AmbiguousCountryError is an UnknownCountryError).
    """
    if code is None:
        return None
    try:
        normalised = normalise_country(code)
    except UnknownCountryError:
        return None
    return _STATE_OF.get(normalised, normalised)


def _jurisdiction(request: PolicyRequest) -> str | None:
    """Return the state (or UN code) controlling the destination; None if it is unknown."""
    code = _normalised(request.destination.jurisdiction)
    return code if code is not None and (is_state(code) or code in _UN) else None


def check_origin(request: PolicyRequest) -> OriginResult:
    """Check every subject against the destination's jurisdiction; deny on any doubt."""
    destination = request.destination.id
    jurisdiction = _jurisdiction(request)
    if jurisdiction is None:
        fired = RuleFired(
            "origin", JURISDICTION_RULE, "deny", f"destination {destination}: jurisdiction unknown"
        )
        return OriginResult(("origin.unknown_jurisdiction",), (fired,))

    host = _normalised(request.host_jurisdiction)
    # An unreadable host code makes every state foreign: the stricter reading.
    foreign_state = is_state(jurisdiction) and jurisdiction != host
    reasons: list[str] = []
    trace: list[RuleFired] = []
    for subject in request.subjects:
        reason, subject_trace = _check_subject(subject, jurisdiction, foreign_state)
        trace.extend(subject_trace)
        if reason is not None and reason not in reasons:
            reasons.append(reason)

    if not reasons:
        kind = _kind(jurisdiction, foreign_state)
        trace.append(
            RuleFired(
                "origin",
                RISK_RULE,
                "allow",
                f"destination {destination} jurisdiction {jurisdiction} ({kind}): "
                f"no risk country of {len(request.subjects)} subject(s)",
            )
        )
    return OriginResult(tuple(reasons), tuple(trace))


def _kind(jurisdiction: str, foreign_state: bool) -> str:
    if foreign_state:
        return "foreign state"
    return "host state" if is_state(jurisdiction) else "not a state"


def _check_subject(
    subject: SubjectFacts, jurisdiction: str, foreign_state: bool
) -> tuple[str | None, list[RuleFired]]:
    who = f"subject {subject.pseudonym}"
    fired: list[RuleFired] = []
    risk: set[str] = set()
    known = False  # some code tells a state the person is at risk in
    unreadable = False
    ignored: set[str] = set()
    doubtful: set[str] = set()
    for value in subject.risk_countries:
        try:
            meant = country_codes(value)  # a name of two states is a risk in both
        except UnknownCountryError:
            unreadable = True  # never echo the raw value: it may be free text
            continue
        for code in meant:
            if code in _MAYBE_UNKNOWN:
                risk.add(_MAYBE_UNKNOWN[code])
                doubtful.add(code)
                continue
            for state in _FOLLOWED_BY.get(code, (_STATE_OF.get(code, code),)):
                if is_state(state):
                    risk.add(state)
                    known = True
                else:
                    ignored.add(state)
    if ignored:
        codes = ", ".join(sorted(ignored))
        fired.append(
            RuleFired("origin", RISK_RULE, "info", f"{who}: non-state codes {codes} ignored")
        )
    if doubtful:
        codes = ", ".join(sorted(doubtful))
        detail = f"{who}: {codes} may mean Kosovo or unknown; read as both"
        fired.append(RuleFired("origin", RISK_RULE, "info", detail))

    if jurisdiction in risk:
        detail = f"{who}: destination jurisdiction {jurisdiction} is a risk country"
        fired.append(RuleFired("origin", RISK_RULE, "deny", detail))
        return "origin.risk_country", fired
    if unreadable and is_state(jurisdiction):
        # An unreadable code could name any state, the host included.
        detail = f"{who}: a risk country code is not recognised; destination {jurisdiction}"
        fired.append(RuleFired("origin", UNKNOWN_RISK_RULE, "deny", detail))
        return "origin.unknown_risk_countries", fired
    if not known and foreign_state:
        detail = f"{who}: no risk countries known; destination is foreign state {jurisdiction}"
        fired.append(RuleFired("origin", UNKNOWN_RISK_RULE, "deny", detail))
        return "origin.unknown_risk_countries", fired
    return None, fired
