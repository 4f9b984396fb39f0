"""The rule set: which rule lets an exchange through, and under which basis.

Casbin stays the language of the rules: the model's matchers say what fits, and Casbin's
own `Model` reads them. Decisions do not go through Casbin's enforcer, which scans every
rule on every call; the matchers are compiled to an index (gateway.policy.matcher) that
gives the same answer, first match in file order, by look-ups (tests/policy/
test_rules_differential.py holds it to pycasbin's own answers).

Several rules may fit one exchange. They are told apart by legal basis: the envelope
declares one, and only a rule naming that same basis counts (a rule that fits under another
basis is reported as "rules.legal_basis"). Rules sharing message, purpose and basis that
could both fit one pair of systems must grant the same categories, or loading fails:
granting their union would send more than one of them allows, and picking one silently
would make file order a hidden policy. So at most one answer exists, and the first match
is that answer.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from casbin.model import Model

from gateway.canonical import DataCategory, Envelope, LegalBasis
from gateway.errors import ConfigurationError, Problem
from gateway.policy.groups import Groups
from gateway.policy.loader import MODEL_FILE, POLICY_FILE, PolicyFiles, Rule, read_policy
from gateway.policy.matcher import MatcherIndex, Term, compile_matcher
from gateway.policy.model import RuleFired

_REQUEST_TOKENS = ["r_src", "r_dst", "r_msg", "r_purpose", "r_basis"]
_POLICY_TOKENS = ["p_src", "p_dst", "p_msg", "p_purpose", "p_basis", "p_categories"]
# What a matcher may compare with the request, and the Rule attribute holding each.
_COMPARABLE = _POLICY_TOKENS[:5]
_FIELDS = ["source", "destination", "message_type", "purpose", "basis"]
# Why: with any other effect (deny-override, say) a request no rule matches is allowed.
_ALLOW_IF_SOME_RULE = "some(where(p_eft==allow))"


@dataclass(frozen=True)
class RuleMatch:
    """The rule that lets the exchange through, or the reason codes why none does."""

    rule: Rule | None
    reasons: tuple[str, ...]
    trace: tuple[RuleFired, ...]


class RuleSet:
    """The policy's rules, indexed once by the model's matchers; safe to share between requests.

    `m` decides; `m2`, which ignores the basis, only explains a denial. The answer is exactly
    what the matchers say. The defence that checked Casbin's answer field by field before
    letting it through (`_fits`) is gone: the compiler refuses any term it cannot index, so
    the index answers what the matcher says and nothing else. One check stays, as a rule of
    the house rather than of the model: a rule allows only under the basis the envelope
    declares, even if an edited `m` forgot to compare it, because consent checking and the
    exchange record rest on that basis.
    """

    def __init__(self, policy: PolicyFiles) -> None:
        self.version = policy.version
        self.rules = policy.rules
        decide, explain = _compile_model(policy.model_text)
        self._groups = Groups(policy.groupings)
        self._decide = MatcherIndex(decide, policy.rules, _FIELDS)
        self._explain = MatcherIndex(explain, policy.rules, _FIELDS)
        self._from: dict[str, list[Rule]] = defaultdict(list)
        self._to: dict[str, list[Rule]] = defaultdict(list)
        for rule in policy.rules:
            self._from[rule.source].append(rule)
            self._to[rule.destination].append(rule)
        _reject_conflicts(policy.rules, self._groups)
        # Why: a rule set never changes once loaded, and a repeated request shape is then
        # answered without building its trace again (bench/policy.py has the figures).
        self._match_request = lru_cache(maxsize=4096)(self._match_request_uncached)

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None) -> RuleSet:
        """Load the shipped policy, or the one in `directory`."""
        return cls(read_policy(directory))

    def groups_of(self, system_id: str) -> frozenset[str]:
        """Return every group a system belongs to, directly or through other groups."""
        return self._groups.groups_of(system_id)

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
        # LegalBasis is a StrEnum: it hashes and compares as its value, as the index holds it.
        request = (source, destination, message_type, purpose, basis)
        rule = self._decide.first(request, self._groups.expansions)
        if rule is not None and rule.basis is basis:
            detail = f"{source} -> {destination} under {rule.basis.value}"
            return RuleMatch(rule, (), (RuleFired("rules", rule.text, "allow", detail),))

        other = self._explain.first(request, self._groups.expansions)
        if other is not None:
            detail = (
                f"the rule allows basis {other.basis.value}, the envelope declares {basis.value}"
            )
            fired = RuleFired("rules", other.text, "deny", detail)
            return RuleMatch(None, ("rules.legal_basis",), (fired,))

        detail = (
            f"no rule lets {source} {self._groups_text(source)} send {message_type} to "
            f"{destination} {self._groups_text(destination)} for {purpose}"
        )
        return RuleMatch(
            None, ("rules.no_match",), (RuleFired("rules", "no rule", "deny", detail),)
        )

    def accepted_between(self, source: str, destination: str) -> tuple[Rule, ...]:
        """Return the rules that could let `source` send anything to `destination`.

        What a sender denied by "rules.no_match" or "rules.legal_basis" needs to know: which
        message types, purposes and bases the rules accept for that pair of systems. Looked
        up from the side whose names (each system and its groups) head fewer rules.
        """
        sources, destinations = self._groups.expand(source), self._groups.expand(destination)
        heads = sum(len(self._from.get(name, ())) for name in sources)
        if heads <= sum(len(self._to.get(name, ())) for name in destinations):
            found = [
                rule
                for name in sources
                for rule in self._from.get(name, ())
                if rule.destination in destinations
            ]
        else:
            found = [
                rule
                for name in destinations
                for rule in self._to.get(name, ())
                if rule.source in sources
            ]
        return tuple(sorted(found, key=lambda rule: rule.line))

    def _groups_text(self, system_id: str) -> str:
        groups = sorted(self._groups.expand(system_id)[1:])
        return f"(groups: {', '.join(groups)})" if groups else "(no group)"


def _compile_model(text: str) -> tuple[tuple[Term, ...], tuple[Term, ...]]:
    """Read model.conf with Casbin, check its shape and compile matchers m and m2."""
    try:
        model = Model()
        model.load_model_from_text(text)
    except Exception as exc:  # casbin raises bare RuntimeError/KeyError on a bad model
        raise ConfigurationError(
            f"{MODEL_FILE} is invalid: {exc}", [Problem(MODEL_FILE, str(exc))]
        ) from exc
    problems = _check_model(model)
    compiled: list[tuple[Term, ...]] = []
    if not problems:
        for name in ("m", "m2"):
            expression = model["m"][name].value
            compiled.append(
                compile_matcher(name, expression, _REQUEST_TOKENS, _COMPARABLE, problems)
            )
    if problems:
        raise ConfigurationError(
            f"{MODEL_FILE} is invalid: " + "; ".join(problems),
            [Problem(MODEL_FILE, message) for message in problems],
        )
    return compiled[0], compiled[1]


def _check_model(model: Any) -> list[str]:
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
    return problems


def _reject_conflicts(rules: tuple[Rule, ...], groups: Groups) -> None:
    """Refuse rules that could both fit one exchange and grant other categories.

    Two rules sharing message, purpose and basis both fit some exchange iff their sources
    share a member and their destinations share one. Rather than compare every pair, each
    rule looks up the earlier rules of its bucket that name a source or destination sharing
    a member with its own: a handful, unless groups overlap widely.
    """
    buckets: dict[tuple[str, str, LegalBasis], list[Rule]] = defaultdict(list)
    for rule in rules:
        buckets[(rule.message_type, rule.purpose, rule.basis)].append(rule)
    overlapping: dict[str, frozenset[str]] = {}

    def overlap(name: str) -> frozenset[str]:
        """Return the names whose members meet this name's: its members and their groups."""
        found = overlapping.get(name)
        if found is None:
            found = frozenset(n for m in groups.members(name) for n in groups.expand(m))
            overlapping[name] = found
        return found

    conflicts: list[tuple[int, int]] = []
    for bucket in buckets.values():
        # The common case: one message, purpose and basis grants the same data everywhere.
        if len({rule.categories for rule in bucket}) > 1:
            conflicts.extend(_conflicts_in(bucket, overlap))
    if conflicts:
        problems = [
            Problem(
                f"{POLICY_FILE}:{line}",
                f"overlaps line {earlier} (same message, purpose and basis for a shared "
                "source and destination) but grants other categories",
            )
            for line, earlier in sorted(conflicts)
        ]
        listed = "; ".join(f"{p.location}: {p.message}" for p in problems)
        raise ConfigurationError(f"{POLICY_FILE} has conflicting rules: {listed}", problems)


def _conflicts_in(
    bucket: list[Rule], overlap: Callable[[str], frozenset[str]]
) -> Iterator[tuple[int, int]]:
    """Yield (line, earlier line) for rules of one bucket that overlap and grant otherwise."""
    granted: dict[tuple[str, str], dict[frozenset[DataCategory], list[int]]] = {}
    by_source: dict[str, set[str]] = defaultdict(set)
    by_destination: dict[str, set[str]] = defaultdict(set)
    for rule in bucket:
        sources = [s for s in overlap(rule.source) if s in by_source]
        destinations = [d for d in overlap(rule.destination) if d in by_destination]
        if sources and destinations:
            pairs = _overlapping_pairs(sources, destinations, by_source, by_destination)
        else:
            pairs = []  # the common case: no earlier rule names a source overlapping this one
        for pair in pairs:
            for categories, lines in granted[pair].items():
                if categories != rule.categories:
                    yield from ((rule.line, line) for line in lines)
        granted.setdefault((rule.source, rule.destination), {}).setdefault(
            rule.categories, []
        ).append(rule.line)
        by_source[rule.source].add(rule.destination)
        by_destination[rule.destination].add(rule.source)


def _overlapping_pairs(
    sources: list[str],
    destinations: list[str],
    by_source: dict[str, set[str]],
    by_destination: dict[str, set[str]],
) -> list[tuple[str, str]]:
    """Return the (source, destination) pairs named by earlier rules among these names.

    Walked from the side that names fewer earlier rules: a system's own few, never the
    thousands a big group may have.
    """
    if sum(len(by_source[s]) for s in sources) <= sum(len(by_destination[d]) for d in destinations):
        wanted = set(destinations)
        return [(s, d) for s in sources for d in by_source[s] if d in wanted]
    wanted = set(sources)
    return [(s, d) for d in destinations for s in by_destination[d] if s in wanted]
