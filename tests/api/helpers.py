"""Credentials the API tests present: the administrator's, a system's."""

from __future__ import annotations

from gateway.demo.flow import DemoEnvironment
from gateway.runtime import Runtime

BODY_LIMIT = 16 * 1024  # the demo notification is about 4 KiB


def admin_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.resolved_admin_token()}"}


def system_headers(env: DemoEnvironment, system_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.credentials[system_id]}"}
