"""Reason codes in words, and what a sender denied by the rules may try instead.

The codes are the contract (answers, exchange records, the DPO's reports); the words are for
the people reading them: `gateway send` prints them beside each code.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.canonical import Envelope
from gateway.errors import Problem
from gateway.policy.loader import Rule

REASON_WORDS = {
    "origin.risk_country": "the destination is controlled by a state where a subject is at risk",
    "origin.unknown_jurisdiction": "the destination's state is not known, so it cannot be "
    "checked against the subjects' risk countries",
    "origin.unknown_risk_countries": "a subject's risk countries are not known",
    "rules.no_match": "no rule lets these systems exchange this message for this purpose",
    "rules.legal_basis": "a rule fits, but under another legal basis than the one declared",
    "rules.categories": "the rule allows none of the data categories the message holds",
    "minimise.required_category_withheld": "the message cannot go without a data category "
    "the rule or consent withholds (a birth without the birth, an asylum referral without "
    "the claim)",
    "agreement.missing": "no agreement in force covers this exchange",
    "agreement.unknown": "the agreement named is not registered",
    "agreement.inactive": "the agreement named is not in force today",
    "agreement.ambiguous": "several agreements cover this exchange: name one",
    "agreement.parties": "the two systems are not both parties to the agreement named",
    "agreement.purpose": "the agreement named does not cover this purpose",
    "agreement.legal_basis": "the agreement named does not rest on this legal basis",
    "agreement.categories": "the agreement named covers none of the data allowed",
    "children.guardian_consent": "a child's data needs a guardian's consent or a "
    "best-interests determination",
    "children.best_interests": "tracing or returning a child needs a best-interests determination",
    "consent.missing": "no consent on file covers this recipient, purpose and data",
    "consent.withdrawn": "the consent that covered this was withdrawn",
    "consent.expired": "the consent that covered this has expired",
    "consent.categories": "the consent on file covers none of the data categories sent",
    # Specific requests (gateway/requests/): the requester is only ever told "request.denied".
    "request.denied": "the specific request is denied (the reasons are for the DPO only)",
    "request.not_registered": "the registry holds no individual under the identifiers named",
    "request.fetch_failed": "the registry could not be asked, or its answer could not be read",
    "request.identifiers_disagree": "the registry's record does not hold every identifier named",
    "request.categories": "the request asks for categories the policy does not allow it",
    "request.approval_required": "the transfer would wait for the DPO: a request cannot",
    "request.not_individual": "the request names nobody, several people or a list",
    "request.criteria": "the request searches by criteria: answered only as statistics",
    "request.wildcard": "an identifier holds a wildcard",
    "request.identifier": "an identifier is partial, malformed or of an unknown scheme",
    "request.justification": "the justification is too short, boilerplate or repetition",
    "request.invalid": "a field of the request is missing or invalid",
    "rate_limited": "the requesting system made too many specific requests",
}
_RULE_REASONS = ("rules.no_match", "rules.legal_basis")


def in_words(reason: str) -> str:
    """Return a reason code's meaning, or the code itself for one this gateway does not know."""
    return REASON_WORDS.get(reason, reason)


def what_the_rules_accept(
    envelope: Envelope, reasons: Iterable[str], accepted: Iterable[Rule]
) -> list[Problem]:
    """Name what the rules would accept between the envelope's two systems.

    Only for a denial by the rules themselves: the sender declared a message type, purpose
    or basis no rule has for that pair, and cannot guess which one would do. Never for a
    denial by the origin guard or consent, where no other envelope would help.
    """
    if not any(reason in _RULE_REASONS for reason in reasons):
        return []
    between = f"from {envelope.source} to {envelope.destination}"
    offers = sorted({f"{r.message_type} for {r.purpose} under {r.basis.value}" for r in accepted})
    if not offers:
        return [Problem("X-Exchange-Destination", f"no rule lets anything go {between}")]
    return [
        Problem("X-Exchange-Purpose", f"the rules accept {between}: {offer}") for offer in offers
    ]
