"""The compiled matchers, the group closures and the conflict check behind the rule set."""

from __future__ import annotations

import random
from itertools import combinations

import casbin
import pytest

from gateway.canonical import DataCategory, Envelope, LegalBasis
from gateway.errors import ConfigurationError
from gateway.policy import PolicyFiles, Rule, RuleSet
from gateway.policy.groups import CASBIN_DEPTH
from gateway.policy.loader import Grouping, parse_policy
from gateway.policy.matcher import Term, compile_matcher
from tests.policy.factories import shipped

MODEL = shipped("model.conf").decode()
M = "m = g(r.src, p.src) && g(r.dst, p.dst) && r.msg == p.msg && r.purpose == p.purpose"
R_TOKENS = ["r_src", "r_dst", "r_msg", "r_purpose", "r_basis"]
P_TOKENS = ["p_src", "p_dst", "p_msg", "p_purpose", "p_basis"]  # what may be compared
NOTIFY = "birth-notification, birth-registration"


def load(text: str, model: str = MODEL) -> RuleSet:
    rules, groupings = parse_policy(text)
    return RuleSet(PolicyFiles(model, rules, groupings, version="test"))


def with_matcher(matcher: str) -> str:
    """Return the shipped model with `m` replaced."""
    line = next(line for line in MODEL.splitlines() if line.startswith("m = "))
    return MODEL.replace(line, matcher)


def envelope(
    source: str = "unhcr-progres",
    destination: str = "crvs-national",
    message_type: str = "birth-notification",
    purpose: str = "birth-registration",
    basis: LegalBasis = LegalBasis.CONSENT,
) -> Envelope:
    return Envelope(
        source=source,
        destination=destination,
        message_type=message_type,
        purpose=purpose,
        legal_basis=basis,
        idempotency_key="rule-index-1",
    )


def compiled(expression: str) -> tuple[tuple[Term, ...], list[str]]:
    found: list[str] = []
    return compile_matcher("m", expression, R_TOKENS, P_TOKENS, found), found


# The compiler


def test_the_shipped_matcher_compiles_to_five_terms() -> None:
    terms, found = compiled(
        "g(r_src, p_src) && g(r_dst, p_dst) && r_msg == p_msg && r_purpose == p_purpose "
        "&& r_basis == p_basis"
    )

    assert found == []
    assert terms == (
        Term(True, 0, 0),
        Term(True, 1, 1),
        Term(False, 2, 2),
        Term(False, 3, 3),
        Term(False, 4, 4),
    )


def test_terms_in_any_order_either_side_of_equals_and_without_spaces() -> None:
    terms, found = compiled("p_basis==r_basis&&r_msg  ==  p_msg && g( r_dst ,p_dst )")

    assert found == []
    assert terms == (Term(False, 4, 4), Term(False, 2, 2), Term(True, 1, 1))


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("g(r_src, p_src) || r_msg == p_msg", "'g(r.src, p.src) || r.msg == p.msg'"),
        ("g(r_src, p_src) && !(r_msg == p_msg)", "'!(r.msg == p.msg)'"),
        ("keyMatch(r_msg, p_msg)", "'keyMatch(r.msg, p.msg)'"),
        ('r_msg == "birth-notification"', "'r.msg == \"birth-notification\"'"),
        ("g(p_src, r_src)", "'g(p.src, r.src)'"),
        ("r_src == r_dst", "'r.src == r.dst'"),
        ("(g(r_src, p_src) && r_msg == p_msg)", "'(g(r.src, p.src)'"),
        ("g(r_src, p_src) && ", "'(empty)'"),
        ("g2(r_src, p_src)", "'g2(r.src, p.src)'"),
        ("r_msg != p_msg", "'r.msg != p.msg'"),
    ],
)
def test_any_other_term_is_refused_by_name(expression, named) -> None:
    _, found = compiled(expression)

    assert named in found[0]
    assert all("g(r.X, p.Y) or r.X == p.Y joined by &&" in problem for problem in found)


def test_an_unknown_field_or_the_categories_are_named() -> None:
    _, found = compiled("g(r_src, p_src) && r_country == p_msg && r_purpose == p_categories")

    assert found == [
        "matcher m: r.country is not one of r.src, r.dst, r.msg, r.purpose, r.basis",
        "matcher m: p.categories is not one of p.src, p.dst, p.msg, p.purpose, p.basis",
    ]


def test_a_refused_matcher_fails_the_load_naming_model_conf(tmp_path) -> None:
    model = with_matcher("m = g(r.src, p.src) && (r.msg == p.msg || r.purpose == p.purpose)")

    with pytest.raises(ConfigurationError) as caught:
        load("", model)

    assert [p.location for p in caught.value.problems] == ["model.conf"]
    assert "(r.msg == p.msg || r.purpose == p.purpose)" in str(caught.value)


def test_a_matcher_without_the_purpose_term_ignores_the_purpose() -> None:
    rules = load(
        f"p, unhcr-progres, crvs-national, {NOTIFY}, consent, birth\n",
        with_matcher(f"{M.replace(' && r.purpose == p.purpose', '')} && r.basis == p.basis"),
    )

    match = rules.match(envelope(purpose="resettlement"))

    assert match.rule is not None and match.rule.line == 1


def test_a_matcher_comparing_exact_names_ignores_groups() -> None:
    text = "\n".join(
        [
            f"p, registration-authority, crvs-national, {NOTIFY}, consent, birth",
            f"p, unhcr-progres, crvs-national, {NOTIFY}, consent, birth",
            "g, unhcr-progres, registration-authority",
        ]
    )
    exact = load(
        text,
        with_matcher(f"{M.replace('g(r.src, p.src)', 'r.src == p.src')} && r.basis == p.basis"),
    )

    assert [load(text).match(envelope()).rule.line] == [1]  # type: ignore[union-attr]
    assert [exact.match(envelope()).rule.line] == [2]  # type: ignore[union-attr]
    explained = exact.match(envelope(basis=LegalBasis.PUBLIC_INTEREST))
    assert explained.reasons == ("rules.legal_basis",)  # the shipped m2 still sees the group
    assert explained.trace[0].rule.startswith("p, registration-authority")


# The first rule in file order


def test_the_first_fitting_rule_in_the_file_is_the_answer() -> None:
    text = "\n".join(
        [
            "g, unhcr-progres, registration-authority",
            f"p, registration-authority, civil-registry, {NOTIFY}, consent, birth|identity",
            f"p, unhcr-progres, crvs-national, {NOTIFY}, consent, identity|birth",
            "g, crvs-national, civil-registry",
        ]
    )

    match = load(text).match(envelope())

    assert match.rule is not None and match.rule.line == 2


# Groups: closures, cycles, depth


def test_groups_in_a_cycle_are_found_and_the_walk_ends() -> None:
    text = "\n".join(
        [
            f"p, registries, crvs-national, {NOTIFY}, consent, birth",
            "g, unhcr-progres, agencies",
            "g, agencies, registries",
            "g, registries, agencies",
        ]
    )
    rules = load(text)

    assert rules.groups_of("unhcr-progres") == {"agencies", "registries"}
    assert rules.groups_of("agencies") == {"registries"}
    assert rules.match(envelope()).rule is not None
    assert rules.match(envelope(source="crvs-national")).reasons == ("rules.no_match",)


def chain(depth: int) -> str:
    """Return a policy whose only rule names the group `depth` g lines above unhcr-progres."""
    names = ["unhcr-progres", *(f"level-{n}" for n in range(1, depth + 1))]
    links = [f"g, {member}, {group}" for member, group in zip(names, names[1:], strict=False)]
    return "\n".join([f"p, {names[-1]}, crvs-national, {NOTIFY}, consent, birth", *links]) + "\n"


def test_groups_as_deep_as_casbin_follows_fit_as_casbin_says(tmp_path) -> None:
    text = chain(CASBIN_DEPTH)
    (tmp_path / "model.conf").write_text(MODEL)
    (tmp_path / "default.csv").write_text(text)
    enforcer = casbin.Enforcer(str(tmp_path / "model.conf"), str(tmp_path / "default.csv"))

    request = ("unhcr-progres", "crvs-national", "birth-notification", "birth-registration")
    assert enforcer.enforce(*request, "consent")
    assert load(text).match(envelope()).rule is not None


def test_groups_deeper_than_casbin_follows_are_refused(tmp_path) -> None:
    text = chain(CASBIN_DEPTH + 1)
    (tmp_path / "model.conf").write_text(MODEL)
    (tmp_path / "default.csv").write_text(text)
    enforcer = casbin.Enforcer(str(tmp_path / "model.conf"), str(tmp_path / "default.csv"))
    request = ("unhcr-progres", "crvs-national", "birth-notification", "birth-registration")
    assert not enforcer.enforce(*request, "consent")  # Casbin would deny, silently

    with pytest.raises(ConfigurationError) as caught:
        load(text)

    assert [p.location for p in caught.value.problems] == ["default.csv:2"]
    assert "unhcr-progres belongs to level-10" in caught.value.problems[0].message


# What the rules accept between two systems


def test_accepted_between_looks_through_groups_in_file_order() -> None:
    text = "\n".join(
        [
            f"p, registration-authority, civil-registry, {NOTIFY}, consent, birth",
            "p, crvs-national, unhcr-progres, birth-registration-confirmation, "
            "birth-registration, public-interest, birth",
            f"p, unhcr-progres, crvs-national, {NOTIFY}, legal-obligation, birth",
            f"p, registration-authority, other-registry, {NOTIFY}, consent, birth",
            "g, unhcr-progres, registration-authority",
            "g, crvs-national, civil-registry",
        ]
    )
    rules = load(text)

    assert [r.line for r in rules.accepted_between("unhcr-progres", "crvs-national")] == [1, 3]
    assert [r.line for r in rules.accepted_between("crvs-national", "unhcr-progres")] == [2]
    assert rules.accepted_between("unhcr-progres", "nobody") == ()


# The conflict check at scale


def many_rules(count: int) -> tuple[list[Rule], list[Grouping]]:
    """Rules between 2,000 systems in 100 groups, four kinds of data by message."""
    kinds = [
        frozenset({DataCategory.BIRTH}),
        frozenset({DataCategory.BIRTH, DataCategory.IDENTITY}),
        frozenset({DataCategory.FAMILY}),
        frozenset({DataCategory.IDENTIFIERS, DataCategory.BIRTH}),
    ]
    rules = [
        Rule(
            line=n + 1,
            source=f"sys-{n % 2000}",
            destination=f"sys-{(n * 7 + 1) % 2000}",
            message_type=f"msg-{n % 50}",
            purpose=f"purpose-{n % 3}",
            basis=LegalBasis.CONSENT,
            categories=kinds[(n % 2000 + (n * 7 + 1) % 2000) % 4],
        )
        for n in range(count)
    ]
    groupings = [Grouping(count + n + 1, f"sys-{n}", f"group-{n % 100}") for n in range(2000)]
    return rules, groupings


def test_100000_rules_load_and_a_conflict_through_groups_is_found_far_apart() -> None:
    rules, groupings = many_rules(100_000)
    first = rules[2]
    # A rule for the groups of an early rule's systems, late in the file, granting more.
    planted = Rule(
        len(rules) + len(groupings) + 1,
        "group-" + str(int(first.source.split("-")[1]) % 100),
        "group-" + str(int(first.destination.split("-")[1]) % 100),
        first.message_type,
        first.purpose,
        first.basis,
        first.categories | {DataCategory.SPECIFIC_NEEDS},
    )
    policy = PolicyFiles(MODEL, tuple(rules), tuple(groupings), version="many")
    assert len(RuleSet(policy).rules) == 100_000

    with pytest.raises(ConfigurationError) as caught:
        RuleSet(PolicyFiles(MODEL, (*rules, planted), tuple(groupings), version="conflict"))

    overlapped = {int(p.message.split()[2]) for p in caught.value.problems}
    assert {p.location for p in caught.value.problems} == {f"default.csv:{planted.line}"}
    assert first.line in overlapped
    sources = {r.source for r in rules if r.line in overlapped}
    assert all(int(s.split("-")[1]) % 100 == int(planted.source.split("-")[1]) for s in sources)


def pairwise_conflicts(rules: list[Rule], groupings: list[Grouping]) -> list[tuple[int, int]]:
    """The check as it was: every pair of rules compared, members walked without limit."""

    def members(name: str) -> set[str]:
        found, frontier = {name}, [name]
        while frontier:
            frontier = [g.member for g in groupings if g.group in frontier]
            frontier = [m for m in frontier if m not in found]
            found.update(frontier)
        return found

    def bucket(rule: Rule) -> tuple[str, str, LegalBasis]:
        return (rule.message_type, rule.purpose, rule.basis)

    return sorted(
        (second.line, first.line)
        for first, second in combinations(rules, 2)
        if bucket(first) == bucket(second)
        and first.categories != second.categories
        and members(first.source) & members(second.source)
        and members(first.destination) & members(second.destination)
    )


@pytest.mark.parametrize("seed", range(300))
def test_the_conflicts_found_are_those_of_comparing_every_pair(seed) -> None:
    rng = random.Random(seed)
    names = [f"sys-{n}" for n in range(6)] + [f"grp-{n}" for n in range(3)]
    groupings = [
        Grouping(100 + n, member, group)
        for n, (member, group) in enumerate(
            (rng.choice(names[:6] + names[6:8]), rng.choice(names[6:])) for _ in range(6)
        )
        if member != group
    ]
    kinds = [frozenset({DataCategory.BIRTH}), frozenset({DataCategory.FAMILY})]
    rules = [
        Rule(
            n + 1,
            rng.choice(names),
            rng.choice(names),
            rng.choice(["msg-a", "msg-b"]),
            "purpose",
            rng.choice([LegalBasis.CONSENT, LegalBasis.CONTRACT]),
            rng.choice(kinds),
        )
        for n in range(12)
    ]
    expected = pairwise_conflicts(rules, groupings)
    policy = PolicyFiles(MODEL, tuple(rules), tuple(groupings), version="pairs")

    if not expected:
        assert len(RuleSet(policy).rules) == 12
        return
    with pytest.raises(ConfigurationError) as caught:
        RuleSet(policy)
    found = [
        (int(p.location.split(":")[1]), int(p.message.split()[2])) for p in caught.value.problems
    ]
    assert found == expected
