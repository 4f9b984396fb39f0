"""The compiled rule set against pycasbin's own answers, on random policies and requests.

pycasbin reads the same model.conf and default.csv with its file adapter and decides each
request with `enforce_ex` (matcher m), then with m2 for a denial, exactly as the rule set
did before it was compiled. Every answer must be the same: allow or deny, the same rule row,
and for a denial the same "rules.legal_basis" rule or none. Seeds are fixed: a failure names
its seed and request and happens again.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import casbin
import pytest
from casbin.core_enforcer import EnforceContext

from gateway.canonical import Envelope, LegalBasis
from gateway.policy import PolicyFiles, RuleSet
from gateway.policy.loader import parse_policy
from tests.policy.factories import shipped

BASES = [LegalBasis.CONSENT, LegalBasis.PUBLIC_INTEREST, LegalBasis.LEGAL_OBLIGATION]
CATEGORIES = ["identity", "birth", "family", "identifiers", "nationality"]
# The second matcher, as the rule set asked Casbin for it before it was compiled.
IGNORING_BASIS = EnforceContext(rtype="r", ptype="p", etype="e", mtype="m2")
MODEL = shipped("model.conf").decode()


@dataclass(frozen=True)
class Shape:
    """How big a random policy is."""

    rules: int
    systems: int
    groups: int
    messages: int = 3
    purposes: int = 2


@dataclass
class RandomPolicy:
    text: str
    rows: dict[int, list[str]]  # line -> the p line's fields as written, as Casbin holds them
    rules: list[list[str]]
    links: list[tuple[str, str]]  # (member, group)
    names: list[str]
    messages: list[str]
    purposes: list[str]

    def members(self, name: str) -> list[str]:
        """Return the name and every name that belongs to it, directly or not."""
        found = {name}
        frontier = [name]
        while frontier:
            frontier = [m for m, g in self.links if g in frontier and m not in found]
            found.update(frontier)
        return sorted(found)


def random_policy(rng: random.Random, shape: Shape) -> RandomPolicy:
    """Write a policy: nested groups (a cycle now and then), rules naming systems or groups,
    some rules repeated later in the file with their categories reordered."""
    systems = [f"sys-{n}" for n in range(shape.systems)]
    groups = [f"grp-{n}" for n in range(shape.groups)]
    messages = [f"msg-{n}" for n in range(shape.messages)]
    purposes = [f"purpose-{n}" for n in range(shape.purposes)]
    lines = ["# a random policy"]
    links: list[tuple[str, str]] = []
    for system in systems:
        links += [
            (system, group)
            for group in rng.sample(groups, min(len(groups), rng.choice([0, 1, 1, 2, 3])))
        ]
    for n, group in enumerate(groups):
        # Three layers, each group in up to two of a higher one: well within Casbin's 9 levels.
        above = groups[max(n + 1, (n * 3 // len(groups) + 1) * len(groups) // 3) :]
        links += [
            (group, parent) for parent in rng.sample(above, min(len(above), rng.randint(0, 2)))
        ]
    if len(groups) > 2 and rng.random() < 0.3:
        links.append((groups[-1], groups[0]))  # a cycle
    # One set of categories per message, purpose and basis: such rules never conflict.
    granted = {
        (m, p, b): rng.sample(CATEGORIES, rng.randint(1, 3))
        for m in messages
        for p in purposes
        for b in BASES
    }
    # Drawn a column at a time: 100,000 rules are written in a fraction of a second.
    names = systems + groups
    weights = [0.6 / len(systems)] * len(systems) + [0.4 / len(groups)] * len(groups)
    ends = rng.choices(names, weights, k=2 * shape.rules)
    keys = rng.choices(list(granted), k=shape.rules)
    rules: list[list[str]] = []
    for n, (message, purpose, basis) in enumerate(keys):
        if n and rng.random() < 0.1:  # a rule again, its categories in another order
            again = list(rules[rng.randrange(n)])
            again[5] = "|".join(rng.sample(again[5].split("|"), again[5].count("|") + 1))
            rules.append(again)
        else:
            granting = "|".join(granted[(message, purpose, basis)])
            rules.append([ends[2 * n], ends[2 * n + 1], message, purpose, basis.value, granting])
    body = [("p", rule) for rule in rules] + [("g", list(link)) for link in links]
    rng.shuffle(body)
    rows: dict[int, list[str]] = {}
    for kind, fields in body:
        lines.append(f"{kind}, " + ", ".join(fields))
        if kind == "p":
            rows[len(lines)] = fields
    return RandomPolicy(
        "\n".join(lines) + "\n", rows, rules, links, systems + groups, messages, purposes
    )


def random_requests(
    rng: random.Random, policy: RandomPolicy, count: int
) -> Iterator[tuple[str, str, str, str, LegalBasis]]:
    """Yield hits, near misses, wrong bases, unknown systems and requests at random."""
    for n in range(count):
        rule = rng.choice(policy.rules)
        source = rng.choice(policy.members(rule[0]))
        destination = rng.choice(policy.members(rule[1]))
        message, purpose, basis = rule[2], rule[3], LegalBasis(rule[4])
        kind = n % 8
        if kind == 2:
            basis = rng.choice(BASES)
        elif kind == 3:
            message = rng.choice(policy.messages)
        elif kind == 4:
            purpose = rng.choice([*policy.purposes, "purpose-unknown"])
        elif kind == 5:
            source, destination = destination, source
        elif kind == 6:
            source = rng.choice([f"sys-unknown-{n}", source])
            destination = rng.choice([f"sys-unknown-{n}", rng.choice(policy.names)])
        elif kind == 7:
            source, destination = rng.choice(policy.names), rng.choice(policy.names)
            message, purpose = rng.choice(policy.messages), rng.choice(policy.purposes)
            basis = rng.choice(list(LegalBasis))
        yield source, destination, message, purpose, basis


def both(tmp_path: Path, text: str, model: str = MODEL) -> tuple[RuleSet, casbin.Enforcer]:
    """Load one policy text into the rule set and, from files, into pycasbin."""
    (tmp_path / "model.conf").write_text(model)
    (tmp_path / "default.csv").write_text(text)
    rules, groupings = parse_policy(text)
    rule_set = RuleSet(PolicyFiles(model, rules, groupings, version="differential"))
    enforcer = casbin.Enforcer(str(tmp_path / "model.conf"), str(tmp_path / "default.csv"))
    return rule_set, enforcer


def canonical(row: list[str]) -> str:
    """Return a Casbin row as the rule set's traces write it (categories in their order)."""
    (rule,), _ = parse_policy("p, " + ", ".join(row))
    return rule.text


def assert_same_answers(
    rule_set: RuleSet,
    enforcer: casbin.Enforcer,
    policy: RandomPolicy,
    requests: Iterator[tuple[str, str, str, str, LegalBasis]],
) -> dict[str, int]:
    """Compare each request's answer; return how many of each outcome there were."""
    seen = {"allowed": 0, "rules.legal_basis": 0, "rules.no_match": 0}
    for n, (source, destination, message, purpose, basis) in enumerate(requests):
        request = (source, destination, message, purpose, basis.value)
        envelope = Envelope(
            source=source,
            destination=destination,
            message_type=message,
            purpose=purpose,
            legal_basis=basis,
            idempotency_key=f"differential-{n}",
        )
        ours = rule_set.match(envelope)
        allowed, row = enforcer.enforce_ex(*request)
        if allowed:
            assert ours.rule is not None, request
            assert policy.rows[ours.rule.line] == row, request
            assert ours.reasons == ()
            seen["allowed"] += 1
            continue
        assert ours.rule is None, request
        explained, row = enforcer.enforce_ex(IGNORING_BASIS, *request)
        if explained:
            assert ours.reasons == ("rules.legal_basis",), request
            assert ours.trace[0].rule == canonical(row), request
        else:
            assert ours.reasons == ("rules.no_match",), request
        seen[ours.reasons[0]] += 1
    return seen


SHAPES = [
    Shape(rules=4, systems=3, groups=1),
    Shape(rules=12, systems=6, groups=3),
    Shape(rules=25, systems=10, groups=4),
    Shape(rules=40, systems=20, groups=6, messages=4, purposes=3),
]


@pytest.mark.parametrize("seed", range(40))
def test_every_answer_is_pycasbins_on_small_random_policies(tmp_path, seed) -> None:
    """40 policies, 250 requests each: 10,000 requests compared."""
    rng = random.Random(seed)
    policy = random_policy(rng, SHAPES[seed % len(SHAPES)])
    rule_set, enforcer = both(tmp_path, policy.text)

    seen = assert_same_answers(rule_set, enforcer, policy, random_requests(rng, policy, 250))

    assert sum(seen.values()) == 250
    assert seen["allowed"] > 0 and seen["rules.no_match"] > 0


def test_the_mix_of_answers_covers_every_outcome(tmp_path) -> None:
    rng = random.Random(1000)
    policy = random_policy(rng, SHAPES[2])
    rule_set, enforcer = both(tmp_path, policy.text)

    seen = assert_same_answers(rule_set, enforcer, policy, random_requests(rng, policy, 400))

    assert all(count >= 20 for count in seen.values()), seen


EDITED = [
    "r.basis == p.basis && r.msg == p.msg && g(r.dst, p.dst) && g(r.src, p.src) "
    "&& p.purpose == r.purpose",
    "g(r.src, p.src) && g(r.dst, p.dst) && r.msg == p.msg && r.basis == p.basis",
    "r.src == p.src && g(r.dst, p.dst) && r.msg == p.msg && r.purpose == p.purpose "
    "&& r.basis == p.basis",
    "r.basis == p.basis && r.msg == p.msg",
]


@pytest.mark.parametrize("matcher", EDITED)
def test_every_answer_is_pycasbins_under_edited_matchers(tmp_path, matcher) -> None:
    """Reordered, dropped or exact terms: the index follows the matcher, not a fixed shape.
    (Each keeps the basis: a matcher without it is overruled on purpose, see RuleSet.)"""
    line = next(line for line in MODEL.splitlines() if line.startswith("m = "))
    rng = random.Random(EDITED.index(matcher))
    policy = random_policy(rng, SHAPES[2])
    rule_set, enforcer = both(tmp_path, policy.text, MODEL.replace(line, f"m = {matcher}"))

    seen = assert_same_answers(rule_set, enforcer, policy, random_requests(rng, policy, 250))

    assert seen["allowed"] > 0


def test_every_answer_is_pycasbins_at_100000_rules(tmp_path) -> None:
    """pycasbin scans the rules for each answer, a second or more here: two requests, each
    needing the whole file (a hit on the last rule, and the same under another basis)."""
    rng = random.Random(100_000)
    shape = Shape(rules=100_000, systems=3000, groups=300, messages=20, purposes=10)
    policy = random_policy(rng, shape)
    rule_set, enforcer = both(tmp_path, policy.text)
    source, destination, message, purpose, basis, _ = policy.rows[max(policy.rows)]
    other = next(b for b in BASES if b.value != basis)
    requests = [
        (source, destination, message, purpose, LegalBasis(basis)),
        (source, destination, message, purpose, other),
    ]

    seen = assert_same_answers(rule_set, enforcer, policy, iter(requests))

    assert seen["allowed"] >= 1
