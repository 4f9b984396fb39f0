"""`gateway dpo`, as a data protection officer runs it against a served gateway.

The commands read their configuration from GATEWAY_* variables pointed at the test's data
directory, where the gateway made the DPO's token. An identifier typed at the prompt is never
echoed, printed or sent anywhere but in a request body.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import Result
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway

runner = CliRunner()
CHILD = "KKM-25-001234"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The relay stays off: these commands are about the records, not the delivery."""
    return settings.model_copy(update={"relay_enabled": False})


@pytest.fixture
def sent(env: DemoEnvironment) -> list[str]:
    """Two births: one allowed to the civil registry, one denied to the embassy (newest last)."""
    answers = [env.submit_birth(CIVIL_REGISTRY), env.submit_birth(EMBASSY)]
    assert [a.status_code for a in answers] == [202, 403]
    return [a.json()["exchange_id"] for a in answers]


def dpo(served: ServedGateway, *args: str, given: str | None = None) -> Result:
    return runner.invoke(app, ["dpo", *args, "--url", served.url], input=given)


def test_exchanges_lists_newest_first_with_filters(served: ServedGateway, sent: list[str]) -> None:
    every = dpo(served, "exchanges")
    denied = dpo(served, "exchanges", "--jurisdiction", "SSD")
    as_json = dpo(served, "exchanges", "--recipient", CIVIL_REGISTRY, "--json")
    none = dpo(served, "exchanges", "--purpose", "statistics")

    assert every.exit_code == denied.exit_code == as_json.exit_code == 0, every.output
    listed = [line.split()[1] for line in every.stdout.splitlines() if not line.startswith(" ")]
    assert listed == sent[::-1]
    assert "denied (origin.risk_country)" in denied.stdout and sent[0] not in denied.stdout
    assert "subjects: ps_" in every.stdout
    assert [e["exchange_id"] for e in json.loads(as_json.stdout)["exchanges"]] == sent[:1]
    assert none.exit_code == 1 and "no exchange matches" in none.output


def test_subject_asks_for_the_value_and_never_shows_it(
    served: ServedGateway, sent: list[str]
) -> None:
    prompted = dpo(served, "subject", "--scheme", "progres-individual", given="kkm 25 001234\n")
    given = dpo(served, "subject", "--scheme", "progres-individual", "--value", CHILD, "--json")
    unknown = dpo(served, "subject", "--scheme", "progres-individual", given="KKM-00-424242\n")

    assert prompted.exit_code == 0, prompted.output
    assert "Identifier value (not shown)" in prompted.output
    assert all(s in prompted.stdout for s in sent)
    assert [e["exchange_id"] for e in json.loads(given.stdout)["exchanges"]] == sent[::-1]
    assert unknown.exit_code == 1 and "no exchange about this person" in unknown.output
    for result, value in ((prompted, "kkm 25 001234"), (unknown, "KKM-00-424242")):
        assert value not in result.output
        assert value.replace(" ", "").upper().replace("-", "") not in result.output


def test_register_prints_each_line_and_writes_csv(
    served: ServedGateway, sent: list[str], tmp_path: Path
) -> None:
    words = dpo(served, "register")
    out = tmp_path / "register.csv"
    written = dpo(served, "register", "--csv", str(out))

    assert words.exit_code == 0, words.output
    assert f"{CIVIL_REGISTRY} [KEN]: 1 x birth-registration under consent" in words.stdout
    assert "rule: p, registration-authority, civil-registry" in words.stdout
    assert written.exit_code == 0 and "wrote 1 register lines" in written.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [(r["recipient"], r["count"]) for r in rows] == [(CIVIL_REGISTRY, "1")]


def test_denials_in_words(served: ServedGateway, sent: list[str]) -> None:
    result = dpo(served, "denials")

    assert result.exit_code == 0, result.output
    assert "1 denied exchanges" in result.stdout
    assert "origin.risk_country: the destination is controlled by a state" in result.stdout
    assert f"1  to {EMBASSY}" in result.stdout
    assert sent[1] in result.stdout


def test_export_writes_csv_and_fhir_and_says_where_a_cut_part_ends(
    served: ServedGateway, sent: list[str], tmp_path: Path
) -> None:
    as_csv, as_fhir = tmp_path / "exchanges.csv", tmp_path / "exchanges.json"
    cut = dpo(served, "export", "--format", "csv", "--out", str(as_csv), "--limit", "1")
    fhir = dpo(served, "export", "--format", "fhir", "--out", str(as_fhir))

    assert cut.exit_code == 0, cut.output
    assert f"wrote 1 exchanges to {as_csv}" in cut.stdout
    assert "the export was cut at its limit: for the next part, add --cursor" in cut.stdout
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text(encoding="utf-8"), newline="")))
    assert [r["exchange_id"] for r in rows] == sent[1:]
    assert fhir.exit_code == 0 and "cut" not in fhir.stdout
    bundle = json.loads(as_fhir.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 6  # three people, in each of the two births


def test_without_the_dpo_token_it_says_where_the_token_is(
    settings: Settings, served: ServedGateway
) -> None:
    (settings.data_dir / "dpo.token").unlink()  # as on a machine where nothing was served

    result = dpo(served, "exchanges")

    assert result.exit_code == 2
    assert "Set GATEWAY_DPO_TOKEN" in result.output
    assert str(settings.data_dir / "dpo.token") in result.output
    assert not (settings.data_dir / "dpo.token").exists()  # reading it never makes one


def test_another_role_is_refused_and_told_which_token_is_needed(
    served: ServedGateway, monkeypatch: pytest.MonkeyPatch, env: DemoEnvironment
) -> None:
    for token in (served.runtime.settings.resolved_admin_token(), env.credentials[REGISTRATION]):
        monkeypatch.setenv("GATEWAY_DPO_TOKEN", token)
        result = dpo(served, "denials")
        assert result.exit_code == 1
        assert "error (forbidden)" in result.output
        assert "this needs the data protection officer's token" in result.output
        assert token not in result.output


def test_a_bad_filter_is_named_and_an_unreachable_gateway_explained(
    served: ServedGateway, sent: list[str]
) -> None:
    bad = dpo(served, "exchanges", "--since", "yesterday")
    away = runner.invoke(app, ["dpo", "denials", "--url", "http://127.0.0.1:9"])

    assert bad.exit_code == 1
    assert "error (invalid_input)" in bad.output and "since" in bad.output
    assert away.exit_code == 2
    assert "cannot reach the gateway" in away.output and "gateway serve" in away.output
