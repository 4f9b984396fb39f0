"""How fast the rule set decides and loads, at 10, 10,000 and 100,000 rules, next to pycasbin.

For each size, one random policy (5,000 systems in nested groups; rules naming systems or
groups; the shipped rules and groups too) is decided by `RuleSet.match`, first with requests
it has never seen (each request shape once: its cache never helps), then warm (500 shapes,
repeated); and by pycasbin's own `Enforcer.enforce_ex` on the same files, as the rule set
used it before it was compiled (matcher m, then m2 for a denial), for a few seconds at most.
Then the load of 100,000 rules, ours (read_policy, then RuleSet) next to pycasbin building
its Enforcer from the same files, and `PolicyEngine.decide` at 100,000 rules. Goals, printed,
not the exit status: >= 100,000 decisions/s at 100,000 rules, first sight; 100,000 rules
loaded in under a second.

Every figure is per second of this process's CPU time: the bench is single-threaded, and on
a machine shared with other work the wall clock measures the neighbours too. On an idle
machine the two agree.

Usage: python -m bench.policy [--sizes 10,10000,100000] [--requests N] [--casbin-seconds S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
import timeit
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import casbin
from casbin.core_enforcer import EnforceContext

from gateway.canonical import DataCategory, Envelope, LegalBasis
from gateway.policy import PolicyEngine, PolicyRequest, RuleSet, SubjectFacts, SystemInfo
from gateway.policy.loader import MODEL_FILE, POLICY_FILE, read_policy

DECISION_GOAL = 100_000  # decisions/s at 100,000 rules, first sight
LOAD_GOAL = 1.0  # seconds for 100,000 rules
BASES = [LegalBasis.CONSENT, LegalBasis.PUBLIC_INTEREST, LegalBasis.LEGAL_OBLIGATION]
CATEGORIES = ["identity", "birth", "family", "identifiers", "nationality"]
IGNORING_BASIS = EnforceContext(rtype="r", ptype="p", etype="e", mtype="m2")
Shape = tuple[str, str, str, str, LegalBasis]


def write_policy(
    directory: Path, count: int, rng: random.Random
) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Write the shipped policy files with `count` random rules added.

    Return those rules, and each group's member systems (directly or through a group).
    """
    for found in files("policies").iterdir():
        if found.is_file() and not found.name.endswith((".py", ".pyc", ".md")):
            (directory / found.name).write_bytes(found.read_bytes())
    systems = [f"sys-{n}" for n in range(5000)]
    groups = [f"grp-{n}" for n in range(50)]
    links = [(s, g) for s in systems for g in rng.sample(groups[:40], rng.randint(1, 2))]
    nested = [(g, rng.choice(groups[40:])) for g in groups[:40] if rng.random() < 0.5]
    members: dict[str, list[str]] = {}
    for system, group in links:
        members.setdefault(group, []).append(system)
    for group, above in nested:
        members.setdefault(above, []).extend(members.get(group, []))
    # One set of categories per message, purpose and basis: such rules never conflict.
    granted = {
        (f"msg-{m}", f"purpose-{p}", b.value): "|".join(rng.sample(CATEGORIES, 2))
        for m in range(20)
        for p in range(5)
        for b in BASES
    }
    keys = list(granted)
    rules = []
    for _ in range(count):
        ends = [rng.choice(systems) if rng.random() < 0.75 else rng.choice(groups) for _ in "sd"]
        key = rng.choice(keys)
        rules.append([*ends, *key, granted[key]])
    lines = [f"p, {', '.join(rule)}" for rule in rules]
    lines += [f"g, {member}, {group}" for member, group in links + nested]
    with (directory / POLICY_FILE).open("a") as policy:
        policy.write("\n" + "\n".join(lines) + "\n")
    return rules, members


def requests(
    rules: list[list[str]], members: dict[str, list[str]], count: int, rng: random.Random
) -> list[Shape]:
    """Return distinct request shapes: hits, other bases, near misses, unknown systems."""
    shapes: dict[Shape, None] = {}
    for _ in range(count * 20):
        if len(shapes) == count:
            break
        source, destination, message, purpose, basis, _ = rng.choice(rules)
        source, destination = (rng.choice(members.get(n, [n])) for n in (source, destination))
        roll = rng.random()
        chosen = LegalBasis(basis) if roll < 0.5 else rng.choice(BASES)
        if roll > 0.85:
            source = rng.choice([f"sys-{rng.randrange(5000)}", f"unknown-{rng.randrange(10**6)}"])
        shapes[(source, destination, message, purpose, chosen)] = None
    return list(shapes)


def rate(decide: Callable[[Envelope], object], envelopes: list[Envelope]) -> float:
    started = time.process_time()
    for envelope in envelopes:
        decide(envelope)
    return len(envelopes) / (time.process_time() - started)


def casbin_rate(
    enforcer: casbin.Enforcer, shapes: list[Shape], seconds: float
) -> tuple[float, int, list[bool]]:
    """Decide shapes as the rule set did with pycasbin, until `seconds` have passed."""
    answers = []
    started = time.process_time()
    for source, destination, message, purpose, basis in shapes:
        request = (source, destination, message, purpose, basis.value)
        allowed, _ = enforcer.enforce_ex(*request)
        if not allowed:
            enforcer.enforce_ex(IGNORING_BASIS, *request)
        answers.append(allowed)
        if time.process_time() - started > seconds:
            break
    return len(answers) / (time.process_time() - started), len(answers), answers


def envelope(shape: Shape, n: int) -> Envelope:
    source, destination, message, purpose, basis = shape
    return Envelope(
        source=source,
        destination=destination,
        message_type=message,
        purpose=purpose,
        legal_basis=basis,
        idempotency_key=f"bench-policy-{n}",
    )


def measure(size: int, count: int, casbin_seconds: float) -> None:
    rng = random.Random(size)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        rules, members = write_policy(directory, size, rng)
        rule_set = RuleSet.load(directory)
        shapes = requests(rules, members, count, rng)
        envelopes = [envelope(shape, n) for n, shape in enumerate(shapes)]
        cold = rate(rule_set.match, envelopes)
        outcomes = Counter(
            (rule_set.match(e).reasons or ("allowed",))[0] for e in envelopes
        )  # now warm
        warm_shapes = envelopes[:500]
        warm = rate(rule_set.match, (warm_shapes * (count // len(warm_shapes) + 1))[:count])
        enforcer = casbin.Enforcer(str(directory / MODEL_FILE), str(directory / POLICY_FILE))
        theirs, asked, answers = casbin_rate(enforcer, shapes, casbin_seconds)
        differ = sum(
            answer != (rule_set.match(e).rule is not None)
            for answer, e in zip(answers, envelopes, strict=False)
        )
    mix = "/".join(str(outcomes[k]) for k in ("allowed", "rules.legal_basis", "rules.no_match"))
    goal = ""
    if size >= 100_000:
        goal = f"  goal {DECISION_GOAL:,}/s: {'met' if cold >= DECISION_GOAL else 'short'}"
    print(
        f"{size:>9,} rules  ours first sight {cold:>9,.0f}/s  warm {warm:>9,.0f}/s  "
        f"pycasbin {theirs:>9,.1f}/s ({asked} asked, {differ} answers differ)  "
        f"first sight / pycasbin {cold / theirs:>9,.0f}x  "
        f"[{len(shapes):,} shapes allowed/legal_basis/no_match {mix}]{goal}"
    )


def measure_load(size: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        write_policy(directory, size, random.Random(size))
        started = time.process_time()
        policy = read_policy(directory)
        read = time.process_time() - started
        started = time.process_time()
        RuleSet(policy)
        built = time.process_time() - started
        started = time.process_time()
        casbin.Enforcer(str(directory / MODEL_FILE), str(directory / POLICY_FILE))
        theirs = time.process_time() - started
        started = time.process_time()
        engine = PolicyEngine(directory)
        whole = time.process_time() - started
        ours = read + built
        print(
            f"load {size:,} rules: read_policy {read:.2f} s + RuleSet {built:.2f} s = "
            f"{ours:.2f} s (goal < {LOAD_GOAL:.0f} s: {'met' if ours < LOAD_GOAL else 'short'}); "
            f"PolicyEngine {whole:.2f} s; pycasbin Enforcer {theirs:.2f} s"
        )
        measure_decide(engine, size)


def measure_decide(engine: PolicyEngine, size: int) -> None:
    """PolicyEngine.decide on the shipped confirmation (allowed): the whole engine's rate."""
    envelope = Envelope(
        source="crvs-national",
        destination="unhcr-progres",
        message_type="birth-registration-confirmation",
        purpose="birth-registration",
        legal_basis=LegalBasis.PUBLIC_INTEREST,
        idempotency_key="bench-policy-decide",
    )
    request = PolicyRequest(
        envelope=envelope,
        source=SystemInfo("crvs-national", "JOR"),
        destination=SystemInfo("unhcr-progres", "UNO"),
        subjects=(SubjectFacts("pseudo-1", None, frozenset({"SYR"})),),
        consents=(),
        payload_categories=frozenset({DataCategory.IDENTIFIERS, DataCategory.BIRTH}),
        host_jurisdiction="JOR",
        now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    decisions = 20_000
    started = time.process_time()
    for _ in range(decisions):
        decision = engine.decide(request)
    seconds = time.process_time() - started
    print(
        f"PolicyEngine.decide at {size:,} rules: {decisions / seconds:,.0f}/s "
        f"(the shipped confirmation, {'allowed' if decision.allowed else decision.reasons})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,10000,100000")
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--casbin-seconds", type=float, default=3.0)
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    # The same Python work on any machine: divide two runs' figures by it to compare them.
    unit = min(timeit.repeat("sum(range(1000))", number=1000, repeat=5))
    print(f"this machine: sum(range(1000)) in {unit * 1000:.1f} µs (CPU speed, for comparing runs)")
    for size in sizes:
        measure(size, arguments.requests, arguments.casbin_seconds)
    measure_load(max(sizes))


if __name__ == "__main__":
    main()
