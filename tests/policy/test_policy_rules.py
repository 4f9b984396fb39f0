"""The Casbin rule set: which rule fits, and under which legal basis."""

import pytest

from gateway.canonical import DataCategory, LegalBasis
from gateway.policy import PolicyEngine
from tests.policy.factories import (
    CONFIRMATION_RULE,
    NOTIFICATION_CATEGORIES,
    NOTIFICATION_RULE,
    OPEN_AGREEMENT,
    consent,
    policy_dir,
    request,
    shipped,
    subject,
)


def test_matched_rule_is_reported(engine) -> None:
    decision = engine.decide(request())

    assert decision.allowed
    assert decision.reasons == ("allowed",)
    assert decision.rule == NOTIFICATION_RULE
    assert decision.policy_version == engine.version
    assert [f.stage for f in decision.trace] == [
        "origin",
        "rules",
        "agreement",
        "consent",
        "default",
    ]
    assert decision.trace[1].rule == NOTIFICATION_RULE


def test_system_without_a_rule_is_denied(engine) -> None:
    decision = engine.decide(
        request(destination="immigration-x", subjects=[subject(risk=("SYR",))])
    )

    assert not decision.allowed
    assert decision.reasons == ("rules.no_match",)
    assert decision.rule is None
    assert decision.categories == frozenset()
    assert decision.trace[-1].stage == "default"
    assert decision.trace[-1].outcome == "deny"
    assert "immigration-x (no group)" in decision.trace[-2].detail


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": "resettlement"},
        {"message_type": "birth-registration-confirmation"},
        {"message_type": "death-notification"},
        # The rule runs from the registration authority to the civil registry, not back.
        {"source": "crvs-national", "destination": "unhcr-progres"},
    ],
)
def test_wrong_purpose_message_type_or_direction_is_denied(engine, change) -> None:
    decision = engine.decide(request(**change))

    assert decision.reasons == ("rules.no_match",)


def test_legal_basis_mismatch_is_denied(engine) -> None:
    decision = engine.decide(request(basis=LegalBasis.PUBLIC_INTEREST))

    assert decision.reasons == ("rules.legal_basis",)
    fired = decision.trace[1]
    assert (fired.stage, fired.outcome, fired.rule) == ("rules", "deny", NOTIFICATION_RULE)
    assert "allows basis consent" in fired.detail
    assert "declares public-interest" in fired.detail


def test_confirmation_back_to_unhcr_under_public_interest(engine) -> None:
    decision = engine.decide(
        request(
            source="crvs-national",
            destination="unhcr-progres",
            message_type="birth-registration-confirmation",
            basis=LegalBasis.PUBLIC_INTEREST,
            consents=[],
            payload=[DataCategory.IDENTIFIERS, DataCategory.BIRTH, DataCategory.IDENTITY],
        )
    )

    assert decision.allowed
    assert decision.rule == CONFIRMATION_RULE
    assert decision.categories == {DataCategory.IDENTIFIERS, DataCategory.BIRTH}


def test_the_envelopes_basis_picks_among_rules(tmp_path) -> None:
    head = "p, registration-authority, civil-registry, birth-notification, birth-registration"
    text = "\n".join(
        [
            f"{head}, consent, identity|family|birth",
            f"{head}, legal-obligation, identity|birth",
            "g, unhcr-progres, registration-authority",
            "g, crvs-national, civil-registry",
        ]
    )
    engine = PolicyEngine(policy_dir(tmp_path, text, agreements=OPEN_AGREEMENT))

    by_consent = engine.decide(request())
    by_law = engine.decide(request(basis=LegalBasis.LEGAL_OBLIGATION, consents=[]))
    by_contract = engine.decide(request(basis=LegalBasis.CONTRACT))

    assert by_consent.rule == f"{head}, consent, identity|family|birth"
    assert by_consent.categories == {DataCategory.IDENTITY, DataCategory.FAMILY, DataCategory.BIRTH}
    assert by_law.rule == f"{head}, legal-obligation, identity|birth"
    assert by_law.categories == {DataCategory.IDENTITY, DataCategory.BIRTH}
    assert by_contract.reasons == ("rules.legal_basis",)


def test_rules_can_name_a_system_directly_and_groups_nest(tmp_path) -> None:
    text = "\n".join(
        [
            "p, unhcr-progres, registries, birth-notification, birth-registration, consent, birth",
            "g, crvs-national, civil-registry",
            "g, civil-registry, registries",
        ]
    )
    engine = PolicyEngine(policy_dir(tmp_path, text, agreements=OPEN_AGREEMENT))

    assert engine.rules.groups_of("crvs-national") == {"civil-registry", "registries"}
    decision = engine.decide(request())
    assert decision.allowed
    assert decision.categories == {DataCategory.BIRTH}


def test_the_asylum_claim_never_goes_on_a_basis_other_than_consent(tmp_path) -> None:
    head = "p, unhcr-progres, crvs-national, birth-notification, birth-registration"
    policy = policy_dir(
        tmp_path, f"{head}, public-interest, identity|birth|protection\n", agreements=OPEN_AGREEMENT
    )
    everything = list(DataCategory)

    decision = PolicyEngine(policy).decide(
        request(basis=LegalBasis.PUBLIC_INTEREST, payload=everything)
    )

    assert decision.allowed
    assert decision.categories == {DataCategory.IDENTITY, DataCategory.BIRTH}
    assert any("asylum claim" in f.rule and f.outcome == "info" for f in decision.trace)


def test_the_asylum_claim_goes_only_with_consent_naming_it_and_waits_for_the_dpo(
    tmp_path,
) -> None:
    head = "p, unhcr-progres, crvs-national, birth-notification, birth-registration"
    policy = policy_dir(
        tmp_path, f"{head}, consent, identity|birth|protection\n", agreements=OPEN_AGREEMENT
    )
    engine = PolicyEngine(policy)
    payload = [DataCategory.IDENTITY, DataCategory.BIRTH, DataCategory.PROTECTION]

    named = engine.decide(request(payload=payload, consents=[consent(categories=payload)]))
    not_named = engine.decide(request(payload=payload, consents=[consent(categories=payload[:2])]))

    assert named.categories == set(payload)
    assert named.approval == "sensitive categories: protection"
    assert not_named.categories == set(payload[:2])
    assert not_named.approval is None


def test_a_rule_granting_only_protection_grants_nothing(tmp_path) -> None:
    head = "p, unhcr-progres, crvs-national, birth-notification, birth-registration"
    policy = policy_dir(
        tmp_path, f"{head}, public-interest, protection\n", agreements=OPEN_AGREEMENT
    )
    engine = PolicyEngine(policy)

    decision = engine.decide(request(basis=LegalBasis.PUBLIC_INTEREST, payload=list(DataCategory)))

    assert decision.reasons == ("rules.categories",)
    assert decision.categories == frozenset()


def test_the_authority_that_decides_the_claim_gets_it_without_consent(tmp_path) -> None:
    """Seed 001, 8.5 and section 6: the asylum authority is not "another party"."""
    head = "p, unhcr-progres, crvs-national, birth-notification, birth-registration"
    rule = f"{head}, public-interest, identity|birth|protection\n"
    payload = [DataCategory.IDENTITY, DataCategory.BIRTH, DataCategory.PROTECTION]
    anyone = PolicyEngine(policy_dir(tmp_path / "a", rule, agreements=OPEN_AGREEMENT))
    deciding = PolicyEngine(
        policy_dir(
            tmp_path / "b",
            rule + "g, crvs-national, asylum-authority\n",
            agreements=OPEN_AGREEMENT,
        )
    )
    basis = LegalBasis.PUBLIC_INTEREST

    assert anyone.decide(request(basis=basis, payload=payload)).categories == set(payload[:2])
    decided = deciding.decide(request(basis=basis, payload=payload))
    assert decided.categories == set(payload)
    assert decided.approval == "sensitive categories: protection"  # the DPO still sees it


def test_a_payload_with_nothing_the_rule_allows_is_denied(engine) -> None:
    decision = engine.decide(request(payload=[DataCategory.SPECIFIC_NEEDS]))

    assert decision.reasons == ("rules.categories",)
    assert decision.rule == NOTIFICATION_RULE


def test_decide_never_reads_the_policy_files_again(tmp_path) -> None:
    directory = policy_dir(tmp_path)
    engine = PolicyEngine(directory)
    for name in ("model.conf", "default.csv"):
        (directory / name).unlink()

    decisions = [engine.decide(request()) for _ in range(20)]

    assert all(d.allowed and d.policy_version == engine.version for d in decisions)


def test_a_pull_with_no_payload_yet_gets_the_rules_categories(engine) -> None:
    decision = engine.decide(request(payload=[]))

    assert decision.allowed
    assert decision.categories == NOTIFICATION_CATEGORIES


def test_a_matcher_edited_to_ignore_the_basis_still_cannot_allow_the_wrong_basis(
    tmp_path,
) -> None:
    model = shipped("model.conf").decode()
    careless = model.replace(" && r.basis == p.basis", "")
    assert careless != model
    head = "p, unhcr-progres, crvs-national, birth-notification, birth-registration"
    engine = PolicyEngine(policy_dir(tmp_path, f"{head}, consent, birth\n", model=careless))

    decision = engine.decide(request(basis=LegalBasis.LEGAL_OBLIGATION, consents=[]))

    assert decision.reasons == ("rules.legal_basis",)
