"""`gateway import` as a command: its options, and a refusal that changes nothing (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app

pytestmark = pytest.mark.usefixtures("commands_env")


def test_the_command_says_what_it_needs() -> None:
    result = CliRunner().invoke(app, ["import", "--help"])

    assert result.exit_code == 0
    for option in ("--source", "--destination", "--purpose", "--legal-basis", "--errors"):
        assert option in result.output
    assert "--resume" in result.output and "--format" in result.output


def test_an_unknown_source_exits_2_naming_the_option(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("IndividualID\r\nA1\r\n")
    arguments = ["import", str(path), "--source", "nobody", "--destination", "progres-v4"]
    arguments += ["--purpose", "registration-migration", "--legal-basis", "public-interest"]

    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == 2, result.output
    assert "--source" in result.output
