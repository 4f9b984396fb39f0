"""The OpenAPI document says what the gateway really answers, and the docs need no other host.

Each answer a route documents is provoked on a served gateway, and the real answer is checked
against the document: its status is documented, its media type too, its body validates
against the schema documented for both, and the headers documented as required are there.
Every documented status of every route is provoked at least once, so the document neither
lacks an answer nor promises one the gateway never gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest
from pydantic import ValidationError

from gateway.api.errors import error_body, operation_outcome
from gateway.api.openapi import SUCCESS_EXAMPLES, reasons_by_status
from gateway.api.schemas import ErrorAnswer, OperationOutcome
from gateway.config import Settings
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
    wait_for,
)
from gateway.demo.server import ServedGateway
from gateway.errors import COUNT_LIMIT, GatewayError, Problem
from tests.api.helpers import BODY_LIMIT, GRANT, NEW_SYSTEM, admin_headers, system_headers
from tests.approvals.support import hold_keyed
from tests.fixtures.network import connect, read_answer

APPROVAL = "/dpo/approvals/{exchange_id}"

FAILURE_LIMIT = 4
MAX_HEADER_BYTES = 8192
EDGE = {"429", "431", "503"}
"""Answered by the edge (throttle, server) the same way on every route: provoked on two."""
JSON, FHIR_JSON = "application/json", "application/fhir+json"
FHIR = {"Accept": FHIR_JSON}
UNKNOWN_ID = "0b3c6f52-1d2e-4c8f-9a57-1c8f2d9e7a10"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Short limits, so that each can be reached: 1 s for a body, 4 failures, 8 KiB of headers."""
    return settings.model_copy(
        update={
            "http_body_timeout_seconds": 1.0,
            "auth_failure_limit": FAILURE_LIMIT,
            "http_max_header_bytes": MAX_HEADER_BYTES,
            **getattr(request, "param", {}),
        }
    )


@pytest.fixture
def document(served: ServedGateway) -> dict[str, Any]:
    answer = httpx.get(f"{served.url}/openapi.json")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, however it was read (httpx, or a raw socket)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        return cls(response.status_code, response.headers, response.content)

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").partition(";")[0].strip().lower()


def validate(instance: Any, schema: dict[str, Any], document: dict[str, Any]) -> None:
    """Validate against a schema of the document, its references resolved within it."""
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(
        instance
    )


@dataclass
class Conformance:
    """Checks answers against the document, and remembers which statuses each route gave."""

    document: dict[str, Any]
    seen: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def operation(self, method: str, path: str) -> dict[str, Any]:
        found: dict[str, Any] = self.document["paths"][path][method.lower()]
        return found

    def check(self, method: str, path: str, answer: Answer | httpx.Response) -> Answer:
        """Assert that `answer` is one the document gives `method path`; return it."""
        if isinstance(answer, httpx.Response):
            answer = Answer.of(answer)
        status = str(answer.status)
        where = f"{method} {path} answered {status}"
        documented = self.operation(method, path)["responses"]
        assert status in documented, f"{where}, which the document lacks: {answer.body[:300]!r}"
        self.seen.setdefault((method, path), set()).add(status)
        response = documented[status]
        for name, header in response.get("headers", {}).items():
            value = answer.headers.get(name)
            assert value is not None or not header["required"], f"{where} without {name}"
            if value is not None:
                typed = int(value) if header["schema"].get("type") == "integer" else value
                validate(typed, header["schema"], self.document)
        content = response.get("content", {})
        assert answer.media_type in content, f"{where} as {answer.media_type}, not documented"
        schema = content[answer.media_type]["schema"]
        if answer.media_type == "application/json" or answer.media_type.endswith("+json"):
            validate(json.loads(answer.body), schema, self.document)
        else:
            validate(answer.body.decode(), schema, self.document)
        return answer

    def unprovoked(self, method: str, path: str, exempt: set[str] = EDGE) -> set[str]:
        documented = set(self.operation(method, path)["responses"])
        return documented - exempt - self.seen.get((method, path), set())


@pytest.fixture
def conformance(document: dict[str, Any]) -> Conformance:
    return Conformance(document)


# --- the exchange submission --------------------------------------------------------------


def submit(
    env: DemoEnvironment,
    destination: str = CIVIL_REGISTRY,
    body: bytes | None = None,
    key: str | None = None,
    **headers: str,
) -> httpx.Response:
    sent = {**env.birth_headers(destination, key), **headers}
    content = birth_notification() if body is None else body
    return httpx.post(f"{env.gateway_url}/exchanges", content=content, headers=sent, timeout=30)


def slow_submission(env: DemoEnvironment, accept: Mapping[str, str]) -> Answer:
    """Declare the whole birth, send half of it, and wait for the gateway to give up (408)."""
    body = birth_notification()
    headers = {**env.birth_headers(CIVIL_REGISTRY), **accept, "Content-Length": str(len(body))}
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with connect(env.gateway_url) as sock:
        sock.sendall(f"POST /exchanges HTTP/1.1\r\nHost: gateway\r\n{lines}\r\n".encode())
        sock.sendall(body[: len(body) // 2])
        status, answered, content = read_answer(sock)
    return Answer(status, httpx.Headers(answered), content)


def oversized_headers(env: DemoEnvironment) -> Answer:
    with connect(env.gateway_url) as sock:
        padding = "a" * MAX_HEADER_BYTES
        sock.sendall(f"POST /exchanges HTTP/1.1\r\nHost: gateway\r\nX-Big: {padding}".encode())
        status, answered, content = read_answer(sock)
    return Answer(status, httpx.Headers(answered), content)


def test_every_answer_of_the_submission_is_documented_and_given(
    env: DemoEnvironment, conformance: Conformance
) -> None:
    check = conformance.check
    method, path = "POST", "/exchanges"
    key = "openapi-birth-0001"
    accepted = check(method, path, submit(env, key=key))
    assert accepted.status == 202
    assert check(method, path, submit(env, key=key)).status == 200
    assert check(method, path, submit(env, key=key, body=birth_notification() + b" ")).status == 409
    for accept in ({}, FHIR):
        refused = [
            submit(env, EMBASSY, **accept),  # 403 denied: origin guard
            submit(env, **{"X-Exchange-Source": EMBASSY}, **accept),  # 403 forbidden
            submit(env, **{"Content-Type": "text/plain"}, **accept),  # 415
            submit(env, **{"X-Exchange-Legal-Basis": "because"}, **accept),  # 422 envelope
            submit(env, body=b'{"individuals": []}', **accept),  # 422 message
            submit(env, "crvs-nationl", **accept),  # 422 unknown system
            submit(env, body=b"{}" + b" " * BODY_LIMIT, **accept),  # 413
            submit(env, Authorization="Bearer not-a-credential", **accept),  # 401
        ]
        statuses = [check(method, path, answer).status for answer in refused]
        assert statuses == [403, 403, 415, 422, 422, 422, 413, 401]
        media_types = {Answer.of(answer).media_type for answer in refused}
        assert media_types == {FHIR_JSON if accept else JSON}
        duplicated = httpx.post(
            f"{env.gateway_url}{path}",
            content=birth_notification(),
            headers=[
                *env.birth_headers(CIVIL_REGISTRY).items(),
                ("Idempotency-Key", "k" * 8),
                *accept.items(),
            ],
        )
        assert check(method, path, duplicated).status == 400
        assert check(method, path, slow_submission(env, accept)).status == 408
    assert check(method, path, oversized_headers(env)).status == 431
    for accept in ({}, FHIR):  # fail until the address is refused
        statuses = [
            check(method, path, submit(env, Authorization="Bearer wrong", **accept)).status
            for _ in range(FAILURE_LIMIT)
        ]
        assert statuses[-1] == 429, statuses
    assert conformance.unprovoked(method, path, exempt={"503"}) == set()


# The held connections send nothing; a long header deadline keeps them open meanwhile.
HELD = {"http_max_connections": 3, "http_header_timeout_seconds": 600}


@pytest.mark.parametrize("settings", [HELD], indirect=True)
def test_the_answer_to_a_connection_over_the_bound_is_documented(
    served: ServedGateway, conformance: Conformance
) -> None:
    answers: list[httpx.Response] = []

    def refused() -> bool:
        answers.append(httpx.post(f"{served.url}/exchanges", content=b"{}", timeout=10))
        return answers[-1].status_code == 503

    held = [connect(served.url) for _ in range(3)]
    try:
        assert wait_for(refused, seconds=30)
    finally:
        for sock in held:
            sock.close()
    conformance.check("POST", "/exchanges", answers[-1])


# --- every other route ---------------------------------------------------------------------

TESTED_APART = {
    ("POST", "/exchanges"),
    ("POST", "/requests"),
    ("GET", "/dead-letters"),
    ("POST", "/dead-letters/replay"),
    ("GET", "/dead-letters/{exchange_id}"),
    ("POST", "/dead-letters/{exchange_id}/replay"),
    ("POST", "/dead-letters/{exchange_id}/discard"),
    ("POST", "/dci/notify"),
    ("POST", "/dci/subscriptions"),
    ("GET", "/registrations/flags"),
    ("POST", "/referrals/interview"),
    ("POST", "/referrals/guide"),
    ("GET", "/referrals/guide"),
    ("GET", "/referrals/guide/versions"),
    ("GET", "/referrals/guide/{version}"),
}
"""Routes whose every answer is provoked by a test of its own: the submission above, the
specific request (tests/api/test_requests.py, which checks its answers against the document)
and the dead letters (tests/dead_letters/test_api.py, likewise)."""


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def concrete(path: str, **ids: str) -> str:
    """The path with each {parameter} replaced (an unknown id unless given)."""
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), UNKNOWN_ID), path)


@pytest.mark.parametrize("settings", [{"auth_failure_limit": 1000}], indirect=True)
def test_every_answer_of_every_other_route_is_documented_and_given(
    env: DemoEnvironment, served: ServedGateway, conformance: Conformance
) -> None:
    url, admin = served.url, admin_headers(served.runtime)
    system = system_headers(env, REGISTRATION)

    def call(method: str, path: str, headers: Any = None, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{url}{path}", headers=headers, timeout=30, **kwargs)

    dpo = {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}
    empty_log = call("GET", "/log/checkpoint", admin)  # before anything is sealed: 404
    exchange_id = submit(env).json()["exchange_id"]
    served.runtime.log.append_all()  # sealed now, not when the appender's interval ends
    consent_id = httpx.post(f"{url}/consents", json=GRANT, headers=admin).json()["id"]
    known = {
        "exchange_id": exchange_id,
        "system_id": CIVIL_REGISTRY,
        "consent_id": consent_id,
        "agreement_id": "birth-registration",
    }

    for method, path, operation in operations(conformance.document):
        if (method, path) in TESTED_APART:
            continue
        secured = bool(operation["security"])
        for ids in ({}, known):
            for accept in ({}, FHIR):
                anyone = call(method, concrete(path, **ids), headers=accept)
                assert (conformance.check(method, path, anyone).status == 401) == secured
                doubled = [*admin.items(), *admin.items(), *accept.items()]
                twice = call(method, concrete(path, **ids), doubled)
                assert conformance.check(method, path, twice).status == 400
            if "403" in operation["responses"]:
                as_system = call(method, concrete(path, **ids), headers=system)
                assert conformance.check(method, path, as_system).status == 403
            if "requestBody" not in operation:
                conformance.check(method, path, call(method, concrete(path, **ids), admin))
                if path.startswith("/dpo/"):  # the DPO's routes: answered, and their 422
                    conformance.check(method, path, call(method, path, dpo))
                    unknown = call(method, path, dpo, params={"unknown": "filter"})
                    conformance.check(method, path, unknown)

    check = conformance.check
    assert check("GET", "/log/checkpoint", empty_log).status == 404
    for size in (1, 999):  # 200, 404
        check("GET", "/log/checkpoints/{size}", call("GET", f"/log/checkpoints/{size}", admin))
    for path, query in [
        ("/log/entries", "start=0&end=1"),
        ("/log/proofs/inclusion", "index=0"),
        ("/log/proofs/consistency", "old=1"),
    ]:
        assert check("GET", path, call("GET", f"{path}?{query}", admin)).status == 200
    check("GET", "/exchanges", call("GET", "/exchanges", admin, params={"limit": 0}))
    check("GET", "/exchanges/{exchange_id}", call("GET", f"/exchanges/{exchange_id}", system))
    for body in (NEW_SYSTEM, NEW_SYSTEM, {**NEW_SYSTEM, "id": "Not An Id"}):
        check("POST", "/systems", call("POST", "/systems", admin, json=body))  # 201, 409, 422
    undecodable = {**admin, "Content-Type": "application/json"}
    not_utf8 = call("POST", "/systems", undecodable, content=b'{"id": "\xff"}')
    assert check("POST", "/systems", not_utf8).status == 422
    padded = {**NEW_SYSTEM, "name": "x" * BODY_LIMIT}
    check("POST", "/systems", call("POST", "/systems", admin, json=padded))  # 413
    for body in (GRANT, {**GRANT, "recipient": "crvs-nationl"}, {**GRANT, "purpose": ""}):
        check("POST", "/consents", call("POST", "/consents", admin, json=body))  # 201, 404, 422
    check(
        "POST", "/consents", call("POST", "/consents", admin, json={**GRANT, "x": "x" * BODY_LIMIT})
    )
    history = "/dpo/subjects/history"
    for body in (
        {"scheme": "progres-individual", "value": "KKM-25-001234"},  # 200
        {"scheme": "progres-individual"},  # 422
        {"scheme": "progres-individual", "value": "x" * BODY_LIMIT},  # 413
    ):
        check("POST", history, call("POST", history, dpo, json=body))
    hold_keyed(served.runtime)  # tests/approvals/support.py: keys held-... wait for the DPO
    for action, body in (("approve", {}), ("reject", {"reason": "not covered"})):
        held = submit(env, key=f"held-openapi-{action}").json()["exchange_id"]
        check("GET", APPROVAL, call("GET", f"/dpo/approvals/{held}", dpo))  # 200
        decided, path = f"{APPROVAL}/{action}", f"/dpo/approvals/{held}/{action}"
        for sent in ({"reason": ""}, {"reason": "x" * BODY_LIMIT}, body, body):
            check("POST", decided, call("POST", path, dpo, json=sent))  # 422, 413, 200, 409
        unknown = f"/dpo/approvals/{UNKNOWN_ID}/{action}"
        check("POST", decided, call("POST", unknown, dpo, json=body))  # 404
    explain = "/policy/explain"
    birth = {**env.birth_headers(CIVIL_REGISTRY), **dpo}
    for source, body in (
        (REGISTRATION, birth_notification()),  # 200
        ("nobody", birth_notification()),  # 404
        (REGISTRATION, b" " * (BODY_LIMIT + 1)),  # 413
        (REGISTRATION, b"{}"),  # 422
    ):
        answer = call("POST", f"{explain}?source={source}", birth, content=body)
        check("POST", explain, answer)
    statistics = "/statistics/query"
    for body in (
        {"dimensions": ["sex"]},
        {"dimensions": ["religion"]},
        {"location": ["x" * BODY_LIMIT]},
    ):
        check("POST", statistics, call("POST", statistics, admin, json=body))  # 200, 422, 413
    withdraw = f"/consents/{consent_id}/withdraw"  # withdrawn in the loop above: now a 409
    check("POST", "/consents/{consent_id}/withdraw", call("POST", withdraw, admin))
    for method, path, _ in operations(conformance.document):
        if (method, path) not in TESTED_APART:
            assert conformance.unprovoked(method, path) == set(), f"{method} {path}"


def test_the_edge_answers_every_route_as_documented(
    env: DemoEnvironment, served: ServedGateway, conformance: Conformance
) -> None:
    """Refused by the throttle and the server alike, whatever the route."""
    for _ in range(FAILURE_LIMIT):
        httpx.get(f"{served.url}/systems", headers={"Authorization": "Bearer wrong"})
    for method, path, _ in operations(conformance.document):
        throttled = httpx.request(method, f"{served.url}{concrete(path)}")
        assert conformance.check(method, path, throttled).status == 429
    with connect(served.url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * MAX_HEADER_BYTES)
        status, headers, body = read_answer(sock)
    answer = Answer(status, httpx.Headers(headers), body)
    assert conformance.check("GET", "/health", answer).status == 431


# --- the document itself -------------------------------------------------------------------


def test_the_document_describes_the_submission_from_the_envelope_and_the_adapters(
    document: dict[str, Any], served: ServedGateway
) -> None:
    submission = document["paths"]["/exchanges"]["post"]
    headers = {p["name"]: p for p in submission["parameters"] if p["in"] == "header"}
    required = {name for name, p in headers.items() if p["required"]}
    assert required == {
        "X-Exchange-Destination",
        "X-Exchange-Message-Type",
        "X-Exchange-Purpose",
        "X-Exchange-Legal-Basis",
        "Idempotency-Key",
    }
    assert set(headers) - required == {
        "X-Exchange-Agreement",
        "X-Exchange-Best-Interests",
        "X-Exchange-Source",
    }
    key = headers["Idempotency-Key"]["schema"]
    assert (key["minLength"], key["maxLength"]) == (8, 128)
    adapters = served.runtime.exchanges.adapters
    read = {t for n in adapters.names() for t in adapters.get(n).media_types}
    assert set(submission["requestBody"]["content"]) == read
    assert {JSON, FHIR_JSON, "application/xml", "text/xml"} <= read
    example = submission["requestBody"]["content"][JSON]["examples"]
    assert example["progres-birth-notification"]["value"] == json.loads(birth_notification())
    assert submission["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert document["paths"]["/health"]["get"]["security"] == []


def test_the_gateways_own_422_replaces_fastapis_everywhere(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and "ValidationError" not in text
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and status != "503":
                schema = response["content"][JSON]["schema"]
                assert schema["allOf"][0] == {"$ref": "#/components/schemas/ErrorAnswer"}, path
                reasons = schema["allOf"][1]["properties"]["reason"]["enum"]
                assert reasons == reasons_by_status()[int(status)], f"{method} {path} {status}"


def test_every_documented_example_fits_its_schema(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                examples = [e["value"] for e in media.get("examples", {}).values()]
                if "example" in media:
                    examples.append(media["example"])
                assert examples, f"{method} {path} {status} {media_type} has no example"
                for example in examples:
                    validate(example, media["schema"], document)
    for name, example in SUCCESS_EXAMPLES.items():
        validate(example, {"$ref": f"#/components/schemas/{name}"}, document)


def test_the_docs_ask_no_other_host_for_anything(served: ServedGateway) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{served.url}{page}").text
        assets = re.findall(r"""(?:src|href|url)\s*[=:]\s*["']([^"']+)["']""", html)
        assert assets, page
        for asset in assets:
            assert not re.match(r"^(?:[a-z]+:)?//", asset), f"{page} loads {asset}"
            loaded = httpx.get(f"{served.url}{asset}")
            assert loaded.status_code == 200, asset  # through every middleware of the app
        assert "fonts.googleapis" not in html
        policy = httpx.get(f"{served.url}{page}").headers["content-security-policy"]
        assert "default-src 'none'" in policy and "connect-src 'self'" in policy
        assert "img-src 'self' data:" in policy and "http" not in policy
    swagger = httpx.get(f"{served.url}/docs").text
    assert '"validatorUrl": null' in swagger and '"persistAuthorization": true' in swagger


# --- the error answers and their models ----------------------------------------------------


def errors() -> Iterator[GatewayError]:
    """An error of every kind, with and without problems, policy reasons and a record."""
    kinds: list[type[GatewayError]] = [GatewayError]
    while kinds:
        kind = kinds.pop()
        kinds.extend(kind.__subclasses__())
        yield kind("bare")
        many = kind("many", (Problem(f"/x/{i}", "is wrong") for i in range(COUNT_LIMIT + 5)))
        many.exchange_id = UNKNOWN_ID
        yield many
        yield kind("denied", [Problem("X-Exchange-Purpose", "p")], reasons=["consent.missing"])


def test_every_error_body_fits_the_documented_models(document: dict[str, Any]) -> None:
    """The renderers are not built through the models (they run on every refusal): this
    keeps them from drifting apart. Every key of the models is written, and nothing else."""
    written: set[str] = set()
    issue_keys: set[str] = set()
    for error in errors():
        body, outcome = error_body(error), operation_outcome(error)
        ErrorAnswer.model_validate(body)
        OperationOutcome.model_validate(outcome)
        validate(body, {"$ref": "#/components/schemas/ErrorAnswer"}, document)
        validate(outcome, {"$ref": "#/components/schemas/OperationOutcome"}, document)
        written |= set(body)
        issue_keys |= {key for issue in outcome["issue"] for key in issue}
    assert written == set(ErrorAnswer.model_fields)
    assert issue_keys == {"severity", "code", "details", "diagnostics", "expression"}


def test_the_error_model_refuses_what_the_renderer_does_not_write() -> None:
    body = error_body(GatewayError("x"))
    for wrong in ({**body, "extra": 1}, {**body, "reasons": []}, {**body, "exchange_id": None}):
        with pytest.raises(ValidationError):
            ErrorAnswer.model_validate(wrong)
