"""The exchange log over HTTP and through `gateway audit`: who may read it, proofs, the
export, and the offline verifier run on it (no server, no database: an export and a key)."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gateway.audit import checkpoint
from gateway.canonical.json import canonical_json
from gateway.cli import app
from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.api.helpers import admin_headers, system_headers
from tests.audit import rfc9162

runner = CliRunner()


def dpo(served: ServedGateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}


@pytest.fixture
def sealed(served: ServedGateway, env: DemoEnvironment) -> list[str]:
    """Four exchanges, allowed and denied, sealed into the log; their ids in log order."""
    ids = [env.submit_birth(d).json()["exchange_id"] for d in [CIVIL_REGISTRY, EMBASSY] * 2]
    served.runtime.log.append_all()  # what its appender thread has not sealed yet
    assert served.runtime.log.size() == 4
    return ids


def test_the_dpo_and_the_administrator_read_the_log_and_systems_do_not(
    served: ServedGateway, env: DemoEnvironment, sealed: list[str]
) -> None:
    url = f"{served.url}/log/checkpoint"
    as_dpo = httpx.get(url, headers=dpo(served))
    assert as_dpo.status_code == 200
    assert as_dpo.headers["content-type"] == "text/plain; charset=utf-8"
    keys = [checkpoint.VerifierKey.parse(k) for k in served.runtime.log.verifier_keys()]
    assert checkpoint.verify(as_dpo.text, keys).size == 4
    assert httpx.get(url, headers=admin_headers(served.runtime)).status_code == 200
    assert httpx.get(url, headers=system_headers(env, REGISTRATION)).status_code == 403
    assert httpx.get(url).status_code == 401
    entries = httpx.get(f"{served.url}/log/entries?start=0&end=4", headers=dpo(served))
    assert [e["entry"]["id"] for e in entries.json()["entries"]] == sealed


def test_proofs_verify_with_the_rfc_s_own_algorithm(
    served: ServedGateway, sealed: list[str]
) -> None:
    entries = httpx.get(f"{served.url}/log/entries?start=0&end=4", headers=dpo(served)).json()
    leaves = [canonical_json(e["entry"]) for e in entries["entries"]]
    status = httpx.get(f"{served.url}/exchanges/{sealed[2]}", headers=dpo(served)).json()
    assert status["log_index"] == 2

    proof = httpx.get(f"{served.url}/log/proofs/inclusion?index=2&size=4", headers=dpo(served))
    consistency = httpx.get(f"{served.url}/log/proofs/consistency?old=3&new=4", headers=dpo(served))

    assert proof.status_code == consistency.status_code == 200
    assert proof.json()["leaf_hash"] == status["leaf_hash"]
    assert [bytes.fromhex(h) for h in proof.json()["audit_path"]] == rfc9162.PATH(2, leaves)
    assert [bytes.fromhex(h) for h in consistency.json()["proof"]] == rfc9162.PROOF(3, leaves)


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("proofs/inclusion?index=4&size=4", "index"),
        ("proofs/inclusion?index=0&size=5", "index"),
        ("proofs/inclusion?index=-1", "index"),
        ("proofs/inclusion?index=x", "index"),
        ("proofs/consistency?old=5", "old"),
        ("proofs/consistency?old=0&new=4", "old"),
        ("proofs/consistency?old=1&new=99999999999999999999", "new"),
        ("entries?start=2&end=1", "end"),
        ("entries?start=0&end=5000", "end"),
    ],
)
def test_a_request_outside_the_log_is_refused_naming_the_parameter(
    served: ServedGateway, sealed: list[str], query: str, where: str
) -> None:
    answer = httpx.get(f"{served.url}/log/{query}", headers=dpo(served))
    assert answer.status_code == 422, answer.text
    assert any(where in p["location"] for p in answer.json()["problems"]), answer.json()


def test_an_export_verifies_offline_and_a_flipped_byte_is_named(
    served: ServedGateway, sealed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DPO_TOKEN", served.runtime.settings.resolved_dpo_token())
    export, keys, saved = tmp_path / "log.jsonl", tmp_path / "keys.txt", tmp_path / "cp.txt"
    url = ["--url", served.url]

    fetched = [
        runner.invoke(app, ["audit", "export", "--out", str(export), *url]),
        runner.invoke(app, ["audit", "keys", "--out", str(keys), *url]),
        runner.invoke(app, ["audit", "checkpoint", "--out", str(saved), *url]),
    ]
    assert [r.exit_code for r in fetched] == [0, 0, 0], [r.output for r in fetched]
    verified = runner.invoke(
        app, ["audit", "verify", str(export), "--key", str(keys), "--checkpoint", str(saved)]
    )
    assert verified.exit_code == 0, verified.output

    data = bytearray(export.read_bytes())
    at = data.index(b'"purpose":"birth-registration"', data.index(sealed[1].encode()))
    data[at + 12] ^= 0x01  # one bit of entry 1's purpose
    export.write_bytes(bytes(data))
    broken = runner.invoke(app, ["audit", "verify", str(export), "--key", str(keys)])
    assert broken.exit_code == 1
    assert "entry 1" in broken.output


def test_verify_names_a_bad_key_and_needs_no_server(tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    export.write_text("not an export\n")
    key = base64.b64encode(b"\x01" + b"\0" * 32).decode()
    bad = runner.invoke(app, ["audit", "verify", str(export), "--key", f"x+00000000+{key}"])
    assert bad.exit_code == 2
    assert "key id does not match" in bad.output
