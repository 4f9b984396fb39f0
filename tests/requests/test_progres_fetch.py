"""The proGres adapter asks for one individual and reads the answer (adapters/progres/fetch.py).

"Not found" is only Dynamics's own "object does not exist": any other answer that is not a
record is a failure to ask, never a person reported as unregistered.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.kit.contract import Fetcher
from adapters.registry import installed_adapters
from gateway.canonical import SPECIFIC_REQUEST, Identifier, IndividualRecord
from gateway.errors import InvalidInput, ParseError, TransportError
from tests.requests.registry import BURUNDIAN, INDIVIDUALS, SOUTH_SUDANESE


@pytest.fixture
def progres() -> Any:
    adapter = installed_adapters().get("progres")
    assert isinstance(adapter, Fetcher)
    return adapter


def answer(record: dict[str, Any]) -> bytes:
    return json.dumps({"@odata.context": "$metadata#progres", "Individual": record}).encode()


def test_the_lookup_is_a_post_naming_the_proGres_id_in_its_body(progres: Any) -> None:
    asked = progres.fetch_request(
        SPECIFIC_REQUEST,
        [
            Identifier(scheme="passport", value="P4366918"),
            Identifier(scheme="ProGres-Individual", value=f" {BURUNDIAN} "),
        ],
    )

    assert asked.path == "api/data/v9.2/progres_LookupIndividual"
    assert json.loads(asked.body) == {"IndividualId": BURUNDIAN}
    assert asked.headers["Content-Type"] == "application/json"
    assert BURUNDIAN not in asked.path


def test_a_person_named_without_a_proGres_id_cannot_be_looked_up(progres: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        progres.fetch_request(SPECIFIC_REQUEST, [Identifier(scheme="passport", value="P4366918")])
    assert caught.value.problems[0].location == "body.subject.identifiers"


def test_the_individual_is_read_with_its_risk_countries_and_nothing_of_anyone_else(
    progres: Any,
) -> None:
    found = progres.parse_fetched(SPECIFIC_REQUEST, 200, {}, answer(INDIVIDUALS[1]))

    assert isinstance(found, IndividualRecord)
    person = found.person
    assert person.ref == "subject"
    assert person.identifiers == [Identifier(scheme="progres-individual", value=SOUTH_SUDANESE)]
    assert person.risk_countries() == {"SSD"}
    assert person.family_links == []
    assert person.legal_status == "refugee"


def test_not_found_is_dynamics_saying_the_object_does_not_exist(progres: Any) -> None:
    missing = json.dumps({"error": {"code": "0x80040217", "message": "Does Not Exist"}})
    assert progres.parse_fetched(SPECIFIC_REQUEST, 404, {}, missing.encode()) is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            404,
            b'{"error": {"code": "0x8006088a", "message": "Resource not found"}}',
            TransportError,
        ),
        (404, b"<html>Not Found</html>", TransportError),
        (500, b'{"error": {"code": "0x80040216"}}', TransportError),
        (401, b"", TransportError),
        (200, b"{}", ParseError),
        (200, b'{"Individual": {"progres_individualid": "KKM*"}}', ParseError),
        (200, b'{"Individual": {"progres_individualid": "A", "progres_sex": 7}}', ParseError),
        (200, b'{"Individual": {"progres_individualid": "A", "x": 1', ParseError),
    ],
)
def test_any_other_answer_is_a_failure_to_ask(
    progres: Any, status: int, body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        progres.parse_fetched(SPECIFIC_REQUEST, status, {}, body)


def test_a_message_type_it_cannot_fetch_is_refused(progres: Any) -> None:
    with pytest.raises(InvalidInput):
        progres.fetch_request("birth-notification", [])
