"""GET /metrics on a served gateway: who reads it, what exchanges move, what it never says."""

from __future__ import annotations

import json

import httpx
import pytest

from gateway.config import Settings
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
)
from gateway.demo.server import ServedGateway
from tests.metrics.support import count, parse, scrape, value


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.model_copy(update=getattr(request, "param", {}))


def get_metrics(served: ServedGateway, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{served.url}/metrics", headers=headers, timeout=30)


def test_only_the_administrator_reads_the_metrics(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    settings = served.runtime.settings
    refused = {
        "no credential": get_metrics(served),
        "not a credential": get_metrics(served, "not-a-credential"),
        "a system's": get_metrics(served, env.credentials[REGISTRATION]),
        "the DPO's": get_metrics(served, settings.resolved_dpo_token()),
    }
    assert {who: a.status_code for who, a in refused.items()} == {
        "no credential": 401,
        "not a credential": 401,
        "a system's": 403,
        "the DPO's": 403,
    }
    assert {a.json()["reason"] for a in refused.values()} == {"unauthenticated", "forbidden"}

    answer = get_metrics(served, settings.resolved_admin_token())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = parse(answer.text)
    assert value(samples, "gateway_outbox_up") == 1.0
    for destination in (REGISTRATION, CIVIL_REGISTRY, EMBASSY):  # registered: a queue of 0
        for status in ("pending", "awaiting-approval", "dead"):
            queue = {"destination": destination, "status": status}
            assert value(samples, "gateway_outbox_messages", **queue) == 0


@pytest.mark.parametrize("settings", [{"metrics_public": True}], indirect=True)
def test_public_metrics_are_open_to_any_caller(served: ServedGateway) -> None:
    assert get_metrics(served).status_code == 200
    assert get_metrics(served, "not-a-credential").status_code == 200


def test_each_exchange_moves_the_counters_of_its_decision_reasons_and_answer(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    before = scrape(served)
    allowed = env.submit_birth(CIVIL_REGISTRY, key="metrics-allowed-0001")
    replay = env.submit_birth(CIVIL_REGISTRY, key="metrics-allowed-0001")
    denied = env.submit_birth(EMBASSY)
    invalid = env.submit_birth(CIVIL_REGISTRY, body=b"{}")
    assert [a.status_code for a in (allowed, replay, denied, invalid)] == [202, 200, 403, 422]
    after = scrape(served)

    def moved(name: str, **labels: str) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    exchanges = "gateway_exchanges_total"
    # The replay is the same exchange, answered from its record: not counted again.
    assert [moved(exchanges, decision=d) for d in ("allowed", "denied", "invalid")] == [1, 1, 1]
    reasons = "gateway_exchange_reasons_total"
    assert denied.json()["reasons"] == ["origin.risk_country"]
    assert moved(reasons, decision="denied", reason="origin.risk_country") == 1
    assert moved(reasons, decision="invalid", reason=invalid.json()["reason"]) == 1
    assert moved(reasons, decision="allowed", reason="allowed") == 0
    for status in ("202", "200", "403", "422"):  # one answer of each, timed
        assert moved("gateway_exchange_seconds_count", status=status) == 1
        assert moved("gateway_exchange_seconds_bucket", status=status, le="+Inf") == 1
    # The allowed one waits in the outbox (the relay is off), accepted a moment ago.
    queued = {"destination": CIVIL_REGISTRY, "status": "pending"}
    assert value(after, "gateway_outbox_messages", **queued) == 1
    age = value(after, "gateway_outbox_oldest_age_seconds", **queued)
    assert age is not None and age >= 0


def test_no_label_holds_anything_of_the_people_an_exchange_is_about(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    assert env.submit_birth(CIVIL_REGISTRY).status_code == 202
    assert env.submit_birth(EMBASSY).status_code == 403
    admin = served.runtime.settings.resolved_admin_token()
    text = get_metrics(served, admin).text

    notification = json.loads(birth_notification())
    personal = {notification["progres_dateofbirth"], notification["progres_placeofbirth"]}
    for person in notification["individuals"]:
        personal |= {
            person["progres_givenname"],
            person["progres_familyname"],
            person["progres_individualid"],
            person["progres_dateofbirth"],
        }
        personal |= {d["progres_documentnumber"] for d in person.get("progres_documents", [])}
    assert len(personal) >= 10
    for fact in sorted(personal):
        assert fact.lower() not in text.lower(), fact
    labels = {k for (_, pairs) in parse(text) for k, _ in pairs}
    assert labels <= {"decision", "reason", "status", "destination", "outcome", "le"}
