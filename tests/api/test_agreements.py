"""The agreements registry over HTTP: read-only, for the administrator and the DPO."""

from __future__ import annotations

import httpx

from gateway.demo.flow import REGISTRATION
from tests.api.helpers import admin_headers, system_headers


def dpo(served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}


def test_every_version_is_listed_with_the_one_in_force(served) -> None:
    answer = httpx.get(f"{served.url}/agreements", headers=dpo(served))

    assert answer.status_code == 200
    [birth] = answer.json()
    assert birth["citation"] == "birth-registration@v1"
    assert birth["in_force"] is True
    assert birth["parties"] == ["civil-registry", "registration-authority"]


def test_one_agreement_is_read_by_id(served) -> None:
    found = httpx.get(
        f"{served.url}/agreements/birth-registration", headers=admin_headers(served.runtime)
    )
    missing = httpx.get(f"{served.url}/agreements/{'x' * 100}", headers=dpo(served))

    assert found.status_code == 200
    assert [v["version"] for v in found.json()] == [1]
    assert missing.status_code == 404
    assert "x" * 100 not in missing.text


def test_systems_and_strangers_do_not_read_the_registry(served, env) -> None:
    as_system = httpx.get(f"{served.url}/agreements", headers=system_headers(env, REGISTRATION))
    anonymous = httpx.get(f"{served.url}/agreements")

    assert as_system.status_code == 403
    assert anonymous.status_code == 401
