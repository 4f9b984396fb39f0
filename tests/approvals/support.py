"""What the approval tests share: a policy that holds chosen exchanges, and the DPO's calls.

TEST DOUBLE: `HoldingEngine` is the real policy engine, whose decision it passes on unchanged
but for `Decision.approval`, set for every allowed exchange whose idempotency key starts with
`held-`. The engine sets `approval` itself from the policy (sensitive categories, agreements
that ask for it, the origin exceptions); the double lets these tests hold the demo's birth
notification, which the demo policy has no reason to hold, and keep the one next to it
unheld, whatever the policy files say.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.policy import Decision, PolicyEngine, PolicyRequest
from gateway.runtime import Runtime

HELD = "held-"
"""The idempotency keys of the exchanges the double holds start with this."""
WHY = "sensitive categories: specific_needs"


class HoldingEngine(PolicyEngine):
    """The real engine; an allowed exchange keyed `held-...` waits for the DPO (a test double)."""

    def decide(self, request: PolicyRequest) -> Decision:
        decision = super().decide(request)
        if decision.allowed and request.envelope.idempotency_key.startswith(HELD):
            return replace(decision, approval=WHY)
        return decision


def hold_keyed(runtime: Runtime) -> None:
    """Make the runtime's exchanges decided by the holding double."""
    runtime.exchanges.policy = HoldingEngine(runtime.settings.policy_dir)


def dpo_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.resolved_dpo_token()}"}


def submit(env: DemoEnvironment, key: str, destination: str = CIVIL_REGISTRY) -> str:
    """Send the demo birth under `key`; return the exchange id of its 202."""
    answer = env.submit_birth(destination, key=key)
    assert answer.status_code == 202, answer.text
    exchange_id: str = answer.json()["exchange_id"]
    return exchange_id


def decide(
    url: str, runtime: Runtime, exchange_id: str, action: str, **body: Any
) -> httpx.Response:
    """Approve or reject as the DPO (`action`: approve or reject)."""
    return httpx.post(
        f"{url}/dpo/approvals/{exchange_id}/{action}",
        json=body,
        headers=dpo_headers(runtime),
        timeout=30,
    )
