"""The policy engine: hard guards, then the rule set and the agreement, then consent and the
child rules. Default deny.

An allowed decision may still wait for the DPO (`Decision.approval`): when a sensitive
category would go, when its agreement says so, or when it rests on an origin exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from gateway.canonical import DataCategory, Envelope, LegalBasis, UnknownCountryError
from gateway.canonical import normalise_country as country_code
from gateway.canonical.categories import SENSITIVE_CATEGORIES
from gateway.errors import Problem
from gateway.policy import exceptions
from gateway.policy.agreements import AgreementBook, OriginException
from gateway.policy.children import check_children
from gateway.policy.consent import check_consent, note_withdrawals
from gateway.policy.loader import read_policy
from gateway.policy.model import Decision, PolicyRequest, RuleFired, categories_text
from gateway.policy.origin import check_origin, inherit
from gateway.policy.reasons import what_the_rules_accept
from gateway.policy.rules import RuleSet

# Seed 001, 8.5: what a person says in an asylum claim goes to no other party without their
# consent; the authority that decides the claim (a border referral of someone who expressed
# fear of return is the state's duty, section 6) is not another party.
PROTECTION_RULE = (
    "the asylum claim leaves only with the person's consent naming the recipient, "
    "or to the authority that decides it"
)
APPROVAL_RULE = "sensitive data, flagged agreements and origin exceptions wait for the DPO"
DEFAULT_RULE = "deny unless a rule allows"


class PolicyEngine:
    """Decide exchanges against one policy, loaded once at construction."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        origin_exceptions: Iterable[OriginException] = (),
    ) -> None:
        files = read_policy(directory)
        self.rules = RuleSet(files)
        self.agreements = AgreementBook(files.agreements)
        # Off unless the operator turns them on (settings); an agreement must open them too.
        self.origin_exceptions = frozenset(origin_exceptions)

    @property
    def version(self) -> str:
        """Return the digest of the policy files in force."""
        return self.rules.version

    def what_would_be_accepted(self, envelope: Envelope, reasons: Iterable[str]) -> list[Problem]:
        """For a denial by the rules, name the envelopes they accept between its two systems."""
        accepted = self.rules.accepted_between(envelope.source, envelope.destination)
        return what_the_rules_accept(envelope, reasons, accepted)

    def decide(self, request: PolicyRequest) -> Decision:
        """Answer allow or deny, with reason codes, the categories allowed and the trace."""
        trace: list[RuleFired] = []
        request = replace(request, subjects=inherit(request.subjects))
        risk = tuple(s.risk_countries for s in request.subjects)
        envelope = request.envelope
        source_groups = self.rules.groups_of(envelope.source)
        destination_groups = self.rules.groups_of(envelope.destination)

        origin = check_origin(request)
        trace.extend(origin.trace)
        exception = None
        if origin.reasons:
            excepted = exceptions.origin_exception(
                request,
                origin.reasons,
                self.origin_exceptions,
                source_groups,
                _code(request.destination.jurisdiction),
            )
            trace.extend(excepted.trace)
            if excepted.exception is None:
                return self._deny(origin.reasons, trace, None, risk)
            exception = excepted.exception

        match = self.rules.match(envelope)
        trace.extend(match.trace)
        if match.rule is None:
            trace.append(RuleFired("default", DEFAULT_RULE, "deny", "no rule allows it"))
            return self._deny(match.reasons, trace, None, risk)
        rule = match.rule

        categories = rule.categories
        if DataCategory.PROTECTION in categories and rule.basis is not LegalBasis.CONSENT:
            if exceptions.ASYLUM_AUTHORITY in destination_groups:
                detail = "the destination decides asylum claims: the claim is its own business"
                trace.append(RuleFired("rules", PROTECTION_RULE, "info", detail))
            else:
                categories = categories - {DataCategory.PROTECTION}
                detail = "the rule lists protection but does not rest on consent; it is dropped"
                trace.append(RuleFired("rules", PROTECTION_RULE, "info", detail))

        if not categories:
            detail = "the rule allows no category that may be sent"
            trace.append(RuleFired("default", "minimum data", "deny", detail))
            return self._deny(("rules.categories",), trace, rule.text, risk)
        covered = self.agreements.check(envelope, categories, self.rules.groups_of, request.now)
        trace.extend(covered.trace)
        if covered.agreement is None:
            return self._deny(covered.reasons, trace, rule.text, risk)
        agreement = covered.agreement
        if not categories <= agreement.categories:
            categories = categories & agreement.categories
            detail = f"{agreement.citation} narrows the categories to {categories_text(categories)}"
            trace.append(RuleFired("agreement", agreement.citation, "info", detail))
        if exception is not None:
            if exception not in agreement.origin_exceptions:
                detail = f"{agreement.citation} does not open the {exception.value} exception"
                trace.append(RuleFired("origin", exceptions.EXCEPTION_RULE, "deny", detail))
                return self._deny(origin.reasons, trace, rule.text, risk, agreement.citation)
            categories = categories & exceptions.CATEGORIES[exception]

        by_rule = categories
        consent_ids: tuple[str, ...] = ()
        if rule.basis is LegalBasis.CONSENT:
            consent = check_consent(request, categories)
            trace.extend(consent.trace)
            if consent.reasons:
                return self._deny(consent.reasons, trace, rule.text, risk, agreement.citation)
            categories = consent.categories
            consent_ids = consent.consent_ids
        else:
            trace.extend(note_withdrawals(request))

        children = check_children(request, destination_groups)
        trace.extend(children.trace)
        if children.reasons:
            return self._deny(children.reasons, trace, rule.text, risk, agreement.citation)

        payload = request.payload_categories
        dropped = payload - categories
        if dropped:
            detail = f"minimisation drops {categories_text(dropped)}"
            trace.append(RuleFired("default", "minimum data", "info", detail))
        # Why: a message stripped of everything would still reveal that the person exists.
        if not _sendable(categories, payload):
            reason = "consent.categories" if _sendable(by_rule, payload) else "rules.categories"
            detail = "none of the payload's categories may be sent"
            trace.append(RuleFired("default", "minimum data", "deny", detail))
            return self._deny((reason,), trace, rule.text, risk, agreement.citation)

        approval = _approval(categories, payload, agreement.dpo_approval, exception)
        if approval is not None:
            detail = f"{approval} ({agreement.citation})"
            trace.append(RuleFired("approval", APPROVAL_RULE, "info", detail))
        detail = f"allowed categories {categories_text(categories)}"
        trace.append(RuleFired("default", rule.text, "allow", detail))
        return Decision(
            allowed=True,
            reasons=("allowed",),
            categories=categories,
            policy_version=self.version,
            trace=tuple(trace),
            rule=rule.text,
            risk_countries=risk,
            approval=approval,
            agreement=agreement.citation,
            consent_ids=consent_ids,
        )

    def _deny(
        self,
        reasons: tuple[str, ...],
        trace: list[RuleFired],
        rule: str | None,
        risk: tuple[frozenset[str], ...],
        agreement: str | None = None,
    ) -> Decision:
        return Decision(
            allowed=False,
            reasons=reasons,
            categories=frozenset(),
            policy_version=self.version,
            trace=tuple(trace),
            rule=rule,
            risk_countries=risk,
            agreement=agreement,
        )


def _code(jurisdiction: str | None) -> str | None:
    try:
        return None if jurisdiction is None else country_code(jurisdiction)
    except UnknownCountryError:
        return None


def _approval(
    categories: frozenset[DataCategory],
    payload: frozenset[DataCategory],
    flagged: bool,
    exception: OriginException | None,
) -> str | None:
    """Say why an allowed transfer must wait for the DPO, or None if it need not."""
    going = categories & payload if payload else categories
    why = []
    sensitive = going & SENSITIVE_CATEGORIES
    if sensitive:
        why.append(f"sensitive categories: {categories_text(sensitive)}")
    if flagged:
        why.append("the agreement requires DPO approval")
    if exception is not None:
        why.append(f"origin exception: {exception.value}")
    return "; ".join(why) or None


def _sendable(allowed: frozenset[DataCategory], payload: frozenset[DataCategory]) -> bool:
    """Tell whether anything may go: some category, and some of the payload's if it is known."""
    return bool(allowed) and (not payload or bool(payload & allowed))
