"""Route an identification interview to referrals: pure, deterministic, each step named.

The rules are seed 001's, sections 5.4 to 6.2 and Annex 1 (their ids in `RULES`):
- urgent needs come first: an EMERGENCY referral with minimal data, before anything else;
- fear of return, in any words, an Annex 1 answer marked with an asterisk, or a stated wish
  to seek protection: the asylum authority, and UNHCR (informed or referred, as the guide says);
- a child who is unaccompanied, separated or at risk: child protection;
- an answer marked with a cross (trafficking indicators): the anti-trafficking authority;
- other specific needs: the institution that takes them;
- anyone with a specific need (those above included) is referred in a priority manner.

The answer says WHY: every referral carries the ids of the rules that made and shaped it,
so an auditor can replay a decision from the interview and the guide version alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.canonical.interview import (
    IdentificationInterview,
    Intention,
    Mark,
    SpecificNeed,
    UrgentNeed,
)
from gateway.canonical.person import Person
from gateway.canonical.referral import Referral, ReferralKind, Urgency
from gateway.referrals.guide import Authority, ReferenceGuide

RULES: dict[str, str] = {
    "emergency.first": "5.5: urgent needs are met first; emergency referral, minimal data",
    "asylum.fear": "5.4: fear of return, in any words, makes an asylum seeker",
    "asylum.indicator": "Annex 1 (*): the answer points at a need of protection",
    "asylum.intention": "5.4: the person says they wish to seek protection",
    "unhcr.inform": "6 and Annex 1 note 1: the person is told of UNHCR",
    "child.unaccompanied": "6.1: an unaccompanied child goes to child protection",
    "child.separated": "6.1: a separated child goes to child protection",
    "child.at_risk": "6.1: a child at risk with their parents goes to child protection",
    "trafficking.indicators": "6.1 and Annex 1 (+): possible victim of trafficking",
    "needs.specific": "6.1: other specific needs go to the institution that meets them",
    "priority.specific_needs": "6: persons with specific needs are referred in a priority manner",
    "identification.deferred": "5.5: identification continues once the urgent needs are met",
    "guide.no_authority": "6.2: the guide names no authority of this kind",
}
"""Every rule id the routing may cite, with the seed's words for it."""

NEED_CODES: dict[SpecificNeed, str] = {
    SpecificNeed.MEDICAL_CONDITION: "SM",
    SpecificNeed.PHYSICAL_DISABILITY: "DS",
    SpecificNeed.MENTAL_DISABILITY: "DS",
    SpecificNeed.OLDER_PERSON_AT_RISK: "ER",
    SpecificNeed.WOMAN_AT_RISK: "WR",
    SpecificNeed.SGBV_SURVIVOR: "SV",
    SpecificNeed.VIOLENCE_SURVIVOR: "LP",
    SpecificNeed.TORTURE_SURVIVOR: "TR",
    SpecificNeed.PSYCHOLOGICAL_DISTRESS: "SM",
    SpecificNeed.DISORIENTATION: "SM",
}
"""Each need, as the canonical person's `specific_needs` code (UNHCR's top-level categories,
the vocabulary of every adapter's specific-needs code list)."""
CHILD_CODES = {"unaccompanied": "UAM", "separated": "SC", "child_at_risk": "CR"}

ORDER = (
    ReferralKind.EMERGENCY,
    ReferralKind.ASYLUM,
    ReferralKind.CHILD_PROTECTION,
    ReferralKind.ANTI_TRAFFICKING,
    ReferralKind.SPECIFIC_NEEDS,
    ReferralKind.UNHCR,
)
"""The order referrals are made in: the emergency first, UNHCR (often informed only) last."""


@dataclass(frozen=True)
class Routed:
    """One referral, the rules that made it, and the guide's authority (None: none named)."""

    referral: Referral
    rules: tuple[str, ...]
    authority: Authority | None


@dataclass(frozen=True)
class Routing:
    """What one interview routes to, under one guide version."""

    guide_version: int
    referrals: tuple[Routed, ...]
    rules: tuple[str, ...]  # every rule that fired, in the order it fired


@dataclass
class _Draft:
    reasons: list[str]
    rules: list[str]


def route(interview: IdentificationInterview, guide: ReferenceGuide) -> Routing:
    """Return the referrals an interview calls for, under this guide."""
    drafts = _drafts(interview)
    person = _with_needs(interview)
    fired: list[str] = []
    prioritised = _has_specific_needs(interview)
    identified = bool(interview.person.names or interview.person.identifiers)
    routed = []
    for kind in ORDER:
        draft = drafts.get(kind)
        if draft is None:
            continue
        rules = list(draft.rules)
        if kind is not ReferralKind.EMERGENCY and not identified:
            fired.extend([*rules, "identification.deferred"])  # only the emergency goes now
            continue
        urgency = Urgency.ROUTINE
        if kind is ReferralKind.EMERGENCY:
            urgency = Urgency.EMERGENCY
        elif prioritised:
            urgency = Urgency.PRIORITY
            rules.append("priority.specific_needs")
        authority = guide.authority_for(kind, interview.region)
        if authority is None:
            rules.append("guide.no_authority")
        referral = Referral(
            id=f"{interview.reference}-{kind.value}",
            person=_minimal(person) if kind is ReferralKind.EMERGENCY else person,
            kind=kind,
            urgency=urgency,
            reasons=draft.reasons,
            referred_on=interview.interviewed_on,
            from_office=interview.office,
            to_authority=None if authority is None else authority.id,
        )
        routed.append(Routed(referral, tuple(rules), authority))
        fired.extend(rules)
    return Routing(guide.version, tuple(routed), tuple(dict.fromkeys(fired)))


def _drafts(interview: IdentificationInterview) -> dict[ReferralKind, _Draft]:
    """Apply the rules: which kinds of referral, with which reason codes and rule ids."""
    drafts: dict[ReferralKind, _Draft] = {}
    if interview.urgent_needs:
        # The shared reason vocabulary (adapters' referral-reason code lists) has a code for
        # an urgent medical need only; the authority the guide names says the rest.
        urgent = ["urgent_medical"] if UrgentNeed.URGENT_MEDICAL in interview.urgent_needs else []
        drafts[ReferralKind.EMERGENCY] = _Draft(urgent, ["emergency.first"])
    asylum = []
    if interview.fear_of_return:
        asylum.append("asylum.fear")
    if interview.marked(Mark.PROTECTION):
        asylum.append("asylum.indicator")
    if interview.intention is Intention.SEEK_PROTECTION:
        asylum.append("asylum.intention")
    if asylum:
        drafts[ReferralKind.ASYLUM] = _Draft(["fear_of_return"], asylum)
        drafts[ReferralKind.UNHCR] = _Draft(["fear_of_return"], [*asylum, "unhcr.inform"])
    if interview.is_child():
        child = [
            (flag, reason, rule)
            for flag, reason, rule in (
                (interview.unaccompanied, "unaccompanied_child", "child.unaccompanied"),
                (interview.separated, "separated_child", "child.separated"),
                (interview.child_at_risk, "vulnerable_child", "child.at_risk"),
            )
            if flag
        ]
        if child:
            drafts[ReferralKind.CHILD_PROTECTION] = _Draft(
                [reason for _, reason, _ in child], [rule for _, _, rule in child]
            )
    if interview.marked(Mark.TRAFFICKING):
        # Which answers, the anti-trafficking authority asks again in its own interview.
        drafts[ReferralKind.ANTI_TRAFFICKING] = _Draft(
            ["trafficking_indicators"], ["trafficking.indicators"]
        )
    if interview.specific_needs:
        # The needs themselves travel as the person's specific_needs codes (_with_needs).
        sgbv = SpecificNeed.SGBV_SURVIVOR in interview.specific_needs
        drafts[ReferralKind.SPECIFIC_NEEDS] = _Draft(
            ["gbv_survivor"] if sgbv else [], ["needs.specific"]
        )
    return drafts


def _has_specific_needs(interview: IdentificationInterview) -> bool:
    """Tell whether the person falls in a category of section 6.1 (or has urgent needs)."""
    child_in_need = interview.is_child() and (
        interview.unaccompanied or interview.separated or interview.child_at_risk
    )
    return bool(
        interview.specific_needs
        or interview.urgent_needs
        or interview.marked(Mark.TRAFFICKING)
        or child_in_need
    )


def _with_needs(interview: IdentificationInterview) -> Person:
    """Return the person with the needs seen at the interview among their specific needs."""
    codes = {NEED_CODES[n] for n in interview.specific_needs}
    if interview.is_child():
        flags = {name: getattr(interview, name) for name in CHILD_CODES}
        codes |= {code for name, code in CHILD_CODES.items() if flags[name]}
    person = interview.person
    if codes <= set(person.specific_needs):
        return person
    return person.model_copy(update={"specific_needs": sorted({*person.specific_needs, *codes})})


def _minimal(person: Person) -> Person:
    """Keep what an emergency service needs: sex and age; no name, document or history.

    Why: urgent care comes before identification (5.5); what is not needed to give it does
    not travel, and the full referrals follow once the person is identified.
    """
    return Person(ref=person.ref, sex=person.sex, birth_date=person.birth_date)
