"""The real policy holds an exchange for the DPO, no test double: an agreement flagged
`dpo_approval = true` makes its every transfer wait; approved, it is delivered once."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.approvals.support import decide
from tests.delivery.servers import Destination
from tests.delivery.support import wait_until


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy"
    policy.mkdir()
    for name in ("model.conf", "default.csv", "agreements.toml"):
        (policy / name).write_bytes(files("policies").joinpath(name).read_bytes())
    flagged = (
        (policy / "agreements.toml")
        .read_text()
        .replace("dpo_approval = false", "dpo_approval = true")
    )
    (policy / "agreements.toml").write_text(flagged)
    return settings.model_copy(update={"log_appender_enabled": False, "policy_dir": policy})


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)  # no holding double
    yield environment
    environment.stop()


def test_a_flagged_agreement_holds_the_transfer_until_the_dpo_approves(
    served: ServedGateway, env: DemoEnvironment, destination: Destination
) -> None:
    answer = env.submit_birth(CIVIL_REGISTRY, key="flagged-agreement-1")

    assert answer.status_code == 202
    assert answer.json()["status"] == "awaiting-approval"
    exchange_id = answer.json()["exchange_id"]
    approved = decide(served.url, served.runtime, exchange_id, "approve")
    assert approved.status_code == 200, approved.text
    assert wait_until(lambda: destination.applied[exchange_id] == 1, 20.0)
