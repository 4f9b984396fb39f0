"""Consent: needed when the rule's basis is consent; withdrawn or expired stops transfers."""

import pytest

from gateway.canonical import DataCategory, LegalBasis
from tests.policy.factories import DAY, NOTIFICATION_RULE, NOW, consent, request, subject

IDENTITY_AND_BIRTH = {DataCategory.IDENTITY, DataCategory.BIRTH}
CONFIRMATION = {
    "source": "crvs-national",
    "destination": "unhcr-progres",
    "message_type": "birth-registration-confirmation",
    "basis": LegalBasis.PUBLIC_INTEREST,
    "payload": [DataCategory.IDENTIFIERS, DataCategory.BIRTH],
}


@pytest.mark.parametrize(
    ("consents", "reason"),
    [
        ([], "consent.missing"),
        ([consent(withdrawn_at=NOW - DAY)], "consent.withdrawn"),
        ([consent(withdrawn_at=NOW)], "consent.withdrawn"),
        ([consent(expires_at=NOW - DAY)], "consent.expired"),
        ([consent(expires_at=NOW)], "consent.expired"),
        ([consent(recipient="embassy-syr")], "consent.missing"),
        ([consent(purpose="resettlement")], "consent.missing"),
        ([consent("PRG-9999")], "consent.missing"),  # someone else's consent
        ([consent(granted_at=NOW + DAY)], "consent.missing"),  # not given yet
        # Withdrawn outweighs expired when both are on record.
        ([consent(expires_at=NOW - DAY), consent(withdrawn_at=NOW - DAY)], "consent.withdrawn"),
    ],
)
def test_consent_that_does_not_cover_the_transfer_denies(engine, consents, reason) -> None:
    decision = engine.decide(request(consents=consents))

    assert not decision.allowed
    assert decision.reasons == (reason,)
    assert decision.categories == frozenset()
    assert decision.rule == NOTIFICATION_RULE
    fired = [f for f in decision.trace if f.stage == "consent"]
    assert [(f.outcome, f.detail) for f in fired] == [
        ("deny", f"subject pseudo-1: {reason} (crvs-national/birth-registration)")
    ]


def test_a_withdrawal_dated_later_does_not_stop_the_transfer_yet(engine) -> None:
    decision = engine.decide(request(consents=[consent(withdrawn_at=NOW + DAY)]))

    assert decision.allowed


def test_active_consent_allows_the_intersection_of_rule_and_consent(engine) -> None:
    granted = [DataCategory.IDENTITY, DataCategory.BIRTH, DataCategory.SPECIFIC_NEEDS]

    decision = engine.decide(request(consents=[consent(categories=granted)]))

    assert decision.allowed
    assert decision.categories == IDENTITY_AND_BIRTH  # specific_needs: not in the rule


def test_every_subject_must_consent_and_categories_narrow_to_all(engine) -> None:
    subjects = [subject("pseudo-mother", "PRG-1"), subject("pseudo-father", "PRG-2")]
    mother = consent("PRG-1", categories=[*IDENTITY_AND_BIRTH, DataCategory.FAMILY])
    father = consent("PRG-2", categories=[*IDENTITY_AND_BIRTH, DataCategory.NATIONALITY])

    both = engine.decide(request(subjects=subjects, consents=[mother, father]))
    only_mother = engine.decide(request(subjects=subjects, consents=[mother]))

    assert both.allowed
    assert both.categories == IDENTITY_AND_BIRTH
    assert only_mother.reasons == ("consent.missing",)
    outcomes = [
        (f.detail.split(":")[0], f.outcome) for f in only_mother.trace if f.stage == "consent"
    ]
    assert outcomes == [("subject pseudo-mother", "allow"), ("subject pseudo-father", "deny")]


def test_the_latest_active_grant_is_the_persons_current_will(engine) -> None:
    older = consent(
        categories=list(IDENTITY_AND_BIRTH | {DataCategory.FAMILY}), granted_at=NOW - 9 * DAY
    )
    newer = consent(categories=[DataCategory.BIRTH], granted_at=NOW - DAY)

    decision = engine.decide(request(consents=[newer, older]))

    assert decision.categories == {DataCategory.BIRTH}


def test_an_active_grant_outweighs_an_older_withdrawn_one(engine) -> None:
    withdrawn = consent(granted_at=NOW - 9 * DAY, withdrawn_at=NOW - 5 * DAY)
    regranted = consent(categories=IDENTITY_AND_BIRTH, granted_at=NOW - 2 * DAY)

    decision = engine.decide(request(consents=[withdrawn, regranted]))

    assert decision.allowed
    assert decision.categories == IDENTITY_AND_BIRTH


def test_consent_leaving_nothing_of_the_payload_is_denied(engine) -> None:
    decision = engine.decide(request(consents=[consent(categories=[DataCategory.LEGAL_STATUS])]))

    assert decision.reasons == ("consent.categories",)


def test_consent_never_lets_protection_through(engine) -> None:
    everything = list(DataCategory)

    decision = engine.decide(request(payload=everything, consents=[consent(categories=everything)]))

    assert decision.allowed
    assert DataCategory.PROTECTION not in decision.categories
    assert any("protection" in f.detail for f in decision.trace if f.rule == "minimum data")


def test_subjects_without_an_identifier_are_noted_not_counted(engine) -> None:
    subjects = [subject("pseudo-child", None), subject("pseudo-mother", "PRG-0001")]

    decision = engine.decide(request(subjects=subjects))

    assert decision.allowed
    notes = [f.detail for f in decision.trace if f.stage == "consent" and f.outcome == "info"]
    assert notes == [
        "subject pseudo-child: no identifier, so no consent can be looked up; not counted"
    ]


def test_consent_basis_with_nobody_identified_is_denied(engine) -> None:
    decision = engine.decide(request(subjects=[subject("pseudo-child", None)], consents=[]))

    assert decision.reasons == ("consent.missing",)


def test_a_public_interest_rule_needs_no_consent(engine) -> None:
    decision = engine.decide(request(**CONFIRMATION, consents=[]))

    assert decision.allowed
    assert decision.categories == {DataCategory.IDENTIFIERS, DataCategory.BIRTH}
    assert not [f for f in decision.trace if f.stage == "consent"]
    assert decision.agreement == "birth-registration@v1"


def test_a_withdrawal_is_recorded_even_when_consent_is_not_the_basis(engine) -> None:
    withdrawn = consent(recipient="unhcr-progres", withdrawn_at=NOW - DAY)
    elsewhere = consent(recipient="crvs-turkey", withdrawn_at=NOW - DAY)

    decision = engine.decide(
        request(**CONFIRMATION, consents=[withdrawn, elsewhere], agreement="birth-registration")
    )

    assert decision.allowed
    fired = [f for f in decision.trace if f.stage == "consent"]
    assert [(f.outcome, f.detail) for f in fired] == [
        (
            "info",
            "subject pseudo-1: consent for unhcr-progres/birth-registration was withdrawn; "
            "the transfer rests on basis public-interest",
        )
    ]
    assert not any("no agreement named" in f.detail for f in decision.trace)


def test_a_payload_the_rule_already_excludes_is_the_rules_doing(engine) -> None:
    decision = engine.decide(
        request(
            payload=[DataCategory.SPECIFIC_NEEDS],
            consents=[consent(categories=[DataCategory.BIRTH])],
        )
    )

    assert decision.reasons == ("rules.categories",)


def test_an_allowed_decision_names_each_subjects_current_grant(engine) -> None:
    subjects = [subject("pseudo-mother", "PRG-1"), subject("pseudo-father", "PRG-2")]
    older = consent("PRG-1", granted_at=NOW - 9 * DAY)
    current = consent("PRG-1", granted_at=NOW - DAY)
    father = consent("PRG-2")

    decision = engine.decide(request(subjects=subjects, consents=[older, father, current]))

    assert decision.allowed
    assert decision.consent_ids == (current.id, father.id)  # in subject order; not the older


def test_no_consent_is_named_when_none_was_relied_on(engine) -> None:
    denied = engine.decide(request(consents=[consent(withdrawn_at=NOW - DAY)]))
    public_interest = engine.decide(request(**CONFIRMATION, consents=[consent()]))

    assert (denied.allowed, denied.consent_ids) == (False, ())
    assert public_interest.consent_ids == ()
