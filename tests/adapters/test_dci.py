"""The DCI adapter reads a civil registry's live-birth notice; hostile notices cost little.

(Searches by birth registration number, over HTTP, are in tests/dci/test_search.py; the
notice's whole road, subscription included, in tests/dci/test_notify.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.dci import DciAdapter
from adapters.dci.notify import parse_notify
from adapters.dci.record import RecordReader
from adapters.kit.mapping import MappingSet, load_mapping_set
from gateway.canonical import BirthRegistration, Identifier
from gateway.errors import (
    COUNT_LIMIT,
    MAX_PROBLEMS,
    ConfigurationError,
    EnvelopeError,
    ParseError,
    TransportError,
)
from tests.dci.registry import BRN, PROGRES_ID, notice, person

CONFIRMATION = "birth-registration-confirmation"


@pytest.fixture(scope="module")
def dci() -> DciAdapter:
    return DciAdapter()


def parse(dci: DciAdapter, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return dci.parse(CONFIRMATION, data)


def problems(dci: DciAdapter, body: Any) -> list[dict[str, str]]:
    with pytest.raises(ParseError) as caught:
        parse(dci, body)
    assert len(caught.value.problems) <= MAX_PROBLEMS
    return [p.as_dict() for p in caught.value.problems]


def test_a_live_birth_notice_is_a_registration_linked_by_the_childs_ids(dci: DciAdapter) -> None:
    registration = parse(dci, notice(person()))

    assert isinstance(registration, BirthRegistration)
    assert registration.registration_number == BRN
    child = registration.child
    assert child.ref == "child"
    assert Identifier(scheme="progres-individual", value=PROGRES_ID) in child.identifiers
    assert Identifier(scheme="brn", value=BRN) in child.identifiers
    assert child.sex == "female"


def test_one_record_may_come_as_a_list(dci: DciAdapter) -> None:
    body = notice(person())
    data = body["message"]["notify_event"][0]["data"]
    data["reg_records"] = [data["reg_records"]]
    assert parse(dci, body).registration_number == BRN


def test_one_identifier_may_come_as_an_object(dci: DciAdapter) -> None:
    record = person(progres_id=None)
    record["identifier"] = record["identifier"][1]  # the BRN alone, as DCI writes one
    assert parse(dci, notice(record)).child.identifiers == [Identifier(scheme="brn", value=BRN)]


@pytest.mark.parametrize(
    ("change", "location", "message"),
    [
        (
            lambda b: b["message"]["notify_event"][0]["data"].update(
                reg_event_type="spdci-common:RegistryEventType:Death"
            ),
            "/message/notify_event/0/data/reg_event_type",
            "the gateway reads spdci-common:RegistryEventType:LiveBirth only",
        ),
        (
            lambda b: b["message"]["notify_event"][0]["data"]["reg_records"].update(sex="x"),
            "/message/notify_event/0/data/reg_records/sex",
            "unknown sex code",
        ),
        (
            lambda b: b["message"]["notify_event"][0]["data"]["reg_records"].update(
                birth_date="2026-02-30"
            ),
            "/message/notify_event/0/data/reg_records/birth_date",
            "not a date (YYYY-MM-DD)",
        ),
        (
            lambda b: b["message"]["notify_event"][0]["data"]["reg_records"].update(
                identifier=[{"identifier_type": "PROGRES_ID", "identifier_value": PROGRES_ID}]
            ),
            "/message/notify_event/0/data/reg_records/identifier",
            "no birth registration number (identifier[BRN].identifier_value)",
        ),
        (
            lambda b: b["header"].update(is_msg_encrypted=True),
            "/header/is_msg_encrypted",
            None,
        ),
        (lambda b: b["header"].update(action="on-search"), "/header/action", None),
        (
            lambda b: b["message"]["notify_event"].append(b["message"]["notify_event"][0]),
            "/message/notify_event",
            None,
        ),
    ],
)
def test_a_bad_notice_names_the_element_never_the_value(
    dci: DciAdapter, change: Any, location: str, message: str | None
) -> None:
    body = notice(person())
    change(body)
    found = problems(dci, body)

    assert location in [p["location"] for p in found], found
    if message:
        assert {"location": location, "message": message} in found
    for value in (BRN, PROGRES_ID, "Martinez", "Elena", "1980-03-23"):
        assert value not in json.dumps(found)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"\xff\xfe{}",
        b'{"header": {}, "message": {}}',
    ],
)
def test_hostile_or_broken_bodies_are_refused(dci: DciAdapter, body: bytes) -> None:
    problems(dci, body)


def test_a_million_identifiers_cost_what_ten_do(dci: DciAdapter) -> None:
    record = person()
    record["identifier"] = [{"identifier_type": "UIN", "identifier_value": "1"}] * 1_000_000
    reader = RecordReader(dci.mappings, dci.mappings.spec(CONFIRMATION))
    with pytest.raises(ParseError) as caught:  # the parsed notice: JSON decoding is not timed
        parse_notify(reader, notice(record))
    assert caught.value.problem_count <= COUNT_LIMIT
    assert [p.location for p in caught.value.problems] == [
        "/message/notify_event/0/data/reg_records/identifier"
    ]


def test_it_renders_nothing_and_parses_only_notices(dci: DciAdapter) -> None:
    with pytest.raises(EnvelopeError):
        dci.render(CONFIRMATION, parse(dci, notice(person())))
    with pytest.raises(EnvelopeError):
        dci.parse("birth-notification", b"{}")


def test_every_native_field_is_mapped_or_dropped_with_a_reason() -> None:
    mappings = load_mapping_set("adapters.dci", "dci")
    adapter = DciAdapter(mappings)
    for message_type, spec in mappings.specs.items():
        mapped = {f.native for f in spec.fields}
        dropped = {d.native for d in spec.dropped}
        assert not mapped & dropped, message_type
        assert adapter.native_fields[message_type] == mapped | dropped, message_type
        assert {"phone_number", "email", "address"} <= dropped, message_type
        assert mappings.version(message_type) == f"dci/{message_type}@1"


def test_a_spec_mapping_what_the_reader_does_not_read_fails_at_start() -> None:
    mappings = load_mapping_set("adapters.dci", "dci")
    spec = mappings.spec(CONFIRMATION)
    fields = [
        f.model_copy(update={"native": "address"}) if f.canonical == "person.names.family" else f
        for f in spec.fields
    ]
    broken = MappingSet(
        "dci",
        {**mappings.specs, CONFIRMATION: spec.model_copy(update={"fields": fields})},
        mappings.codelists,
    )
    with pytest.raises(ConfigurationError) as caught:
        DciAdapter(broken)
    assert "address" in caught.value.message


def test_the_subscription_asks_for_live_births_to_the_notify_url(dci: DciAdapter) -> None:
    asked = dci.subscribe_request("https://gateway.example.org/dci/notify")

    assert asked.path == "registry/subscribe"
    body = json.loads(asked.body)
    assert body["header"]["action"] == "subscribe"
    assert body["header"]["sender_uri"] == "https://gateway.example.org/dci/notify"
    [request] = body["message"]["subscribe_request"]
    assert request["subscribe_criteria"]["reg_event_type"] == (
        "spdci-common:RegistryEventType:LiveBirth"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"message": {"ack_status": "NACK", "timestamp": "", "correlation_id": "1"}}'),
        (200, b'{"message": {"ack_status": "ERR", "error": {"code": "err.sender_id.invalid"}}}'),
        (200, b'{"message": {"ack_status": "ACK", "timestamp": ""}}'),
        (200, b"<html>ok</html>"),
        (200, b"{}"),
        (500, b'{"message": {"ack_status": "ACK", "correlation_id": "1"}}'),
    ],
)
def test_only_an_ack_is_a_subscription(dci: DciAdapter, status: int, body: bytes) -> None:
    with pytest.raises(TransportError):
        dci.read_subscribed(status, {}, body)


def test_an_ack_names_its_correlation_id(dci: DciAdapter) -> None:
    ack = b'{"message": {"ack_status": "ACK", "timestamp": "", "correlation_id": "c-42"}}'
    assert dci.read_subscribed(200, {}, ack) == "c-42"
