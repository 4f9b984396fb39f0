"""The policy engine: hard guards, then the rule set, then consent. Default deny."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from gateway.canonical import DataCategory, Envelope, LegalBasis
from gateway.errors import Problem
from gateway.policy.consent import check_consent, note_withdrawals
from gateway.policy.model import Decision, PolicyRequest, RuleFired, categories_text
from gateway.policy.origin import check_origin, inherit
from gateway.policy.reasons import what_the_rules_accept
from gateway.policy.rules import RuleSet

PROTECTION_RULE = "protection data is never shared"
DEFAULT_RULE = "deny unless a rule allows"


class PolicyEngine:
    """Decide exchanges against one policy, loaded once at construction."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.rules = RuleSet.load(directory)

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

        origin = check_origin(request)
        trace.extend(origin.trace)
        if origin.reasons:
            return self._deny(origin.reasons, trace, None, risk)

        match = self.rules.match(request.envelope)
        trace.extend(match.trace)
        if match.rule is None:
            trace.append(RuleFired("default", DEFAULT_RULE, "deny", "no rule allows it"))
            return self._deny(match.reasons, trace, None, risk)
        rule = match.rule

        categories = _shareable(rule.categories)
        if categories != rule.categories:
            detail = "the rule lists protection; it is dropped"
            trace.append(RuleFired("rules", PROTECTION_RULE, "info", detail))

        by_rule = categories
        if rule.basis is LegalBasis.CONSENT:
            consent = check_consent(request, categories)
            trace.extend(consent.trace)
            if consent.reasons:
                return self._deny(consent.reasons, trace, rule.text, risk)
            categories = consent.categories
        else:
            trace.extend(note_withdrawals(request))
            if request.envelope.agreement is None:
                detail = f"basis {rule.basis.value} rests on the rule alone: no agreement named"
                trace.append(RuleFired("rules", rule.text, "info", detail))

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
            return self._deny((reason,), trace, rule.text, risk)

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
        )

    def _deny(
        self,
        reasons: tuple[str, ...],
        trace: list[RuleFired],
        rule: str | None,
        risk: tuple[frozenset[str], ...],
    ) -> Decision:
        return Decision(
            allowed=False,
            reasons=reasons,
            categories=frozenset(),
            policy_version=self.version,
            trace=tuple(trace),
            rule=rule,
            risk_countries=risk,
        )


def _shareable(categories: frozenset[DataCategory]) -> frozenset[DataCategory]:
    return categories - {DataCategory.PROTECTION}


def _sendable(allowed: frozenset[DataCategory], payload: frozenset[DataCategory]) -> bool:
    """Tell whether anything may go: some category, and some of the payload's if it is known."""
    return bool(allowed) and (not payload or bool(payload & allowed))
