"""Agreements: parsed strictly, looked up by version and date, and required for every exchange."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.canonical import DataCategory, LegalBasis
from gateway.errors import ConfigurationError
from gateway.policy import PolicyEngine
from gateway.policy.agreements import AgreementBook, parse_agreements
from tests.policy.factories import (
    CONFIRMATION_RULE,
    NOW,
    consent,
    policy_dir,
    request,
    shipped,
)

BIRTH = """
[[agreement]]
id = "birth"
version = {version}
title = "Birth registration, version {version}"
parties = ["registration-authority", "civil-registry"]
purposes = ["birth-registration"]
categories = {categories}
legal_bases = ["consent", "public-interest"]
valid_from = {valid_from}
{until}
onward_transfer = "forbidden"
dpo_approval = {approval}
"""


def birth(
    version: int = 1,
    categories: str = '["identity", "nationality", "identifiers", "family", "birth"]',
    valid_from: str = "2024-01-01",
    valid_until: str | None = None,
    approval: str = "false",
) -> str:
    until = f"valid_until = {valid_until}" if valid_until else ""
    return BIRTH.format(
        version=version,
        categories=categories,
        valid_from=valid_from,
        until=until,
        approval=approval,
    )


def engine_with(tmp_path, agreements: str) -> PolicyEngine:
    return PolicyEngine(policy_dir(tmp_path, agreements=agreements))


def test_every_shipped_agreement_loads_and_covers_the_shipped_rules() -> None:
    agreements = parse_agreements(shipped("agreements.toml").decode())

    assert [a.citation for a in agreements] == ["birth-registration@v1"]
    assert PolicyEngine().agreements.current("birth-registration", NOW) == agreements[0]


def test_a_decision_cites_the_agreement_version_it_relied_on(engine) -> None:
    decision = engine.decide(request())

    assert decision.allowed
    assert decision.agreement == "birth-registration@v1"
    assert any(f.stage == "agreement" and f.outcome == "allow" for f in decision.trace)


def test_no_exchange_goes_without_an_agreement(tmp_path) -> None:
    decision = engine_with(tmp_path, "").decide(request())

    assert decision.reasons == ("agreement.missing",)
    assert decision.rule is not None  # the rule allowed it; the agreement did not


@pytest.mark.parametrize(
    ("named", "reason"),
    [("no-such-agreement", "agreement.unknown"), ("birth", None)],
)
def test_a_named_agreement_must_exist(tmp_path, named, reason) -> None:
    decision = engine_with(tmp_path, birth()).decide(request(agreement=named))

    assert decision.reasons == ((reason,) if reason else ("allowed",))


def test_an_agreement_outside_its_validity_is_inactive(tmp_path) -> None:
    expired = engine_with(tmp_path / "a", birth(valid_until="2025-01-01"))
    future = engine_with(tmp_path / "b", birth(valid_from="2026-01-01"))

    for engine in (expired, future):
        assert engine.decide(request(agreement="birth")).reasons == ("agreement.inactive",)
        assert engine.decide(request()).reasons == ("agreement.missing",)


def test_the_newest_version_in_force_is_cited_and_narrows_the_categories(tmp_path) -> None:
    agreements = birth(1) + birth(2, categories='["identity", "birth"]', valid_from="2025-05-01")
    engine = engine_with(tmp_path, agreements)

    decision = engine.decide(request())

    assert decision.agreement == "birth@v2"
    assert decision.categories == {DataCategory.IDENTITY, DataCategory.BIRTH}
    assert any("narrows" in f.detail for f in decision.trace)


@pytest.mark.parametrize(
    ("rule", "change", "reason"),
    [
        (
            "unhcr-progres, crvs-national, birth-notification, birth-registration, "
            "legal-obligation",
            {"basis": LegalBasis.LEGAL_OBLIGATION},
            "agreement.legal_basis",
        ),
        (
            "unhcr-progres, crvs-turkey, birth-notification, birth-registration, consent",
            {"destination": "crvs-turkey", "jurisdiction": "JOR"},
            "agreement.parties",
        ),
        (
            "unhcr-progres, crvs-national, birth-notification, statistics, consent",
            {"purpose": "statistics"},
            "agreement.purpose",
        ),
        (
            "unhcr-progres, crvs-national, birth-notification, birth-registration, consent",
            {},
            "agreement.categories",
        ),
    ],
)
def test_a_named_agreement_that_does_not_cover_the_exchange_denies_it(
    tmp_path, rule, change, reason
) -> None:
    categories = "legal_status" if reason == "agreement.categories" else "identity|birth"
    groups = "g, unhcr-progres, registration-authority\ng, crvs-national, civil-registry\n"
    policy = policy_dir(tmp_path, f"p, {rule}, {categories}\n{groups}", agreements=birth())
    consents = [
        consent(
            recipient=change.get("destination", "crvs-national"),
            purpose=change.get("purpose", "birth-registration"),
        )
    ]

    decision = PolicyEngine(policy).decide(
        request(**change, consents=consents, agreement="birth", payload=[])
    )

    assert decision.reasons == (reason,)
    assert decision.rule is not None


CONFIRMATION_ARGS = {
    "source": "crvs-national",
    "destination": "unhcr-progres",
    "message_type": "birth-registration-confirmation",
    "basis": LegalBasis.PUBLIC_INTEREST,
    "consents": [],
    "payload": [DataCategory.IDENTIFIERS, DataCategory.BIRTH],
    "jurisdiction": "UNO",
}


def test_two_agreements_covering_one_exchange_must_be_named(tmp_path) -> None:
    other = birth().replace('id = "birth"', 'id = "birth-bis"')
    engine = engine_with(tmp_path, birth() + other)

    unnamed = engine.decide(request())
    named = engine.decide(request(agreement="birth-bis"))

    assert unnamed.reasons == ("agreement.ambiguous",)
    assert named.agreement == "birth-bis@v1"


def test_a_flagged_agreement_makes_every_transfer_wait_for_the_dpo(tmp_path) -> None:
    decision = engine_with(tmp_path, birth(approval="true")).decide(request())

    assert decision.allowed
    assert decision.approval == "the agreement requires DPO approval"


def test_the_confirmation_back_is_covered_too(engine) -> None:
    decision = engine.decide(request(**CONFIRMATION_ARGS))

    assert decision.allowed, decision.reasons
    assert decision.rule == CONFIRMATION_RULE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[agreement]]\nid = 1\n", "id must be a name"),
        ("agreements = []\n", "unknown table 'agreements'"),
        ("not toml [", "not TOML"),
        (birth().replace("version = 1", "version = 0"), "version must be a whole number"),
        (birth().replace('"consent", ', '"consent", "whim", '), "unknown value 'whim'"),
        (birth().replace('"family", ', '"everything", '), "unknown value 'everything'"),
        (birth(valid_until="2023-01-01"), "valid_until must be after valid_from"),
        (birth() + birth(), "birth@v1 is defined twice"),
        (birth().replace('"civil-registry"', '"Civil Registry"'), "not names"),
        (birth().replace('onward_transfer = "forbidden"', ""), "onward_transfer must be one of"),
        (birth().replace("dpo_approval = false", 'dpo_approval = "no"'), "true or false"),
        (birth().replace('title = "', 'colour = "red"\ntitle = "'), "unknown field 'colour'"),
        (birth().replace('id = "birth"', f'id = "{"a" * 57}"'), "at most 56"),
    ],
)
def test_a_bad_agreement_fails_the_load_naming_the_entry(text, expected) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_agreements(text)

    assert expected in str(caught.value)
    assert all(p.location.startswith("agreements.toml") for p in caught.value.problems)


def test_every_problem_of_every_entry_is_listed() -> None:
    broken = birth().replace("version = 1", "version = -1").replace('"birth"]', '"x"]')

    with pytest.raises(ConfigurationError) as caught:
        parse_agreements(broken + broken.replace('id = "birth"', 'id = "two"'))

    locations = {p.location for p in caught.value.problems}
    assert locations == {"agreements.toml:agreement[1]", "agreements.toml:agreement[2]"}
    assert len(caught.value.problems) == 4


def test_the_book_keeps_every_version_for_the_record() -> None:
    book = AgreementBook(parse_agreements(birth(1) + birth(2, valid_from="2025-05-01")))

    assert [a.citation for a in book.versions("birth")] == ["birth@v1", "birth@v2"]
    assert book.current("birth", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)).version == 1
    assert book.current("birth", NOW).version == 2
    assert book.versions("unknown") == ()
