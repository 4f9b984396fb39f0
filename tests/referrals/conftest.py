"""A served gateway with the referral routes, the test policy, and an authority per stand-in.

Systems: the border system (uto-border, speaking the shipped `border` adapter's dialect) and
each authority of the sample guide, a real HTTP stand-in on 127.0.0.1: child protection is a
Primero instance, the others receive referrals in the border system's shape too.
"""

from __future__ import annotations

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
from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from gateway.systems import SystemSpec
from tests.fixtures.policies import agreement, policy_folder
from tests.referrals.helpers import guide_doc

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


@pytest.fixture
def border(settings: Settings) -> Iterator[Border]:
    runtime = Runtime.build(settings, adapters=adapters())
    served = ServedGateway(runtime).start()
    env = Border(runtime, served.url)
    try:
        env.standins = {name: StandIn(name).start() for name in AUTHORITIES}
        for name, adapter in AUTHORITIES.items():
            spec = SystemSpec(
                id=name,
                name=name,
                adapter=adapter,
                endpoint=env.standins[name].url,
                jurisdiction=settings.host_jurisdiction,
            )
            runtime.systems.register(spec)
        border_spec = SystemSpec(
            id=BORDER, name="Border guard", adapter=NAME, jurisdiction=settings.host_jurisdiction
        )
        env.credential = runtime.systems.register(border_spec)[1]
        yield env
    finally:
        served.stop()
        for standin in env.standins.values():
            standin.stop()


@pytest.fixture
def published(border: Border) -> Border:
    """The gateway with the sample guide (version 1) published."""
    answer = httpx.post(
        f"{border.url}/referrals/guide", json=guide_doc(), headers=border.admin, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return border
