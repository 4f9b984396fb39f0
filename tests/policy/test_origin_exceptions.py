"""The two narrow exceptions to the origin block: off by default, opened only by an agreement,
and every transfer under one waits for the DPO."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.canonical import DataCategory, LegalBasis, LegalStatus
from gateway.policy import PolicyEngine, SystemInfo
from gateway.policy.agreements import OriginException
from tests.policy.factories import consent, policy_dir, request, subject

RULES = "\n".join(
    [
        "p, asylum-authority, foreign-state, return-request, return, legal-obligation, "
        "identity|identifiers|nationality|legal_status",
        "p, registration-authority, foreign-state, passport-request, passport-issuance, consent, "
        "identity|identifiers|nationality|family",
        "g, asylum-jor, asylum-authority",
        "g, unhcr-progres, registration-authority",
        "g, embassy-syr, foreign-state",
    ]
)
AGREEMENT = """
[[agreement]]
id = "returns-and-documents"
version = 1
title = "Returns and nationality documents with the state of nationality"
parties = ["asylum-authority", "registration-authority", "foreign-state"]
purposes = ["return", "passport-issuance"]
categories = ["identity", "identifiers", "nationality", "legal_status", "family"]
legal_bases = ["legal-obligation", "consent"]
valid_from = 2024-01-01
onward_transfer = "forbidden"
origin_exceptions = {exceptions}
"""
BOTH = '["return", "nationality-documents"]'
REJECTED = replace(
    subject(risk=("SYR",)),
    legal_status=LegalStatus.FINALLY_REJECTED,
    nationalities=frozenset({"SYR"}),
)
SYRIAN = replace(subject(risk=("SYR",)), nationalities=frozenset({"SYR"}))


def engine(tmp_path, enabled=tuple(OriginException), exceptions: str = BOTH) -> PolicyEngine:
    directory = policy_dir(tmp_path, RULES, agreements=AGREEMENT.format(exceptions=exceptions))
    return PolicyEngine(directory, origin_exceptions=enabled)


def return_request(person=REJECTED, source="asylum-jor"):
    base = request(
        source=source,
        destination="embassy-syr",
        message_type="return-request",
        purpose="return",
        basis=LegalBasis.LEGAL_OBLIGATION,
        subjects=[person],
        consents=[],
        payload=[DataCategory.IDENTITY, DataCategory.IDENTIFIERS, DataCategory.LEGAL_STATUS],
    )
    return replace(base, source=SystemInfo(source, "JOR"))


def passport_request(person=SYRIAN, basis=LegalBasis.CONSENT):
    return request(
        destination="embassy-syr",
        message_type="passport-request",
        purpose="passport-issuance",
        basis=basis,
        subjects=[person],
        consents=[consent(recipient="embassy-syr", purpose="passport-issuance")],
        payload=[DataCategory.IDENTITY, DataCategory.IDENTIFIERS, DataCategory.FAMILY],
    )


def test_with_the_settings_off_nothing_reaches_a_country_of_origin(tmp_path) -> None:
    off = engine(tmp_path, enabled=())

    for exchange in (return_request(), passport_request()):
        assert off.decide(exchange).reasons == ("origin.risk_country",)


def test_a_final_rejection_opens_the_return_exception_for_identity_and_documents(tmp_path) -> None:
    decision = engine(tmp_path).decide(return_request())

    assert decision.allowed, decision.reasons
    assert decision.categories == {DataCategory.IDENTITY, DataCategory.IDENTIFIERS}
    assert decision.approval == "origin exception: return"


@pytest.mark.parametrize(
    "person",
    [
        replace(REJECTED, legal_status=LegalStatus.ASYLUM_SEEKER),
        replace(REJECTED, legal_status=None),
        replace(REJECTED, legal_status=LegalStatus.REFUGEE),
    ],
)
def test_no_return_exception_without_a_final_rejection(tmp_path, person) -> None:
    decision = engine(tmp_path).decide(return_request(person))

    assert decision.reasons == ("origin.risk_country",)
    assert any("finally rejected" in f.detail for f in decision.trace)


def test_only_the_asylum_authority_can_attest_a_final_rejection(tmp_path) -> None:
    decision = engine(tmp_path).decide(return_request(source="unhcr-progres"))

    assert decision.reasons == ("origin.risk_country",)


def test_an_agreement_that_does_not_open_the_exception_keeps_the_block(tmp_path) -> None:
    decision = engine(tmp_path, exceptions='["nationality-documents"]').decide(return_request())

    assert decision.reasons == ("origin.risk_country",)
    assert any("does not open the return exception" in f.detail for f in decision.trace)


def test_a_passport_request_with_express_consent_goes_to_the_state_of_nationality(
    tmp_path,
) -> None:
    decision = engine(tmp_path).decide(passport_request())

    assert decision.allowed, decision.reasons
    # Family is in the rule, the consent and the agreement, but not in what the exception opens.
    assert decision.categories == {
        DataCategory.IDENTITY,
        DataCategory.IDENTIFIERS,
        DataCategory.NATIONALITY,
    }
    assert decision.approval == "origin exception: nationality-documents"


def test_no_passport_exception_for_a_state_that_is_not_a_nationality(tmp_path) -> None:
    feared_only = replace(SYRIAN, nationalities=frozenset({"IRQ"}))

    decision = engine(tmp_path).decide(passport_request(feared_only))

    assert decision.reasons == ("origin.risk_country",)


def test_an_unknown_jurisdiction_is_never_excepted(tmp_path) -> None:
    unknown = replace(return_request(), destination=SystemInfo("embassy-syr", None))

    assert engine(tmp_path).decide(unknown).reasons == ("origin.unknown_jurisdiction",)
