"""A specific request by birth registration number, answered from a DCI civil registry.

The whole pull road over HTTP: a host-state authority asks the gateway (`POST /requests`)
about the person a BRN names; once the request is allowed the gateway searches the stand-in
DCI registry, decides again on its record, and answers it minimised. "No record" and an
answer that cannot be read are the one denial (neither confirm nor deny).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.systems import SystemSpec
from tests.dci.registry import BRN, StandInDciRegistry
from tests.fixtures.policies import agreement, policy_folder

REGISTRY, AUTHORITY = "crvs-dci", "ken-dra"
AGREEMENT = "ken-crvs-verification"
RULES = (
    "\np, civil-registry, host-authority, specific-request, asylum-procedure, public-interest, "
    "identity|identifiers\ng, crvs-dci, civil-registry\ng, ken-dra, host-authority\n"
)
AGREEMENTS = agreement(
    AGREEMENT,
    ("civil-registry", "host-authority"),
    "asylum-procedure",
    "identity|identifiers",
    "public-interest",
    title="Verification of birth registrations by the refugee authority",
)
JUSTIFICATION = (
    "The applicant states that her daughter was born in Kakuma in 2023 and registered there; "
    "to add the child to the asylum claim we need to confirm the birth registration number."
)
DENIED = {"reason": "denied", "reasons": ["request.denied"]}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped policy with the verification rule and agreement; generous deadlines."""
    return settings.model_copy(
        update={
            "policy_dir": policy_folder(tmp_path / "policy", RULES, AGREEMENTS),
            "request_denial_floor_seconds": 2.0,
            "request_fetch_timeout_seconds": 1.8,
        }
    )


@dataclass
class Asking:
    url: str
    registry: StandInDciRegistry
    credential: str

    def ask(self, number: str = BRN) -> httpx.Response:
        body: dict[str, Any] = {
            "registry": REGISTRY,
            "subject": {"identifiers": [{"scheme": "brn", "value": number}]},
            "purpose": "asylum-procedure",
            "legal_basis": "public-interest",
            "agreement": AGREEMENT,
            "categories": ["identity", "identifiers"],
            "case_reference": "KEN-DRA-2026-00977",
            "justification": JUSTIFICATION,
        }
        headers = {"Authorization": f"Bearer {self.credential}"}
        return httpx.post(f"{self.url}/requests", json=body, headers=headers, timeout=30)


@pytest.fixture
def asking(gateway: ServedGateway, registry: StandInDciRegistry) -> Iterator[Asking]:
    specs = [
        SystemSpec(
            id=REGISTRY,
            name="Civil registry (DCI)",
            adapter="dci",
            endpoint=registry.url,
            jurisdiction="KEN",
        ),
        SystemSpec(id=AUTHORITY, name="Refugee affairs", adapter="opencrvs", jurisdiction="KEN"),
    ]
    runtime = gateway.runtime
    credentials = {spec.id: runtime.systems.register(spec)[1] for spec in specs}
    yield Asking(gateway.url, registry, credentials[AUTHORITY])


def test_a_registered_child_is_answered_by_brn(asking: Asking) -> None:
    answer = asking.ask()

    assert answer.status_code == 200, answer.text
    person = answer.json()["person"]
    assert {"scheme": "brn", "value": BRN} in person["identifiers"]
    assert person["names"] == [{"given": ["Elena"], "family": "Martinez"}]
    [asked] = asking.registry.asked
    assert asked.path == "/registry/sync/search"
    assert asked.body["message"]["search_request"][0]["search_criteria"]["query"] == {
        "type": "BRN",
        "value": BRN,
    }


@pytest.mark.parametrize("answer", [None, b'{"header": {"action": "on-search"}}'])
def test_no_record_and_a_broken_answer_are_the_same_denial(
    asking: Asking, answer: bytes | None
) -> None:
    asking.registry.answer = answer
    refused = asking.ask("2023ZZZZZZZ" if answer is None else BRN)

    assert refused.status_code == 403, refused.text
    assert {k: refused.json()[k] for k in DENIED} == DENIED
    assert len(asking.registry.asked) == 1  # asked once the request was allowed
