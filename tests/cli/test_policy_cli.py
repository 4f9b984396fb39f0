"""`gateway policy agreements`: the registry as the policy files hold it."""

from __future__ import annotations

from typer.testing import CliRunner

from gateway.cli import app
from tests.policy.factories import policy_dir

runner = CliRunner()


def test_the_shipped_agreements_are_listed_with_their_state() -> None:
    result = runner.invoke(app, ["policy", "agreements"])

    assert result.exit_code == 0, result.output
    assert "birth-registration@v1" in result.output
    assert "in force" in result.output
    assert "legal bases: consent, public-interest" in result.output


def test_a_broken_agreements_file_is_reported_with_its_entry(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_POLICY_DIR", str(policy_dir(tmp_path, agreements="[[agreement]]")))

    result = runner.invoke(app, ["policy", "agreements"])

    assert result.exit_code == 2
    assert "agreements.toml:agreement[1]" in result.output
