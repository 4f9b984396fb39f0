"""`gateway consents`, as an administrator runs it against a served gateway.

The commands read their configuration from GATEWAY_* variables pointed at the test's data
directory, where the gateway made the administrator's token. The identifier and a child's
views typed at a prompt are never echoed or printed.
"""

from __future__ import annotations

import json

from click.testing import Result
from typer.testing import CliRunner

from gateway.cli import app
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.demo.server import ServedGateway

runner = CliRunner()
CHILD = "KKM-26-000777"
VIEWS = "Lual (11) agrees, asks that his uncle not be told"


def consents(served: ServedGateway, *args: str, given: str | None = None) -> Result:
    return runner.invoke(app, ["consents", *args, "--url", served.url], input=given)


def grant(served: ServedGateway, *args: str, given: str | None = None) -> Result:
    scope = ["--to", CIVIL_REGISTRY, "--purpose", "birth-registration"]
    return consents(served, "grant", "--scheme", "progres-individual", *scope, *args, given=given)


def test_grant_asks_for_the_value_and_the_childs_views_and_shows_neither(
    served: ServedGateway, env: DemoEnvironment
) -> None:
    result = grant(
        served,
        "--category",
        "identity",
        "--category",
        "birth",
        "--guardian",
        "legal-guardian",
        given=f"{CHILD}\n{VIEWS}\n",
    )

    assert result.exit_code == 0, result.output
    assert "Identifier value (not shown)" in result.output
    assert "The child's views, or where they are recorded (not shown)" in result.output
    assert CHILD not in result.output and "uncle" not in result.output
    assert f"-> {CIVIL_REGISTRY} for birth-registration: birth, identity" in result.stdout
    assert "by a guardian (legal-guardian), the child's views recorded" in result.stdout
    assert any(
        line.startswith("consent ") and "  active" in line for line in result.stdout.splitlines()
    )


def test_show_and_withdraw_say_what_happened_and_a_second_withdrawal_is_refused(
    served: ServedGateway, env: DemoEnvironment
) -> None:
    granted = grant(served, "--value", CHILD, "--category", "birth", "--json")
    consent_id = json.loads(granted.stdout)["id"]

    withdrawn = consents(served, "withdraw", consent_id)
    again = consents(served, "withdraw", consent_id)
    shown = consents(served, "show", consent_id, "--json")
    unknown = consents(served, "show", "../systems")

    assert granted.exit_code == withdrawn.exit_code == shown.exit_code == 0, withdrawn.output
    assert withdrawn.stdout.startswith(f"consent {consent_id}  withdrawn ")
    assert "exchanges that relied on it: 0" in withdrawn.stdout
    assert again.exit_code == 1 and "error (conflict): consent already withdrawn" in again.output
    assert json.loads(shown.stdout)["withdrawn_at"] is not None
    assert unknown.exit_code == 1 and "error (not_found)" in unknown.output


def test_a_refused_grant_lists_its_problems(served: ServedGateway, env: DemoEnvironment) -> None:
    past = grant(
        served, "--value", CHILD, "--category", "birth", "--expires", "2020-01-01T00:00:00Z"
    )
    unknown = grant(served, "--value", CHILD, "--category", "hobbies")

    assert past.exit_code == unknown.exit_code == 1
    assert "body.expires_at: is not in the future" in past.output
    assert "body.categories" in unknown.output


def test_list_reads_the_registry_by_state(served: ServedGateway, env: DemoEnvironment) -> None:
    granted = grant(served, "--value", CHILD, "--category", "birth", "--json")
    consent_id = json.loads(granted.stdout)["id"]
    assert consents(served, "withdraw", consent_id).exit_code == 0

    withdrawn = runner.invoke(app, ["consents", "list", "--state", "withdrawn", "--json"])
    active = runner.invoke(app, ["consents", "list", "--recipient", CIVIL_REGISTRY])
    expired = runner.invoke(app, ["consents", "list", "--state", "expired"])

    assert withdrawn.exit_code == 0, withdrawn.output
    assert [c["id"] for c in json.loads(withdrawn.stdout)] == [consent_id]
    assert active.exit_code == 0
    assert active.stdout.count("consent ") == 4  # the demo family's three, and this one
    assert expired.exit_code == 1 and "no consent matches" in expired.output
