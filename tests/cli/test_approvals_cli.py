"""`gateway dpo approvals`, as a data protection officer works the queue from a terminal.

The relay stays off: what a decision does to delivery is tests/approvals/test_delivery.py's.
Exchanges are held by the policy double of tests/approvals/support.py (keys `held-...`).
"""

from __future__ import annotations

import json

import pytest
from click.testing import Result
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.approvals.support import WHY, hold_keyed, submit

runner = CliRunner()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"relay_enabled": False, "log_appender_enabled": False})


@pytest.fixture
def held(env: DemoEnvironment) -> list[str]:
    """Two held births, oldest first."""
    hold_keyed(env.runtime)
    return [submit(env, "held-cli-0001"), submit(env, "held-cli-0002")]


def approvals(served: ServedGateway, *args: str, given: str | None = None) -> Result:
    return runner.invoke(app, ["dpo", "approvals", *args, "--url", served.url], input=given)


def test_list_shows_what_waits_oldest_first(served: ServedGateway, held: list[str]) -> None:
    pending = approvals(served, "list")
    as_json = approvals(served, "list", "--json", "--limit", "1")
    none = approvals(served, "list", "--state", "rejected")

    assert pending.exit_code == 0, pending.output
    lines = pending.stdout.splitlines()
    assert [line.split()[1] for line in lines if not line.startswith(" ")] == held
    assert f"{REGISTRATION} -> {CIVIL_REGISTRY}  birth-notification  pending" in lines[0]
    assert f"    why: {WHY}" in lines
    page = json.loads(as_json.stdout)
    assert [a["exchange_id"] for a in page["approvals"]] == held[:1] and page["next_cursor"]
    assert none.exit_code == 1 and "no rejected approval" in none.output


def test_show_approve_and_reject(served: ServedGateway, held: list[str]) -> None:
    shown = approvals(served, "show", held[0])
    approved = approvals(served, "approve", held[0], "--reason", "covered by MoU 4")
    rejected = approvals(served, "reject", held[1], given="no agreement covers this\n")
    again = approvals(served, "approve", held[1])
    decided = approvals(served, "list", "--state", "all", "--json")

    assert shown.exit_code == 0, shown.output
    assert f"exchange {held[0]}: pending" in shown.stdout
    assert f"why: {WHY}" in shown.stdout and "delivery: awaiting-approval" in shown.stdout
    assert f"{REGISTRATION} -> {CIVIL_REGISTRY} [KEN]: birth-notification" in shown.stdout
    assert approved.exit_code == 0, approved.output
    assert "approved by dpo at" in approved.stdout and ": covered by MoU 4" in approved.stdout
    assert "delivery: pending" in approved.stdout
    assert rejected.exit_code == 0, rejected.output
    assert "Why is it rejected" in rejected.output and "delivery: rejected" in rejected.stdout
    assert again.exit_code == 1 and f"error (conflict): exchange {held[1]}" in again.output
    states = {a["exchange_id"]: a["state"] for a in json.loads(decided.stdout)["approvals"]}
    assert states == {held[0]: "approved", held[1]: "rejected"}


def test_refusals_say_what_went_wrong(
    served: ServedGateway, held: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = approvals(served, "show", "../../exchanges")
    blank = approvals(served, "reject", held[0], "--reason", "  ")
    too_long = approvals(served, "approve", held[0], "--reason", "x" * 501)
    monkeypatch.setenv("GATEWAY_DPO_TOKEN", served.runtime.settings.resolved_admin_token())
    as_admin = approvals(served, "approve", held[0])

    assert unknown.exit_code == 1 and "error (not_found)" in unknown.output
    assert blank.exit_code == 1 and "error (invalid_input)" in blank.output
    assert too_long.exit_code == 1 and "body.reason" in too_long.output
    assert as_admin.exit_code == 1 and "error (forbidden)" in as_admin.output
    monkeypatch.delenv("GATEWAY_DPO_TOKEN")
    still = approvals(served, "show", held[0])
    assert f"exchange {held[0]}: pending" in still.stdout
