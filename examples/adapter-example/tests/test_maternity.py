"""What the conformance kit cannot know: this system's own rules, and its entry point."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from importlib.resources import files
from typing import Any

import pytest
from gateway.canonical import BirthEvent, BirthRegistration, Identifier, Person
from gateway.errors import InvalidInput, ParseError

from hub_adapter_example import MaternityAdapter

NOTICE = "birth-notification"
FIXTURES = files("hub_adapter_example").joinpath("fixtures")


@pytest.fixture(scope="module")
def adapter() -> MaternityAdapter:
    return MaternityAdapter()


def _notice() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        FIXTURES.joinpath(NOTICE, "kakuma-mission-hospital.json").read_text("utf-8")
    )
    return found


def test_the_gateway_finds_it_through_its_entry_point() -> None:
    (found,) = [ep for ep in entry_points(group="gateway.adapters") if ep.name == "maternity"]
    assert found.load() is MaternityAdapter


def test_a_notice_becomes_a_birth_with_the_registers_numbers(adapter: MaternityAdapter) -> None:
    event = adapter.parse(NOTICE, json.dumps(_notice()).encode())

    assert isinstance(event, BirthEvent)
    assert event.country == "KEN" and event.child.sex == "female"
    assert event.child.identifiers == [
        Identifier(scheme="maternity-patient", value="KMH-25-018734")
    ]
    assert event.mother is not None and event.mother.nationalities == ["SSD"]


def test_health_data_never_reaches_the_canonical_birth(adapter: MaternityAdapter) -> None:
    event = adapter.parse(NOTICE, json.dumps(_notice()).encode())

    assert "3150" not in event.model_dump_json()  # birth_weight_grams is dropped


def test_an_unknown_country_is_named_not_echoed(adapter: MaternityAdapter) -> None:
    notice = _notice()
    notice["mother"]["nationality"] = ["QQQ"]

    with pytest.raises(ParseError) as caught:
        adapter.parse(NOTICE, json.dumps(notice).encode())

    assert [(p.location, p.message) for p in caught.value.problems] == [
        ("/mother/nationality/0", "unknown code")
    ]


def test_a_registration_for_someone_the_register_never_saw_is_refused(
    adapter: MaternityAdapter,
) -> None:
    child = Person(ref="c", identifiers=[Identifier(scheme="progres-individual", value="K-1")])
    registration = BirthRegistration(child=child, registration_number="2025KE1")

    with pytest.raises(InvalidInput) as caught:
        adapter.render("birth-registration-confirmation", registration)

    assert caught.value.problems[0].location == "child.identifiers"
