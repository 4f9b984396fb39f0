"""The legacy-registration adapter: rows in, rows out, every problem named by column."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest

from adapters.kit.contract import check_content_type
from adapters.legacy import LegacyRegistrationAdapter, samples
from adapters.legacy.row import SCHEME
from gateway.canonical import LegalStatus, Sex
from gateway.canonical.registration import REGISTRATION, Registration
from gateway.errors import (
    COUNT_LIMIT,
    MAX_PROBLEMS,
    EnvelopeError,
    ParseError,
    UnsupportedMediaTypeError,
)

adapter = LegacyRegistrationAdapter()


def body(row: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in row.items() if v != ""}).encode()


def parse(row: dict[str, Any]) -> Registration:
    parsed = adapter.parse(REGISTRATION, body(row))
    assert isinstance(parsed, Registration)
    return parsed


def problems(row: dict[str, Any] | bytes) -> list[tuple[str, str]]:
    with pytest.raises(ParseError) as refused:
        adapter.parse(REGISTRATION, row if isinstance(row, bytes) else body(row))
    return [(p.location, p.message) for p in refused.value.problems]


def test_a_row_reads_as_one_registered_individual() -> None:
    row = samples.row(5) | {"SpecificNeeds": "DS;SM", "DOBEstimated": "Y"}

    registration = parse(row)

    person = registration.person
    assert person.ref == "LEG-00000005"
    assert [(i.scheme, i.value) for i in person.identifiers] == [(SCHEME, "LEG-00000005")]
    assert (person.names[0].given, person.names[0].family) == (["Faduma"], "Kuol")
    assert person.sex is Sex.MALE and person.legal_status is LegalStatus.ASYLUM_SEEKER
    assert person.birth_date is not None and person.birth_date.estimated
    assert person.nationalities == ["SSD"] and person.country_of_origin == "SSD"  # by name
    assert person.specific_needs == ["DS", "SM"]
    assert (registration.office, registration.household) == ("NBO", [])


def test_every_fixture_parses_and_renders_back_to_the_same_registration() -> None:
    folder = files("adapters.legacy").joinpath("fixtures/individual-registration")
    fixtures = [
        entry
        for entry in folder.iterdir()
        if entry.name.endswith(".json") and not entry.name.endswith(".canonical.json")
    ]
    assert fixtures
    for entry in fixtures:
        registration = adapter.parse(REGISTRATION, entry.read_bytes())
        rendered = adapter.render(REGISTRATION, registration)
        assert rendered.content_type == "application/json"
        assert adapter.parse(REGISTRATION, rendered.body) == registration
        assert adapter.check_rendered(REGISTRATION, rendered.body) == []


def test_dropped_columns_are_read_past_and_never_rendered() -> None:
    row = samples.row(1) | {"Remarks": "said to be hiding", "EnteredBy": "clerk07"}

    rendered = json.loads(adapter.render(REGISTRATION, parse(row)).body)

    assert not {"CaseNumber", "Remarks", "EnteredBy"} & set(rendered)
    spec = adapter.mappings.spec(REGISTRATION)
    assert {d.native for d in spec.dropped} == {"CaseNumber", "Remarks", "EnteredBy"}
    assert adapter.native_fields[REGISTRATION] == frozenset(samples.COLUMNS)


def test_every_problem_is_named_by_column_and_never_echoes_the_value() -> None:
    row = samples.row(2) | {
        "Sex": "X",
        "LegalStatus": "REFUGEE",
        "Nationality": "SSD;Atlantis",
        "DateOfBirth": "2001-02-30",
        "Shoesize": "44",
    }
    del row["GivenName"]

    found = problems(row)

    assert ("/Sex", "is not a known code") in found
    assert ("/LegalStatus", "is not a known code") in found
    assert ("/Nationality/1", "is not a known code") in found
    assert ("/DateOfBirth", "is not a valid date") in found
    assert ("/Shoesize", "is not a column of the legacy export") in found
    assert ("/", "'GivenName' is a required property") in found
    said = json.dumps(found)
    assert not any(value in said for value in ("REFUGEE", "Atlantis", "2001-02-30", "44"))


@pytest.mark.parametrize(
    "hostile",
    [
        b"\xff\xfe not utf-8",
        b"[" * 10_000 + b"]" * 10_000,
        b'{"IndividualID": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        json.dumps({f"c{i}": "x" for i in range(100_000)}).encode(),
        json.dumps(samples.row(1) | {"Nationality": ";".join(["SSD"] * 200_000)}).encode(),
        b'"just a string"',
        b"",
    ],
)
def test_hostile_rows_are_refused_and_bounded(hostile: bytes) -> None:
    with pytest.raises(ParseError) as refused:
        adapter.parse(REGISTRATION, hostile)

    assert len(refused.value.problems) <= MAX_PROBLEMS
    assert refused.value.problem_count <= COUNT_LIMIT  # counting stops too: bounded work


def test_a_wrong_message_type_or_media_type_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="unsupported message type"):
        adapter.parse("referral", b"{}")
    with pytest.raises(UnsupportedMediaTypeError):
        check_content_type(adapter, "text/csv")
