"""A sender denied by the rules is told what they would accept; one denied by the guard is not."""

from __future__ import annotations

import httpx

from gateway.canonical import Envelope, LegalBasis
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    DemoEnvironment,
    birth_notification,
)
from gateway.demo.server import ServedGateway
from gateway.errors import Problem
from gateway.policy.reasons import what_the_rules_accept

ACCEPTED = (
    "the rules accept from unhcr-progres to crvs-national:"
    " birth-notification for birth-registration under consent"
)


def send(
    served: ServedGateway, env: DemoEnvironment, destination: str, **envelope: str
) -> httpx.Response:
    headers = env.birth_headers(destination)
    for name, value in envelope.items():
        headers[f"X-Exchange-{name.replace('_', '-').title()}"] = value
    return httpx.post(f"{served.url}/exchanges", content=birth_notification(), headers=headers)


def test_a_purpose_no_rule_has_is_answered_with_what_the_rules_accept(
    served: ServedGateway, env: DemoEnvironment
) -> None:
    answer = send(served, env, CIVIL_REGISTRY, purpose="statistics")
    assert answer.status_code == 403
    body = answer.json()
    assert body["reasons"] == ["rules.no_match"]
    assert body["problems"] == [{"location": "X-Exchange-Purpose", "message": ACCEPTED}]


def test_a_basis_no_rule_has_is_answered_with_what_the_rules_accept(
    served: ServedGateway, env: DemoEnvironment
) -> None:
    answer = send(served, env, CIVIL_REGISTRY, legal_basis="public-interest")
    assert answer.status_code == 403
    assert answer.json()["reasons"] == ["rules.legal_basis"]
    assert [p["message"] for p in answer.json()["problems"]] == [ACCEPTED]


def test_a_replayed_denial_says_the_same(served: ServedGateway, env: DemoEnvironment) -> None:
    headers = env.birth_headers(CIVIL_REGISTRY, key="hint-replay-0001")
    headers["X-Exchange-Purpose"] = "statistics"
    first, again = (
        httpx.post(f"{served.url}/exchanges", content=birth_notification(), headers=headers)
        for _ in range(2)
    )
    assert first.status_code == again.status_code == 403
    assert first.json()["problems"] == again.json()["problems"] != []


def test_the_origin_guard_gives_no_hint(served: ServedGateway, env: DemoEnvironment) -> None:
    answer = send(served, env, EMBASSY)
    assert answer.status_code == 403
    assert answer.json()["reasons"] == ["origin.risk_country"]
    assert answer.json()["problems"] == []


def test_a_pair_no_rule_joins_is_named() -> None:
    envelope = Envelope(
        source="a",
        destination="b",
        message_type="birth-notification",
        purpose="birth-registration",
        legal_basis=LegalBasis.CONSENT,
        idempotency_key="hint-0000",
    )
    assert what_the_rules_accept(envelope, ["rules.no_match"], []) == [
        Problem("X-Exchange-Destination", "no rule lets anything go from a to b")
    ]
    assert what_the_rules_accept(envelope, ["consent.missing"], []) == []
