"""The rule set: Casbin says which rule lets an exchange through, and under which basis.

Several rules may fit one exchange. They are told apart by legal basis: the envelope
declares one, and only a rule naming that same basis counts (a rule that fits under another
basis is reported as "rules.legal_basis"). Rules sharing message, purpose and basis that
could both fit one pair of systems must grant the same categories, or loading fails:
granting their union would send more than one of them allows, and picking one silently
would make file order a hidden policy. So at most one answer exists, and Casbin's first
match (enforce_ex) is that answer.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Any, NamedTuple

import casbin
from casbin.core_enforcer import EnforceContext
from casbin.model import Model
from casbin.persist import Adapter

from gateway.canonical import Envelope, LegalBasis
from gateway.errors import ConfigurationError, Problem
from gateway.policy.loader import MODEL_FILE, POLICY_FILE, PolicyFiles, Rule, read_policy
from gateway.policy.model import RuleFired

_REQUEST_TOKENS = ["r_src", "r_dst", "r_msg", "r_purpose", "r_basis"]
_POLICY_TOKENS = ["p_src", "p_dst", "p_msg", "p_purpose", "p_basis", "p_categories"]
# Why: with any other effect (deny-override, say) a request no rule matches is allowed.
_ALLOW_IF_SOME_RULE = "some(where(p_eft==allow))"
# The second matcher ignores the basis: it only explains a denial, it never allows.
_IGNORING_BASIS = EnforceContext(rtype="r", ptype="p", etype="e", mtype="m2")


class _RequestShape(NamedTuple):
    """What the rules look at in an envelope (hashable, so answers can be cached)."""

    source: str
    destination: str
    message_type: str
    purpose: str
    legal_basis: LegalBasis


@dataclass(frozen=True)
class RuleMatch:
    """The rule that lets the exchange through, or the reason codes why none does."""

    rule: Rule | None
    reasons: tuple[str, ...]
    trace: tuple[RuleFired, ...]


class _ValidatedRows(Adapter):  # type: ignore[misc]  # casbin ships no type hints
    """Hand Casbin the rows the loader validated, in file order."""

    def __init__(self, policy: PolicyFiles) -> None:
        self._policy = policy

    def load_policy(self, model: Any) -> None:
        model["p"]["p"].policy.extend(list(rule.row) for rule in self._policy.rules)
        model["g"]["g"].policy.extend([g.member, g.group] for g in self._policy.groupings)


class RuleSet:
    """The Casbin enforcer over one policy, built once; safe to share between requests."""

    def __init__(self, policy: PolicyFiles) -> None:
        self.version = policy.version
        self.rules = policy.rules
        self._by_row: dict[tuple[str, ...], Rule] = {}
        for rule in policy.rules:
            self._by_row.setdefault(rule.row, rule)
        self._enforcer = _build_enforcer(policy)
        _reject_conflicts(policy.rules, self._enforcer)
        # A rule set never changes once loaded, so the answer for one request shape can be
        # kept: Casbin rebuilds its matcher expression on every call, which costs more than
        # the rest of the decision.
        self._match_request = lru_cache(maxsize=4096)(self._match_request_uncached)

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None) -> RuleSet:
        """Load the shipped policy, or the one in `directory`."""
        return cls(read_policy(directory))

    def groups_of(self, system_id: str) -> frozenset[str]:
        """Return every group a system belongs to, directly or through other groups."""
        return frozenset(self._enforcer.get_implicit_roles_for_user(system_id))

    def match(self, envelope: Envelope) -> RuleMatch:
        """Find the rule that allows this envelope under its declared legal basis."""
        return self._match_request(
            envelope.source,
            envelope.destination,
            envelope.message_type,
            envelope.purpose,
            envelope.legal_basis,
        )

    def _match_request_uncached(
        self, source: str, destination: str, message_type: str, purpose: str, basis: LegalBasis
    ) -> RuleMatch:
        envelope = _RequestShape(source, destination, message_type, purpose, basis)
        request = (source, destination, message_type, purpose, basis.value)
        allowed, row = self._enforcer.enforce_ex(*request)
        rule = self._by_row.get(tuple(row)) if allowed else None
        if rule is not None and self._fits(rule, envelope, with_basis=True):
            detail = f"{envelope.source} -> {envelope.destination} under {rule.basis.value}"
            return RuleMatch(rule, (), (RuleFired("rules", rule.text, "allow", detail),))

        fits_other_basis, row = self._enforcer.enforce_ex(_IGNORING_BASIS, *request)
        other = self._by_row.get(tuple(row)) if fits_other_basis else None
        if other is not None and self._fits(other, envelope, with_basis=False):
            detail = (
                f"the rule allows basis {other.basis.value}, "
                f"the envelope declares {envelope.legal_basis.value}"
            )
            fired = RuleFired("rules", other.text, "deny", detail)
            return RuleMatch(None, ("rules.legal_basis",), (fired,))

        detail = (
            f"no rule lets {envelope.source} {self._groups_text(envelope.source)} send "
            f"{envelope.message_type} to {envelope.destination} "
            f"{self._groups_text(envelope.destination)} for {envelope.purpose}"
        )
        return RuleMatch(
            None, ("rules.no_match",), (RuleFired("rules", "no rule", "deny", detail),)
        )

    def accepted_between(self, source: str, destination: str) -> tuple[Rule, ...]:
        """Return the rules that could let `source` send anything to `destination`.

        What a sender denied by "rules.no_match" or "rules.legal_basis" needs to know: which
        message types, purposes and bases the rules accept for that pair of systems. Read
        only on those denials, so a scan of the rules costs nothing on the allowed path.
        """
        roles = self._enforcer.get_role_manager()
        return tuple(
            rule
            for rule in self.rules
            if roles.has_link(source, rule.source) and roles.has_link(destination, rule.destination)
        )

    def _fits(self, rule: Rule, envelope: _RequestShape, *, with_basis: bool) -> bool:
        # Why: a defence against an edited matcher in model.conf; what Casbin returns must
        # really be this exchange's rule before it lets anything through.
        roles = self._enforcer.get_role_manager()
        return (
            roles.has_link(envelope.source, rule.source)
            and roles.has_link(envelope.destination, rule.destination)
            and rule.message_type == envelope.message_type
            and rule.purpose == envelope.purpose
            and (not with_basis or rule.basis is envelope.legal_basis)
        )

    def _groups_text(self, system_id: str) -> str:
        groups = sorted(self.groups_of(system_id))
        return f"(groups: {', '.join(groups)})" if groups else "(no group)"


def _build_enforcer(policy: PolicyFiles) -> Any:
    try:
        model = Model()
        model.load_model_from_text(policy.model_text)
    except Exception as exc:  # casbin raises bare RuntimeError/KeyError on a bad model
        raise ConfigurationError(
            f"{MODEL_FILE} is invalid: {exc}", [Problem(MODEL_FILE, str(exc))]
        ) from exc
    _check_model(model)
    return casbin.Enforcer(model, _ValidatedRows(policy))


def _check_model(model: Any) -> None:
    problems: list[str] = []
    sections = set(model.keys())
    for section in ("r", "p", "g", "e", "m"):
        if section not in sections:
            problems.append(f"section {section!r} is missing")
    if not problems:
        if model["r"]["r"].tokens != _REQUEST_TOKENS:
            problems.append("request must be: r = src, dst, msg, purpose, basis")
        if model["p"]["p"].tokens != _POLICY_TOKENS:
            problems.append("policy must be: p = src, dst, msg, purpose, basis, categories")
        if "g" not in model["g"] or len(model["g"]["g"].tokens) != 2:
            problems.append("role definition must be: g = _, _")
        if "".join(model["e"]["e"].value.split()) != _ALLOW_IF_SOME_RULE:
            problems.append("effect must be: e = some(where (p.eft == allow))")
        for matcher in ("m", "m2"):
            if matcher not in model["m"]:
                problems.append(f"matcher {matcher!r} is missing")
    if problems:
        raise ConfigurationError(
            f"{MODEL_FILE} is invalid: " + "; ".join(problems),
            [Problem(MODEL_FILE, message) for message in problems],
        )


def _reject_conflicts(rules: tuple[Rule, ...], enforcer: Any) -> None:
    roles = enforcer.get_role_manager()
    members: dict[str, frozenset[str]] = {}

    def members_of(name: str) -> frozenset[str]:
        if name not in members:
            seen = {name}
            frontier = [name]
            while frontier:
                frontier = [u for n in frontier for u in roles.get_users(n) if u not in seen]
                seen.update(frontier)
            members[name] = frozenset(seen)
        return members[name]

    by_key: dict[tuple[str, str, str], list[Rule]] = defaultdict(list)
    for rule in rules:
        by_key[(rule.message_type, rule.purpose, rule.basis.value)].append(rule)
    problems: list[Problem] = []
    for group in by_key.values():
        for first, second in combinations(group, 2):
            if (
                first.categories != second.categories
                and members_of(first.source) & members_of(second.source)
                and members_of(first.destination) & members_of(second.destination)
            ):
                message = (
                    f"overlaps line {first.line} (same message, purpose and basis for a shared "
                    "source and destination) but grants other categories"
                )
                problems.append(Problem(f"{POLICY_FILE}:{second.line}", message))
    if problems:
        listed = "; ".join(f"{p.location}: {p.message}" for p in problems)
        raise ConfigurationError(f"{POLICY_FILE} has conflicting rules: {listed}", problems)
