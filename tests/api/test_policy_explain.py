"""What if: the decision on a hypothetical exchange, every rule that fired; nothing kept."""

from __future__ import annotations

import httpx

from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
)
from gateway.demo.server import ServedGateway
from tests.api.helpers import BODY_LIMIT, admin_headers, system_headers


def explain(served: ServedGateway, env: DemoEnvironment, destination: str, auth, **extra):
    headers = {**env.birth_headers(destination), **auth, **extra}
    return httpx.post(
        f"{served.url}/policy/explain",
        params={"source": REGISTRATION},
        content=birth_notification(),
        headers=headers,
    )


def dpo(served: ServedGateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}


def test_an_allowed_exchange_is_explained_rule_by_rule(served, env) -> None:
    answer = explain(served, env, CIVIL_REGISTRY, dpo(served))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["allowed"] is True
    assert body["agreement"] == "birth-registration@v1"
    stages = [fired["stage"] for fired in body["trace"]]
    assert stages[:3] == ["origin", "rules", "agreement"]
    assert "consent" in stages and "children" in stages
    assert body["meanings"] == {"allowed": "allowed"}


def test_a_denial_is_explained_and_nothing_is_recorded_or_remembered(served, env) -> None:
    runtime = served.runtime
    before = httpx.get(f"{served.url}/exchanges", headers=admin_headers(runtime)).json()

    answer = explain(served, env, EMBASSY, admin_headers(runtime))

    assert answer.status_code == 200
    body = answer.json()
    assert body["allowed"] is False
    assert body["reasons"] == ["origin.risk_country"]
    assert "state where a subject is at risk" in body["meanings"]["origin.risk_country"]
    after = httpx.get(f"{served.url}/exchanges", headers=admin_headers(runtime)).json()
    assert after == before


def test_a_system_may_not_ask_what_if(served, env) -> None:
    answer = explain(served, env, CIVIL_REGISTRY, system_headers(env, REGISTRATION))

    assert answer.status_code == 403


def test_bad_what_if_requests_are_refused_clearly(served, env) -> None:
    unknown = httpx.post(
        f"{served.url}/policy/explain",
        params={"source": "nobody"},
        content=b"{}",
        headers={**env.birth_headers(CIVIL_REGISTRY), **dpo(served)},
    )
    malformed = httpx.post(
        f"{served.url}/policy/explain",
        params={"source": "Not A Name"},
        content=b"{}",
        headers=dpo(served),
    )
    broken = explain(served, env, CIVIL_REGISTRY, dpo(served), **{"X-Exchange-Purpose": "?"})
    deep, oversized = (
        httpx.post(
            f"{served.url}/policy/explain",
            params={"source": REGISTRATION},
            content=content,
            headers={**env.birth_headers(CIVIL_REGISTRY), **dpo(served)},
        )
        for content in (b'{"individuals": ' + b"[" * 3000, b" " * (BODY_LIMIT + 1))
    )

    assert unknown.status_code == 404
    assert malformed.status_code == 422
    assert broken.status_code == 422
    assert [p["location"] for p in broken.json()["problems"]] == ["X-Exchange-Purpose"]
    assert deep.status_code == 422
    assert oversized.status_code == 413
