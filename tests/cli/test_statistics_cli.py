"""`gateway statistics query`, as a data protection officer runs it against a served gateway."""

from __future__ import annotations

import json

import pytest
from click.testing import Result
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.demo.server import ServedGateway

runner = CliRunner()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """k = 3: one demo birth is three people. The relay stays off."""
    return settings.model_copy(update={"relay_enabled": False, "statistics_min_cell": 3})


@pytest.fixture
def born(env: DemoEnvironment) -> None:
    assert env.submit_birth(CIVIL_REGISTRY).status_code == 202


def statistics(served: ServedGateway, *args: str) -> Result:
    return runner.invoke(app, ["statistics", "query", *args, "--url", served.url])


def test_counts_by_dimension_and_withholds_small_cells(served: ServedGateway, born: None) -> None:
    by_nationality = statistics(served, "--by", "nationality", "--from", "2000-01")
    by_sex = statistics(served, "--by", "sex", "--by", "age_band", "--reference-date", "2026-06-30")
    everyone = statistics(served, "--nationality", "South Sudan", "--json")

    assert by_nationality.exit_code == 0, by_nationality.output
    assert by_nationality.stdout.split() == ["3", "nationality=SSD"]
    assert by_sex.exit_code == 0 and by_sex.stdout == ""
    assert "no combination of at least 3 people" in by_sex.stderr
    assert "birthday counts from the first of its month" in by_sex.stderr
    assert json.loads(everyone.stdout)["cells"] == [{"values": {}, "count": 3}]


def test_bad_input_lists_every_problem(served: ServedGateway) -> None:
    refused = statistics(
        served, "--by", "religion", "--from", "2026-13", "--reference-date", "soon"
    )

    assert refused.exit_code == 1
    assert "error (invalid_input)" in refused.stderr
    assert refused.stderr.count("  - body.") == 3


def test_without_a_token_it_says_where_one_is(
    served: ServedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(served.runtime.settings.data_dir / "elsewhere"))

    result = statistics(served, "--by", "sex")

    assert result.exit_code == 2
    assert "GATEWAY_DPO_TOKEN or GATEWAY_ADMIN_TOKEN" in result.stderr
