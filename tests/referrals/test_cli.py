"""`gateway referrals guide`: publish from YAML, list versions, show one; never replace one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli_referrals import referrals_app
from gateway.config import Settings
from gateway.runtime import Runtime
from tests.referrals.helpers import sample_guide_text


@pytest.fixture
def migrated(commands_env: Settings) -> Settings:
    """A migrated database and a master secret where the command looks for them."""
    Runtime.build(commands_env).close()
    return commands_env


def test_publish_versions_and_show(migrated: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    v1 = tmp_path / "guide-v1.yaml"
    v1.write_bytes(sample_guide_text())
    v2 = tmp_path / "guide-v2.yaml"
    v2.write_bytes(sample_guide_text().replace(b"version: 1", b"version: 2"))

    first = runner.invoke(referrals_app, ["guide", "publish", str(v1)])
    second = runner.invoke(referrals_app, ["guide", "publish", str(v2)])
    again = runner.invoke(referrals_app, ["guide", "publish", str(v1)])
    listed = runner.invoke(referrals_app, ["guide", "versions"])
    shown = runner.invoke(referrals_app, ["guide", "show"])
    old = runner.invoke(referrals_app, ["guide", "show", "--version", "1", "--json"])

    assert first.exit_code == 0, first.output
    assert "published reference guide version 1 of UTO" in first.output
    assert second.exit_code == 0, second.output
    assert again.exit_code == 1
    assert "version 1 exists" in again.output
    assert listed.output.split("\n")[:2] == [
        "1  in force from 2026-01-01",
        "2  in force from 2026-01-01",
    ]
    assert "version 2" in shown.output and "uto-child-protection" in shown.output
    assert json.loads(old.output)["guide"]["version"] == 1


def test_an_invalid_file_names_the_field_and_changes_nothing(
    migrated: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(sample_guide_text().replace(b"legal_basis: vital-interests", b"legal_basis: x"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [1\n")

    refused = runner.invoke(referrals_app, ["guide", "publish", str(bad)])
    unreadable = runner.invoke(referrals_app, ["guide", "publish", str(broken)])
    listed = runner.invoke(referrals_app, ["guide", "versions"])

    assert refused.exit_code == 1
    assert "guide.authorities.4.legal_basis" in refused.output
    assert unreadable.exit_code == 1 and "not YAML" in unreadable.output
    assert listed.exit_code == 1 and listed.output == ""
