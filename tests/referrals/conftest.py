"""A served gateway with the referral routes, the test policy, and an authority per stand-in.

Systems: the border system (uto-border, speaking the shipped `border` adapter's dialect) and
each authority of the sample guide, a real HTTP stand-in on 127.0.0.1: child protection is a
Primero instance, the others receive referrals in the border system's shape too.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.border import BorderAdapter
from adapters.primero import PrimeroAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway import systems
from gateway.api import referrals, server
from gateway.api.app import create_app
from gateway.config import Settings
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from gateway.systems import SystemSpec
from tests.fixtures.policies import agreement, policy_folder
from tests.referrals.helpers import sample_guide_text

BORDER = "uto-border"
NAME = BorderAdapter.name
AUTHORITIES = {  # system id -> adapter
    "uto-asylum": NAME,
    "uto-child-protection": "primero",
    "uto-anti-trafficking": NAME,
    "uto-social-care": NAME,
    "uto-emergency": NAME,
}


# Border referrals: a border system refers persons to the authorities of the National
# Reference Guide, each under the basis the guide names (seed 001, section 9).
RULES = """
p, border-control, child-protection, referral, child-protection, legal-obligation, identity|nationality|family
p, border-control, anti-trafficking, referral, victim-protection, legal-obligation, identity|nationality
p, border-control, emergency-service, referral, emergency-care, vital-interests, identity
p, border-control, asylum-authority, referral, asylum-procedure, consent, identity|nationality|protection
p, border-control, social-care, referral, specific-needs-care, consent, identity|specific_needs
g, uto-border, border-control
g, uto-child-protection, child-protection
g, uto-anti-trafficking, anti-trafficking
g, uto-emergency, emergency-service
g, uto-asylum, asylum-authority
g, uto-social-care, social-care
"""  # noqa: E501
# The national referral mechanism behind the rules.
AGREEMENTS = agreement(
    "national-referral-mechanism",
    (
        *("border-control", "child-protection", "anti-trafficking", "emergency-service"),
        *("asylum-authority", "social-care"),
    ),
    "child-protection|victim-protection|emergency-care|asylum-procedure|specific-needs-care",
    "identity|nationality|family|protection|specific_needs",
    "legal-obligation|vital-interests|consent",
    title="National referral mechanism for persons in need of international protection",
)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped model with the border referral rules and agreement alone."""
    policy = policy_folder(tmp_path / "policy", RULES, AGREEMENTS, shipped=False)
    return settings.model_copy(update={"policy_dir": policy})


def adapters() -> AdapterRegistry:
    return AdapterRegistry.from_factories(
        {"primero": PrimeroAdapter, "progres": ProgresAdapter, NAME: BorderAdapter}
    )


@dataclass
class Border:
    """The served gateway, its stand-ins and the credentials the tests call with."""

    runtime: Runtime
    url: str
    standins: dict[str, StandIn] = field(default_factory=dict)
    credential: str = ""

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.runtime.settings.resolved_admin_token()}"}

    def interview(self, doc: dict[str, Any], key: str = "interview-0001") -> httpx.Response:
        return httpx.post(
            f"{self.url}/referrals/interview",
            json=doc,
            headers={"Authorization": f"Bearer {self.credential}", "Idempotency-Key": key},
            timeout=30,
        )

    def publish(self, body: bytes, content_type: str = "application/json") -> httpx.Response:
        headers = {**self.admin, "Content-Type": content_type}
        return httpx.post(f"{self.url}/referrals/guide", content=body, headers=headers, timeout=30)


def serve(runtime: Runtime) -> tuple[server.ReadyServer, threading.Thread, str]:
    """Serve the app with the referral routes, as `gateway serve` would once they are listed."""
    app = create_app(runtime)
    if not any(getattr(r, "path", "") == "/referrals/interview" for r in app.routes):
        app.include_router(referrals.router)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    ready = server.ReadyServer(server.config(app, runtime.settings))
    thread = threading.Thread(target=ready.run, kwargs={"sockets": [sock]}, name="gateway-http")
    thread.start()
    deadline = time.monotonic() + 15
    while not ready.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the gateway did not start"
        time.sleep(0.02)
    return ready, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def border(settings: Settings) -> Iterator[Border]:
    runtime = Runtime.build(settings, adapters=adapters())
    ready, thread, url = serve(runtime)
    env = Border(runtime, url)
    try:
        env.standins = {name: StandIn(name).start() for name in AUTHORITIES}
        with runtime.db.unit_of_work() as session:
            for name, adapter in AUTHORITIES.items():
                spec = SystemSpec(
                    id=name,
                    name=name,
                    adapter=adapter,
                    endpoint=env.standins[name].url,
                    jurisdiction=settings.host_jurisdiction,
                )
                systems.register(session, spec, runtime.sealer)
            border_spec = SystemSpec(
                id=BORDER,
                name="Border guard",
                adapter=NAME,
                jurisdiction=settings.host_jurisdiction,
            )
            env.credential = systems.register(session, border_spec, runtime.sealer)[1]
        yield env
    finally:
        ready.should_exit = True
        thread.join(timeout=15)
        for standin in env.standins.values():
            standin.stop()


@pytest.fixture
def published(border: Border) -> Border:
    """The gateway with the sample guide (version 1) published."""
    import yaml

    document = yaml.safe_load(sample_guide_text())
    answer = httpx.post(
        f"{border.url}/referrals/guide", json=_jsonable(document), headers=border.admin, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return border


def _jsonable(value: Any) -> Any:
    """YAML reads dates as dates: write them as JSON does."""
    import datetime as dt

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value
