"""A migration world: a retired legacy tool, proGres v4, a host-state registry, one rule.

The legacy tool's export goes to proGres (controlled by UNHCR, "UNO") under an agreement
naming public interest; the host state's refugee services registry (KEN) is covered too, so
a row about a Kenyan national sent there is denied by the origin guard, as it must be.
"""

from __future__ import annotations

from pathlib import Path

from adapters.legacy import LegacyRegistrationAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway import systems
from gateway.bulk.service import ImportRequest
from gateway.config import Settings
from gateway.runtime import Runtime
from gateway.systems import SystemSpec
from tests.fixtures.policies import agreement, policy_folder

SOURCE, PROGRES, HOST_REGISTRY = "legacy-rapp", "progres-v4", "refugee-services"
PURPOSE, BASIS, AGREEMENT = "registration-migration", "public-interest", "legacy-migration"
CATEGORIES = "identity|nationality|identifiers|legal_status"
MESSAGE = "individual-registration"
RULES = f"""
p, legacy-registry, registration-authority, {MESSAGE}, {PURPOSE}, {BASIS}, {CATEGORIES}
g, {SOURCE}, legacy-registry
g, {PROGRES}, registration-authority
g, {HOST_REGISTRY}, registration-authority
"""
AGREEMENTS = agreement(
    AGREEMENT,
    ("legacy-registry", "registration-authority"),
    PURPOSE,
    CATEGORIES,
    BASIS,
    title="Migration of the retired registration tool's records",
)


def registry() -> AdapterRegistry:
    return AdapterRegistry.from_factories(
        {"legacy-registration": LegacyRegistrationAdapter, "progres": ProgresAdapter}
    )


def build(settings: Settings) -> Runtime:
    """Build the gateway with the world's policy and adapters (the relay not started)."""
    policy = policy_folder(settings.data_dir / "policy", RULES, AGREEMENTS, shipped=False)
    return Runtime.build(settings.model_copy(update={"policy_dir": policy}), adapters=registry())


def register(runtime: Runtime, endpoint: str = "http://127.0.0.1:9/") -> None:
    """Register the three systems (once); destinations deliver to `endpoint`."""
    specs = [
        SystemSpec(id=SOURCE, name="Retired registration tool", adapter="legacy-registration"),
        SystemSpec(
            id=PROGRES, name="proGres v4", adapter="progres", endpoint=endpoint, jurisdiction="UNO"
        ),
        SystemSpec(
            id=HOST_REGISTRY,
            name="Refugee services registry",
            adapter="progres",
            endpoint=endpoint,
            jurisdiction="KEN",
        ),
    ]
    with runtime.db.unit_of_work() as session:
        known = {s.id for s in systems.list_all(session)}
        for spec in specs:
            if spec.id not in known:
                systems.register(session, spec, runtime.sealer)


def request(path: Path, destination: str = PROGRES, **changes: object) -> ImportRequest:
    fields: dict[str, object] = {
        "path": path,
        "source": SOURCE,
        "destination": destination,
        "purpose": PURPOSE,
        "legal_basis": BASIS,
        "agreement": AGREEMENT,
    }
    return ImportRequest(**{**fields, **changes})  # type: ignore[arg-type]
