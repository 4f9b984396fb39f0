"""Credentials the API tests present: the administrator's, a system's."""

from __future__ import annotations

from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.runtime import Runtime

BODY_LIMIT = 16 * 1024  # the demo notification is about 4 KiB
NEW_SYSTEM = {
    "id": "registry-two",
    "name": "A second civil registry",
    "adapter": "opencrvs",
    "endpoint": "http://127.0.0.1:9/",
    "jurisdiction": "KEN",
}
SUBJECT_ID = "KKM-26-009911"
GRANT = {
    "subject": {"scheme": "progres-individual", "value": SUBJECT_ID},
    "recipient": CIVIL_REGISTRY,
    "purpose": "birth-registration",
    "categories": ["identity", "birth"],
}


def admin_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.resolved_admin_token()}"}


def system_headers(env: DemoEnvironment, system_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.credentials[system_id]}"}
