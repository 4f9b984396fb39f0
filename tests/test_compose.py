"""docker-compose.yml cannot run here (no Docker engine); check that its shape stays right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parent.parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_api_replicas_share_postgres_and_keep_secrets_out_of_the_environment() -> None:
    services = compose()["services"]

    assert {"postgres", "rabbitmq", "api"} <= set(services)
    api = services["api"]
    assert api["deploy"]["replicas"] >= 2
    assert api["environment"]["GATEWAY_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api["environment"]["GATEWAY_SECRETS_DIR"] == "/run/secrets"
    assert not any("SECRET_KEY" in k or "TOKEN" in k for k in api["environment"])
    assert set(api["secrets"]) == {"gateway_secret_key", "gateway_admin_token"}
    assert api["command"][:2] == ["gateway", "serve"]


def test_secret_names_match_the_settings_fields() -> None:
    from gateway.config import Settings

    for secret in compose()["services"]["api"]["secrets"]:
        assert secret.removeprefix("gateway_") in Settings.model_fields
