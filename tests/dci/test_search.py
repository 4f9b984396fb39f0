"""A DCI civil registry searched by birth registration number, over real HTTP on 127.0.0.1.

The adapter writes the search, the gateway's transport sends it (as the specific-request
service does), the stand-in registry answers, the adapter reads the answer: found, not
found, and every answer that is neither (a failure to ask, never "not registered").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.dci import DciAdapter
from adapters.kit.contract import Fetcher
from gateway.canonical import SPECIFIC_REQUEST, Identifier, IndividualRecord
from gateway.errors import InvalidInput, ParseError, TransportError
from gateway.requests.service import SpecificRequests
from tests.dci.registry import BRN, FIXTURES, PROGRES_ID, StandInDciRegistry, search_answer

NAMED = [Identifier(scheme="brn", value=f" {BRN} ")]


@pytest.fixture(scope="module")
def dci() -> DciAdapter:
    return DciAdapter()


def search(dci: DciAdapter, registry: StandInDciRegistry, named: list[Identifier]) -> Any:
    asked = dci.fetch_request(SPECIFIC_REQUEST, named)
    transport = SpecificRequests.fetching_over_http(5)  # as the service asks a registry
    try:
        answer = transport.post(f"{registry.url}/{asked.path}", asked.body, asked.headers)
    finally:
        transport.close()
    return dci.parse_fetched(SPECIFIC_REQUEST, answer.status, answer.headers, answer.body)


def test_the_adapter_is_a_fetcher(dci: DciAdapter) -> None:
    assert isinstance(dci, Fetcher)
    assert dci.fetches == {SPECIFIC_REQUEST}


def test_the_search_is_a_dci_sync_search_by_brn_in_the_body(
    dci: DciAdapter, registry: StandInDciRegistry
) -> None:
    found = search(dci, registry, [Identifier(scheme="passport", value="P123456"), *NAMED])

    assert isinstance(found, IndividualRecord)
    [asked] = registry.asked
    assert asked.path == "/registry/sync/search"
    assert BRN not in asked.path
    assert asked.headers["Content-Type"] == "application/json"
    # The shape of the OpenCRVS DCI bridge's own test payload, fresh ids, the BRN asked.
    sample = json.loads((FIXTURES / "dci-crvs-api_sync-search_test-payload.json").read_bytes())
    assert asked.body["header"].keys() >= sample["header"].keys() - {
        "sender_uri",
        "encryption_algorithm",
    }
    assert asked.body["header"]["action"] == "search"
    [request] = asked.body["message"]["search_request"]
    [expected] = sample["message"]["search_request"]
    assert request["search_criteria"]["query_type"] == "idtype-value"
    assert request["search_criteria"]["query"] == {"type": "BRN", "value": BRN}
    assert request.keys() >= expected.keys() - {"consent"}
    again = dci.fetch_request(SPECIFIC_REQUEST, NAMED)
    assert json.loads(again.body)["header"]["message_id"] != asked.body["header"]["message_id"]


def test_the_person_found_is_read_as_the_subject(
    dci: DciAdapter, registry: StandInDciRegistry
) -> None:
    found = search(dci, registry, NAMED)

    person = found.person
    assert person.ref == "subject"
    assert person.identifiers == [
        Identifier(scheme="national-id", value="197382465"),
        Identifier(scheme="brn", value=BRN),
        Identifier(scheme="progres-individual", value=PROGRES_ID),
    ]
    assert [(n.given, n.family) for n in person.names] == [(["Elena"], "Martinez")]
    assert person.sex == "female"
    assert person.birth_date is not None and person.birth_date.date.isoformat() == "1980-03-23"
    # Contact details, addresses and parents are dropped by the spec: never read.
    assert person.family_links == [] and person.nationalities == []


def test_no_record_is_not_found(dci: DciAdapter, registry: StandInDciRegistry) -> None:
    assert search(dci, registry, [Identifier(scheme="brn", value="2023ZZZZZZZ")]) is None


def test_a_person_named_without_a_brn_cannot_be_searched(dci: DciAdapter) -> None:
    with pytest.raises(InvalidInput) as caught:
        dci.fetch_request(SPECIFIC_REQUEST, [Identifier(scheme="passport", value="P123456")])
    assert caught.value.problems[0].location == "body.subject.identifiers"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, b'{"errors": [{"code": "err.service.unavailable"}]}', TransportError),
        (401, b"", TransportError),
        (404, b"<html>Not Found</html>", TransportError),
        (200, json.dumps(search_answer([], status="rjct")).encode(), TransportError),
        (200, json.dumps(search_answer([], status="pdng")).encode(), TransportError),
        (200, b"{}", ParseError),
        (200, b'{"header": {}, "message": {"search_response": []}}', ParseError),
        (200, b'{"header": {"action": "on-search"', ParseError),
        (200, b"[1, 2, 3]", ParseError),
    ],
)
def test_any_other_answer_is_a_failure_to_ask(
    dci: DciAdapter,
    registry: StandInDciRegistry,
    status: int,
    body: bytes,
    error: type[Exception],
) -> None:
    registry.search_status, registry.answer = status, body
    with pytest.raises(error):
        search(dci, registry, NAMED)


def test_two_records_for_one_number_are_refused_not_guessed(
    dci: DciAdapter, registry: StandInDciRegistry
) -> None:
    registry.records = [registry.records[0], registry.records[0]]
    with pytest.raises(ParseError) as caught:
        search(dci, registry, NAMED)
    locations = [p.location for p in caught.value.problems]
    assert "/message/search_response/0/data/reg_records" in locations
    assert BRN not in str(caught.value.problems)


def test_a_message_type_it_cannot_fetch_is_refused(dci: DciAdapter) -> None:
    with pytest.raises(InvalidInput):
        dci.fetch_request("birth-notification", NAMED)
    with pytest.raises(InvalidInput):
        dci.parse_fetched("birth-notification", 200, {}, b"{}")
