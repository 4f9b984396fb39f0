"""Requests the API tests make: as the administrator, as a system, as proGres sending a birth."""

from __future__ import annotations

import uuid

import httpx

from gateway.demo.flow import (
    CIVIL_REGISTRY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
    envelope_headers,
)
from gateway.runtime import Runtime

BODY_LIMIT = 16 * 1024  # the demo notification is about 4 KiB


def admin_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.resolved_admin_token()}"}


def system_headers(env: DemoEnvironment, system_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.credentials[system_id]}"}


def birth_headers(
    env: DemoEnvironment, destination: str = CIVIL_REGISTRY, key: str | None = None
) -> dict[str, str]:
    """Return the headers proGres sends a birth notification with."""
    headers = envelope_headers(
        destination, "birth-notification", "consent", key or f"test-{uuid.uuid4()}"
    )
    headers.update(system_headers(env, REGISTRATION))
    return headers


def send_birth(
    env: DemoEnvironment, destination: str = CIVIL_REGISTRY, key: str | None = None
) -> httpx.Response:
    """Submit the demo birth notification as proGres."""
    return httpx.post(
        f"{env.gateway_url}/exchanges",
        content=birth_notification(),
        headers=birth_headers(env, destination, key),
        timeout=30,
    )
