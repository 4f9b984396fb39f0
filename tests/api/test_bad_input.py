"""Bad input gets a clear error and changes nothing: POST /exchanges.

Every attempt leaves exactly one exchange record, decision "invalid", and nothing else: the
outbox, the idempotency keys and the remembered risk countries are as they were. Each test
starts after one accepted birth, so those tables hold rows that a bad input could disturb.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
    demo_data,
)
from gateway.envelope import HEADERS
from gateway.store.models import ExchangeRecord, IdempotencyKey, OutboxMessage, RememberedRisk
from tests.api.helpers import BODY_LIMIT

NOTIFICATION = birth_notification()
FIRST_KEY = "first-birth-0001"
KEPT = (OutboxMessage, IdempotencyKey, RememberedRisk)

pytestmark = pytest.mark.usefixtures("first")


@pytest.fixture
def first(env: DemoEnvironment) -> dict[str, Any]:
    """Accept one birth, so that outbox, idempotency keys and remembered risk are not empty."""
    response = env.submit_birth(CIVIL_REGISTRY, FIRST_KEY)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


@dataclass(frozen=True)
class State:
    records: list[dict[str, Any]]
    kept: dict[str, list[str]]


def state(env: DemoEnvironment) -> State:
    with env.runtime.db.unit_of_work() as session:
        rows = select(ExchangeRecord.__table__).order_by(ExchangeRecord.seq)
        records = [dict(r) for r in session.execute(rows).mappings()]
        kept = {
            model.__tablename__: sorted(
                repr(dict(r)) for r in session.execute(select(model.__table__)).mappings()
            )
            for model in KEPT
        }
    return State(records, kept)


def personal_data() -> set[str]:
    """Return the names, ids, birth dates and document numbers of the demo family."""
    doc = json.loads(NOTIFICATION)
    values = {doc["progres_dateofbirth"]}
    for person in doc["individuals"]:
        for attribute in (
            "progres_individualid",
            "progres_givenname",
            "progres_familyname",
            "progres_dateofbirth",
        ):
            values.add(person[attribute])
        values.update(d["progres_documentnumber"] for d in person.get("progres_documents", []))
    return values


def assert_no_personal_data(records: list[dict[str, Any]]) -> None:
    dump = "\n".join(repr(r) for r in records)
    found = sorted(v for v in personal_data() if v in dump)
    assert not found, f"personal data in exchange_records: {found}"


def post(
    env: DemoEnvironment,
    body: bytes | Iterator[bytes] = NOTIFICATION,
    change: Mapping[str, str | None] | None = None,
) -> httpx.Response:
    """Post as proGres, with some headers changed (None removes one)."""
    headers: dict[str, str] = env.birth_headers(CIVIL_REGISTRY)
    for name, value in (change or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return httpx.post(f"{env.gateway_url}/exchanges", content=body, headers=headers, timeout=30)


def attempt(
    env: DemoEnvironment, send: Callable[[], httpx.Response]
) -> tuple[httpx.Response, dict[str, Any]]:
    """Make one bad request; check it added one invalid record and nothing else."""
    before = state(env)
    assert all(before.kept.values()), "every kept table must hold a row to be disturbed"
    response = send()
    after = state(env)
    assert after.kept == before.kept
    assert after.records[: len(before.records)] == before.records
    added = after.records[len(before.records) :]
    assert len(added) == 1, f"expected one new record, got {len(added)}"
    assert added[0]["decision"] == "invalid"
    assert_no_personal_data(after.records)
    return response, added[0]


def rejected(
    env: DemoEnvironment,
    status: int,
    reason: str,
    body: bytes | Iterator[bytes] = NOTIFICATION,
    change: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """Post a bad submission; check the answer names the reason and the one new record."""
    response, record = attempt(env, lambda: post(env, body, change))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    answer: dict[str, Any] = response.json()
    assert answer["reason"] == reason
    assert answer["exchange_id"] == record["id"]
    assert record["reasons"] == [reason]
    return answer


def edited(edit: Callable[[dict[str, Any]], object]) -> bytes:
    """Return the demo notification with one edit applied."""
    doc = json.loads(NOTIFICATION)
    edit(doc)
    return json.dumps(doc).encode()


def problem_text(answer: dict[str, Any]) -> str:
    return " ".join([answer["message"], *(p["message"] for p in answer["problems"])])


def _second_origin_for_the_father() -> bytes:
    """Give the father two countries of origin: parsers disagree on which one wins."""
    text = json.dumps(json.loads(NOTIFICATION))
    father = '"progres_individualid": "KKM-19-004568"'
    kenya = (
        '"progres_countryoforigin": {"Id": "0d5a2f1e-7c34-4b8e-a1f2-9e6b3c4d5a01", '
        '"LogicalName": "progres_country", "Name": "Kenya"}'
    )
    assert text.count(father) == 1
    return text.replace(father, f"{father}, {kenya}").encode()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        pytest.param(NOTIFICATION[:200], "not JSON", id="truncated-json"),
        pytest.param(b"{'individuals': []}", "not JSON", id="single-quoted"),
        pytest.param(
            NOTIFICATION.replace(b"Nyandeng", "Nyand\u00e9ng".encode("latin-1")),
            "not valid UTF-8",
            id="latin-1",
        ),
        pytest.param(b"\xff\xfe{\x00}\x00", "not valid UTF-8", id="utf-16"),
        pytest.param(b"[" + NOTIFICATION + b"]", "expected a JSON object, got list", id="array"),
        pytest.param(b'"a birth"', "expected a JSON object, got str", id="string"),
        pytest.param(
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b"<birthNotification><child><givenName>Nyandeng</givenName></child>"
            b"</birthNotification>",
            "not JSON",
            id="xml",
        ),
        pytest.param(
            b'{"individuals": ' + b"[" * 40 + b"]" * 40 + b"}", "nesting is too deep", id="deep"
        ),
        pytest.param(b"[" * 7000 + b"]" * 7000, "nesting is too deep", id="deeper-than-python"),
        pytest.param(
            NOTIFICATION.replace(b"125080002", b"1" + b"0" * 4000),
            "number has too many digits",
            id="huge-int",
        ),
        pytest.param(
            NOTIFICATION.replace(b"125080002", b"1e999"), "number is out of range", id="huge-float"
        ),
        pytest.param(NOTIFICATION.replace(b"125080002", b"NaN"), "NaN is not JSON", id="nan"),
        pytest.param(
            _second_origin_for_the_father(),
            "duplicate key 'progres_countryoforigin'",
            id="duplicate-key",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    env: DemoEnvironment, body: bytes, said: str
) -> None:
    answer = rejected(env, 422, "invalid_message", body)

    assert said in problem_text(answer)
    assert answer["problems"], "the problem is listed"


def test_every_missing_field_is_listed(env: DemoEnvironment) -> None:
    def strip(doc: dict[str, Any]) -> None:
        del doc["progres_dateofbirth"], doc["progres_countryofbirth"]
        del doc["individuals"][0]["progres_givenname"], doc["individuals"][2]["progres_sex"]

    answer = rejected(env, 422, "invalid_message", edited(strip))

    missing = {
        (p["location"], p["message"].split("'")[1])
        for p in answer["problems"]
        if "required property" in p["message"]
    }
    assert missing == {
        ("/", "progres_dateofbirth"),
        ("/", "progres_countryofbirth"),
        ("/individuals/0", "progres_givenname"),
        ("/individuals/2", "progres_sex"),
    }


def test_an_unknown_country_is_refused_not_passed(env: DemoEnvironment) -> None:
    def atlantis(doc: dict[str, Any]) -> None:
        doc["individuals"][0]["progres_countryoforigin"]["progres_isocode"] = "ZZZ"
        doc["individuals"][2]["progres_countryoforigin"]["Name"] = "Atlantis"

    answer = rejected(env, 422, "invalid_message", edited(atlantis))

    assert {(p["location"], p["message"]) for p in answer["problems"]} == {
        ("/individuals/0/progres_countryoforigin/progres_isocode", "unknown country code"),
        ("/individuals/2/progres_countryoforigin/Name", "unknown country"),
    }


def test_an_unknown_destination_is_refused(env: DemoEnvironment) -> None:
    answer = rejected(
        env, 422, "unknown_system", change={HEADERS["destination"]: "embassy-atlantis"}
    )

    assert "embassy-atlantis" in answer["message"]
    assert [p["location"] for p in answer["problems"]] == [HEADERS["destination"]]


def test_every_missing_envelope_header_is_listed(env: DemoEnvironment) -> None:
    required = [h for name, h in HEADERS.items() if name not in ("agreement", "best_interests")]

    answer = rejected(env, 422, "invalid_envelope", change=dict.fromkeys(required))

    assert sorted(p["location"] for p in answer["problems"]) == sorted(required)
    assert all(p["message"] == "Field required" for p in answer["problems"])


@pytest.mark.parametrize(
    ("change", "locations"),
    [
        pytest.param(
            {HEADERS["legal_basis"]: "because-we-can"}, [HEADERS["legal_basis"]], id="legal-basis"
        ),
        pytest.param(
            {HEADERS["purpose"]: "Birth Registration"}, [HEADERS["purpose"]], id="purpose-name"
        ),
        pytest.param({HEADERS["idempotency_key"]: "k1"}, [HEADERS["idempotency_key"]], id="key"),
        pytest.param(
            {HEADERS["agreement"]: "../etc/passwd"}, [HEADERS["agreement"]], id="agreement"
        ),
        pytest.param(
            {HEADERS["best_interests"]: "BID 42; drop"},
            [HEADERS["best_interests"]],
            id="best-interests",
        ),
        pytest.param(
            {HEADERS["message_type"]: "birth-registration-confirmation"},
            [HEADERS["message_type"], HEADERS["message_type"]],  # proGres cannot send it,
            id="message-type",  # and the civil registry cannot receive it
        ),
    ],
)
def test_an_invalid_envelope_names_the_header(
    env: DemoEnvironment, change: dict[str, str], locations: list[str]
) -> None:
    answer = rejected(env, 422, "invalid_envelope", change=change)

    assert [p["location"] for p in answer["problems"]] == locations


def padded(size: int) -> bytes:
    """Return the demo notification padded with JSON whitespace to exactly `size` bytes."""
    assert size > len(NOTIFICATION)
    return NOTIFICATION + b" " * (size - len(NOTIFICATION))


def streamed(body: bytes) -> Iterator[bytes]:
    """Yield a body in chunks, so it is sent chunked, without a Content-Length."""
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


def test_a_body_over_the_limit_is_refused(env: DemoEnvironment) -> None:
    answer = rejected(env, 413, "payload_too_large", padded(BODY_LIMIT + 1))

    assert "size limit" in answer["message"]


def test_a_streamed_body_over_the_limit_is_refused(env: DemoEnvironment) -> None:
    response, record = attempt(env, lambda: post(env, streamed(padded(BODY_LIMIT + 1))))

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["reason"] == "payload_too_large"
    assert response.json()["exchange_id"] == record["id"]
    assert record["source"] == REGISTRATION


@pytest.mark.parametrize("send", [lambda body: body, streamed], ids=["length", "chunked"])
def test_a_body_exactly_at_the_limit_is_accepted(
    env: DemoEnvironment, send: Callable[[bytes], bytes | Iterator[bytes]]
) -> None:
    response = post(env, send(padded(BODY_LIMIT)))

    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("body", "change"),
    [
        pytest.param(edited(lambda d: d.update(progres_placeofbirth="Kakuma 1")), {}, id="body"),
        pytest.param(NOTIFICATION, {HEADERS["purpose"]: "family-reunification"}, id="envelope"),
    ],
)
def test_a_key_reused_for_another_message_is_refused(
    env: DemoEnvironment, body: bytes, change: dict[str, str]
) -> None:
    answer = rejected(
        env,
        409,
        "idempotency_conflict",
        body,
        change={HEADERS["idempotency_key"]: FIRST_KEY, **change},
    )

    assert [p["location"] for p in answer["problems"]] == [HEADERS["idempotency_key"]]


def test_a_key_reused_for_the_same_message_replays_the_first_answer(
    env: DemoEnvironment, first: dict[str, Any]
) -> None:
    before = state(env)

    response = post(env, change={HEADERS["idempotency_key"]: FIRST_KEY})

    assert response.status_code == 200, response.text
    assert response.json() == {**first, "replay": True}
    assert state(env) == before


def test_a_refused_attempt_does_not_use_up_its_key(env: DemoEnvironment) -> None:
    key = {HEADERS["idempotency_key"]: f"retry-{uuid.uuid4()}"}
    rejected(env, 422, "invalid_message", b"{", change=key)

    response = post(env, change=key)

    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("Bearer gw_not-a-credential-at-all", id="wrong"),
        pytest.param("Bearer", id="empty"),
        pytest.param("Basic dW5oY3ItcHJvZ3Jlczpzb21ldGhpbmc=", id="basic"),
    ],
)
def test_a_caller_without_a_valid_credential_is_refused(
    env: DemoEnvironment, authorization: str | None
) -> None:
    response, record = attempt(env, lambda: post(env, change={"Authorization": authorization}))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["reason"] == "unauthenticated"
    assert response.json()["exchange_id"] == record["id"]
    assert record["source"] is None
    assert "not-a-credential" not in repr(state(env).records)


def test_a_caller_cannot_send_as_another_system(env: DemoEnvironment) -> None:
    rejected(env, 403, "forbidden", change={"X-Exchange-Source": CIVIL_REGISTRY})


def test_a_replay_cannot_add_a_claim_to_be_another_system(env: DemoEnvironment) -> None:
    """The claimed source is part of the envelope a key is bound to: not a replay, a conflict."""
    key = {"Idempotency-Key": "claimed-source-0001"}
    assert post(env, change=key).status_code == 202
    claim = {**key, "X-Exchange-Source": CIVIL_REGISTRY}
    answer = rejected(env, 409, "idempotency_conflict", change=claim)
    assert answer["problems"][0]["location"] == "Idempotency-Key"


def test_a_fhir_caller_gets_an_operation_outcome(env: DemoEnvironment) -> None:
    doc = json.loads(demo_data("opencrvs-registered-birth.json"))
    task_at = next(i for i, e in enumerate(doc["entry"]) if e["resource"]["resourceType"] == "Task")
    del doc["entry"][task_at]["resource"]["identifier"]  # no registration number
    change = {
        HEADERS["destination"]: REGISTRATION,
        HEADERS["message_type"]: "birth-registration-confirmation",
        HEADERS["legal_basis"]: "public-interest",
        "Authorization": f"Bearer {env.credentials[CIVIL_REGISTRY]}",
        "Content-Type": "application/fhir+json",
    }

    response, record = attempt(env, lambda: post(env, json.dumps(doc).encode(), change))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/fhir+json"
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["id"] == record["id"]
    assert outcome["issue"], "every problem is an issue"
    for issue in outcome["issue"]:
        assert issue["severity"] == "error"
        assert issue["code"] == "invalid"
        assert issue["diagnostics"]
        assert {c["code"] for c in issue["details"]["coding"]} == {"invalid_message"}
    assert [i["expression"] for i in outcome["issue"]] == [
        [f"/entry/{task_at}/resource/identifier"]
    ]
    assert "registration number" in outcome["issue"][0]["diagnostics"]
    assert record["source"] == CIVIL_REGISTRY


def test_records_hold_no_personal_data(env: DemoEnvironment) -> None:
    denied = env.submit_birth(EMBASSY)
    replayed = post(env, change={HEADERS["idempotency_key"]: FIRST_KEY})
    refused = post(env, NOTIFICATION.replace(b'"individuals"', b'"people"'))

    assert (denied.status_code, replayed.status_code, refused.status_code) == (403, 200, 422)
    records = state(env).records
    assert [r["decision"] for r in records] == ["allowed", "denied", "invalid"]
    assert "Nyandeng" in personal_data() and "KKM-RID-0045671" in personal_data()
    assert_no_personal_data(records)
