"""Loading the Casbin model and policy: shipped files, versions, broken files."""

import re

import pytest

from gateway.canonical import DataCategory, LegalBasis
from gateway.errors import ConfigurationError
from gateway.policy import PolicyEngine, RuleSet, policy_version, read_policy
from tests.policy.factories import CONFIRMATION_RULE, NOTIFICATION_RULE, policy_dir, shipped

NOTIFY = "p, registration-authority, civil-registry, birth-notification, birth-registration"


def test_shipped_policy_loads_with_its_rules_and_groups() -> None:
    rules = RuleSet.load()

    assert [r.text for r in rules.rules][:2] == [NOTIFICATION_RULE, CONFIRMATION_RULE]
    assert rules.rules[0].basis is LegalBasis.CONSENT
    assert rules.rules[1].categories == {DataCategory.IDENTIFIERS, DataCategory.BIRTH}
    assert rules.groups_of("unhcr-progres") == {"registration-authority", "asylum-authority"}
    assert rules.groups_of("crvs-national") == {"civil-registry"}
    assert rules.groups_of("embassy-syr") == {"civil-registry"}
    assert rules.groups_of("nobody") == frozenset()


def test_version_is_a_short_sha256_and_stable_across_loads(tmp_path) -> None:
    version = RuleSet.load().version

    assert re.fullmatch(r"sha256:[0-9a-f]{16}", version)
    assert RuleSet.load().version == version
    assert PolicyEngine(policy_dir(tmp_path)).version == version
    assert version == policy_version(
        shipped("model.conf"), shipped("default.csv"), shipped("agreements.toml")
    )


def test_version_changes_when_the_policy_bytes_change(tmp_path) -> None:
    version = RuleSet.load().version
    comment_added = shipped("default.csv") + b"# one more comment\n"

    assert RuleSet.load(policy_dir(tmp_path / "a", comment_added)).version != version
    model = shipped("model.conf").decode() + "\n# note\n"
    assert RuleSet.load(policy_dir(tmp_path / "b", model=model)).version != version
    agreements = shipped("agreements.toml").decode() + "\n# note\n"
    assert RuleSet.load(policy_dir(tmp_path / "c", agreements=agreements)).version != version


def test_version_does_not_confuse_model_and_policy_bytes() -> None:
    assert policy_version(b"ab", b"c", b"") != policy_version(b"a", b"bc", b"")
    assert policy_version(b"a", b"bc", b"") != policy_version(b"a", b"b", b"c")


def test_comments_and_blank_lines_are_ignored(tmp_path) -> None:
    text = f"# heading\n\n   # indented comment\n{NOTIFY}, consent, birth\n\n"

    rules = RuleSet.load(policy_dir(tmp_path, text))

    assert [r.line for r in rules.rules] == [4]


def test_every_bad_line_is_listed(tmp_path) -> None:
    text = "\n".join(
        [
            "# a comment",
            f"{NOTIFY}, consent, identity|birth",  # 2: fine
            "p, registration-authority, civil-registry, birth-notification",  # 3: too short
            f"{NOTIFY}, consent, identity|passport",  # 4: unknown category
            f"{NOTIFY}, because-we-can, birth",  # 5: unknown legal basis
            f"{NOTIFY}, consent, ",  # 6: empty categories
            "g, crvs-national",  # 7: g too short
            "x, crvs-national, civil-registry",  # 8: unknown line type
            "g, Embassy SYR, civil-registry",  # 9: not a name
            f"{NOTIFY}, consent, birth # inline comment",  # 10: no inline comments
        ]
    )

    with pytest.raises(ConfigurationError) as caught:
        RuleSet.load(policy_dir(tmp_path, text))

    lines = sorted({int(p.location.rsplit(":", 1)[1]) for p in caught.value.problems})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
    message = str(caught.value)
    for expected in ("passport", "because-we-can", "unknown line type", "default.csv:9"):
        assert expected in message


def test_one_line_with_two_problems_lists_both(tmp_path) -> None:
    text = f"{NOTIFY}, maybe, identity|rumours\n"

    with pytest.raises(ConfigurationError) as caught:
        RuleSet.load(policy_dir(tmp_path, text))

    assert [p.location for p in caught.value.problems] == ["default.csv:1", "default.csv:1"]


def test_missing_files_are_a_configuration_error(tmp_path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RuleSet.load(tmp_path)

    assert {p.location for p in caught.value.problems} == {
        "model.conf",
        "default.csv",
        "agreements.toml",
    }


def test_a_model_whose_effect_could_allow_by_default_is_refused(tmp_path) -> None:
    model = shipped("model.conf").decode()
    unsafe = model.replace("some(where (p.eft == allow))", "!some(where (p.eft == deny))")
    assert unsafe != model

    with pytest.raises(ConfigurationError, match="effect"):
        RuleSet.load(policy_dir(tmp_path, model=unsafe))


def test_a_model_of_another_shape_is_refused(tmp_path) -> None:
    model = shipped("model.conf").decode().replace("r = src, dst, msg, purpose, basis", "r = a, b")

    with pytest.raises(ConfigurationError, match="request"):
        RuleSet.load(policy_dir(tmp_path, model=model))


def test_rules_that_could_both_apply_with_other_categories_are_refused(tmp_path) -> None:
    # crvs-national is in both groups, so both rules would fit unhcr-progres -> crvs-national.
    text = "\n".join(
        [
            f"{NOTIFY}, consent, identity|birth",
            "p, registration-authority, trusted-registry, birth-notification, "
            "birth-registration, consent, identity|family|birth",
            "g, unhcr-progres, registration-authority",
            "g, crvs-national, civil-registry",
            "g, crvs-national, trusted-registry",
        ]
    )

    with pytest.raises(ConfigurationError) as caught:
        RuleSet.load(policy_dir(tmp_path, text))

    assert [p.location for p in caught.value.problems] == ["default.csv:2"]
    assert "line 1" in caught.value.problems[0].message


def test_rules_that_differ_only_by_basis_or_never_overlap_are_fine(tmp_path) -> None:
    text = "\n".join(
        [
            f"{NOTIFY}, consent, identity|birth",
            f"{NOTIFY}, legal-obligation, birth",
            "p, registration-authority, other-registry, birth-notification, "
            "birth-registration, consent, identity|family|birth",
            f"{NOTIFY}, consent, identity|birth",  # an exact duplicate says the same thing
            "g, crvs-national, civil-registry",
            "g, crvs-abroad, other-registry",
        ]
    )

    assert len(RuleSet.load(policy_dir(tmp_path, text)).rules) == 4


def test_read_policy_reports_the_parsed_lines() -> None:
    policy = read_policy()

    assert [(g.member, g.group) for g in policy.groupings][:5] == [
        ("unhcr-progres", "registration-authority"),
        ("unhcr-progres", "asylum-authority"),
        ("crvs-national", "civil-registry"),
        ("embassy-syr", "civil-registry"),
        ("embassy-ssd", "civil-registry"),
    ]
    assert "[matchers]" in policy.model_text


def test_engine_load_is_the_constructor(tmp_path) -> None:
    assert PolicyEngine(policy_dir(tmp_path)).version == PolicyEngine().version


def test_a_matcher_the_index_cannot_follow_is_refused_naming_the_term(tmp_path) -> None:
    model = shipped("model.conf").decode()
    loose = model.replace(
        "r.purpose == p.purpose && r.basis", "keyMatch(r.purpose, p.purpose) && r.basis"
    )
    assert loose != model

    with pytest.raises(ConfigurationError) as caught:
        RuleSet.load(policy_dir(tmp_path, model=loose))

    assert [p.location for p in caught.value.problems] == ["model.conf"]
    assert "matcher m: 'keyMatch(r.purpose, p.purpose)' is not understood" in str(caught.value)


def test_every_conflict_is_listed_with_both_lines(tmp_path) -> None:
    # Line 3 names the group both earlier rules' systems belong to, and grants more.
    text = "\n".join(
        [
            f"{NOTIFY}, consent, identity|birth",
            "p, unhcr-progres, crvs-national, birth-notification, birth-registration, "
            "consent, identity|birth",
            "p, registration-authority, registries, birth-notification, "
            "birth-registration, consent, identity|family|birth",
            "g, unhcr-progres, registration-authority",
            "g, crvs-national, civil-registry",
            "g, civil-registry, registries",
        ]
    )

    with pytest.raises(ConfigurationError) as caught:
        RuleSet.load(policy_dir(tmp_path, text))

    assert [(p.location, p.message.split(" (")[0]) for p in caught.value.problems] == [
        ("default.csv:3", "overlaps line 1"),
        ("default.csv:3", "overlaps line 2"),
    ]


def test_groups_nested_deeper_than_casbin_follows_are_refused(tmp_path) -> None:
    names = ["crvs-national", *(f"level-{n}" for n in range(1, 12))]
    links = [f"g, {member}, {group}" for member, group in zip(names, names[1:], strict=False)]
    text = "\n".join([f"{NOTIFY}, consent, birth", *links])

    with pytest.raises(ConfigurationError, match="crvs-national belongs to level-10"):
        RuleSet.load(policy_dir(tmp_path, text))
