"""Reading a specific request: exactly one person, by identifiers, with a real justification.

Everything refused here depends on the request's text alone, so a refusal says nothing about
the person; and no message repeats an identifier or the justification.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.canonical import DataCategory, LegalBasis
from gateway.canonical.request import (
    BOILERPLATE,
    MIN_CHARACTERS,
    STATISTICS_ROUTE,
    read_request,
)
from gateway.errors import InvalidInput

PROGRES_ID = "KKM-19-004567"
JUSTIFICATION = (
    "The applicant lodged an asylum claim in Kampala on 3 March 2026 and states that she was "
    "recognised as a refugee in Kakuma in 2019; we need to confirm her identity and status."
)


def named(*identifiers: tuple[str, str]) -> dict[str, Any]:
    return {"identifiers": [{"scheme": s, "value": v} for s, v in identifiers]}


def body(**changes: Any) -> dict[str, Any]:
    return {
        "registry": "unhcr-progres",
        "subject": named(("progres-individual", PROGRES_ID)),
        "purpose": "asylum-procedure",
        "legal_basis": "public-interest",
        "agreement": "ken-foreign-asylum",
        "categories": ["identity", "identifiers"],
        "case_reference": "UGA-DRA-2026-00412",
        "justification": JUSTIFICATION,
        **changes,
    }


def refused(doc: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_request(doc, "uga-dra")
    error = caught.value
    assert error.status == 422 and error.problems
    shown = " ".join(f"{p.location} {p.message}" for p in error.problems)
    assert PROGRES_ID not in shown and "Kampala" not in shown  # nothing personal repeated
    return error


def test_a_request_names_one_person_and_the_caller_is_its_requester() -> None:
    request = read_request(body(best_interests="BID-2026-0042"), "uga-dra")

    assert request.requester == "uga-dra"
    assert request.legal_basis is LegalBasis.PUBLIC_INTEREST
    assert request.categories == {DataCategory.IDENTITY, DataCategory.IDENTIFIERS}
    person = request.subject.person()
    assert [(i.scheme, i.value) for i in person.identifiers] == [("progres-individual", PROGRES_ID)]
    assert person.names == [] and person.birth_date is None


def test_several_identifiers_of_one_person_are_one_request() -> None:
    subject = named(("progres-individual", PROGRES_ID), ("passport", "P4366918"))
    assert len(read_request(body(subject=subject), "uga-dra").subject.identifiers) == 2


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"subject": None}, "request.not_individual"),
        ({"subject": {"identifiers": []}}, "request.not_individual"),
        ({"subject": [named(("progres-individual", PROGRES_ID))]}, "request.not_individual"),
        ({"people": [named(("progres-individual", PROGRES_ID))]}, "request.not_individual"),
        (
            {
                "subject": named(
                    ("progres-individual", PROGRES_ID), ("progres-individual", "KKM-19-004568")
                )
            },
            "request.not_individual",
        ),
        (
            {"subject": named(("progres-individual", "KKM-19-004567;KKM-19-004568"))},
            "request.not_individual",
        ),
        ({"subject": named(("progres-individual", "KKM-19-%"))}, "request.wildcard"),
        ({"subject": named(("passport", "P43669??"))}, "request.wildcard"),
        ({"subject": named(("progres-individual", "KKM"))}, "request.identifier"),
        ({"subject": named(("progres-individual", "KKM-19-004567-ÄÖ"))}, "request.identifier"),
        ({"subject": named(("progres-individual", "---"))}, "request.identifier"),
        ({"subject": named(("favourite-colour", "blue"))}, "request.identifier"),
        (
            {"subject": {**named(("progres-individual", PROGRES_ID)), "given": "Aline"}},
            "request.criteria",
        ),
        ({"date_of_birth": "1994-07-02"}, "request.criteria"),
        ({"requester": "ssd-dnpi"}, "request.invalid"),
        ({"justification": "x"}, "request.justification"),
        ({"agreement": None}, "request.invalid"),
        ({"categories": []}, "request.invalid"),
        ({"case_reference": "a b"}, "request.invalid"),
    ],
)
def test_what_is_not_one_specific_request_is_refused_with_its_reason(
    changes: dict[str, Any], reason: str
) -> None:
    error = refused(body(**changes))

    assert reason in error.reasons


def test_a_search_by_criteria_is_pointed_to_statistics() -> None:
    error = refused(body(nationality="BDI", subject={"identifiers": [], "family": "Niyonzima"}))

    assert any(STATISTICS_ROUTE in p.message for p in error.problems)
    assert {"request.criteria", "request.not_individual"} <= set(error.reasons)
    assert "body.subject.family" in [p.location for p in error.problems]  # a field's name only


def test_every_problem_is_listed_at_once() -> None:
    error = refused(
        body(subject=named(("progres-individual", "KKM*")), justification="urgent", purpose="X")
    )

    assert {p.location for p in error.problems} == {
        "body.subject.identifiers.0",
        "body.justification",
        "body.purpose",
    }
    assert error.reasons == ["request.invalid", "request.justification", "request.wildcard"]


@pytest.mark.parametrize(
    "justification",
    [
        "",
        "Needed.",
        "Security check.",
        "Routine verification as per the agreement for official purposes, urgent.",
        "National security. Background check. Please provide all information. N/A.",
        "Security check as per agreement. " * 6,  # long, and still nothing but boilerplate
        "The applicant is under investigation here. " * 3,  # a sentence said three times
        "a" * MIN_CHARACTERS * 2,
        "word " * 40,
    ],
)
def test_a_justification_must_say_why_this_person_for_this_case(justification: str) -> None:
    error = refused(body(justification=justification))

    assert error.reasons == ["request.justification"]
    assert [p.location for p in error.problems] == ["body.justification"]


def test_boilerplate_around_a_real_reason_does_no_harm() -> None:
    justification = (
        f"{BOILERPLATE[0].capitalize()}: the applicant's claim in Kampala names Kakuma as her "
        "former residence, and her identity must be confirmed before the interview."
    )
    assert read_request(body(justification=justification), "uga-dra").justification


def test_a_justification_may_be_written_in_any_language() -> None:
    justification = (
        "Le demandeur a déposé une demande d'asile à Kampala le 3 mars et déclare avoir été "
        "enregistré à Kakuma en 2019 ; nous devons vérifier son identité."
    )
    assert read_request(body(justification=justification), "uga-dra").justification
