"""`gateway dead-letters` and `gateway keys`, as an operator runs them from a terminal.

The first five ask the served gateway with the administrator's token (from the data
directory); `purge` and `keys` work on the database where the gateway's settings are."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import update
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.delivery.bodies import body_keyring
from gateway.delivery.repository import DEAD, PENDING
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime, utc_now
from gateway.store.db import Database
from gateway.store.models import DeliveryAttempt, OutboxMessage
from tests.dead_letters.support import Letters, actions, statuses
from tests.delivery.servers import Destination
from tests.delivery.support import outbox_row

runner = CliRunner()
NAME = "Zyqvarentholde"


@pytest.fixture
def served_letters(
    served: ServedGateway, destination: Destination, commands_env: Settings
) -> Letters:
    return Letters(served.runtime, destination, utc_now)


def dead_letters(served: ServedGateway, *args: str, given: str | None = None) -> Result:
    return runner.invoke(app, ["dead-letters", *args, "--url", served.url], input=given)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_list_show_replay_and_discard(served: ServedGateway, served_letters: Letters) -> None:
    first, second = served_letters.dead(), served_letters.dead()

    listed = dead_letters(served, "list")
    as_json = dead_letters(served, "list", "--json", "--limit", "1")
    shown = dead_letters(served, "show", first)
    replayed = dead_letters(served, "replay", first)
    again = dead_letters(served, "replay", first)
    discarded = dead_letters(served, "discard", second, given=f"{NAME} asked us to\n")
    none = dead_letters(served, "list", "--destination", "elsewhere")

    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [first, second]
    assert "src -> dst  ?  1 attempts  HTTP 400" in lines[0]
    page = json.loads(as_json.stdout)
    assert [d["exchange_id"] for d in page["dead_letters"]] == [first] and page["next_cursor"]
    assert shown.exit_code == 0, shown.output
    assert f"exchange {first}: dead" in shown.stdout
    assert "body: application/json, 8 bytes, kept, sealed" in shown.stdout
    assert "tried " in shown.stdout and ": HTTP 400" in shown.stdout
    assert replayed.exit_code == 0 and f"exchange {first}: pending" in replayed.stdout
    assert "replay by admin at" in replayed.stdout
    assert again.exit_code == 1 and "error (not_dead)" in again.output
    assert discarded.exit_code == 0, discarded.output
    assert "Why is it discarded" in discarded.output and "discarded" in discarded.stdout
    assert none.exit_code == 1 and "no dead letter to elsewhere" in none.output
    assert statuses(served.runtime) == {first: PENDING, second: "discarded"}


def test_replay_all_and_what_the_gateway_refuses(
    served: ServedGateway, served_letters: Letters
) -> None:
    ids = [served_letters.dead() for _ in range(2)]

    done = dead_letters(served, "replay-all", "--destination", "dst")
    unknown = dead_letters(served, "replay-all", "--destination", "nowhere")
    malformed = dead_letters(served, "show", "../../systems")
    blank = dead_letters(served, "discard", ids[0], "--reason", "  ")

    assert done.exit_code == 0 and "replayed 2 dead letters to dst" in done.stdout
    assert unknown.exit_code == 1 and "error (not_found)" in unknown.output
    assert malformed.exit_code == 1 and "error (not_found)" in malformed.output
    assert blank.exit_code == 1 and "error (invalid_input)" in blank.output
    assert set(statuses(served.runtime).values()) == {PENDING}


def test_a_command_without_the_token_or_the_gateway_says_what_to_do(
    served: ServedGateway,
    served_letters: Letters,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "not-the-token")
    wrong = dead_letters(served, "list")
    monkeypatch.delenv("GATEWAY_ADMIN_TOKEN")
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "elsewhere"))
    tokenless = dead_letters(served, "list")
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "a-token")
    unreachable = runner.invoke(app, ["dead-letters", "list", "--url", "http://127.0.0.1:9"])

    assert wrong.exit_code == 1 and "this needs the administrator's token" in wrong.output
    assert tokenless.exit_code == 2 and "GATEWAY_ADMIN_TOKEN" in tokenless.output
    assert unreachable.exit_code == 2 and "cannot reach the gateway" in unreachable.output


def test_purge_erases_bodies_past_the_retention_period(
    runtime: Runtime, letters: Letters, commands_env: Settings
) -> None:
    old, recent = letters.dead(), letters.dead()
    with runtime.db.unit_of_work() as session:  # the command asks the real clock
        for exchange_id, days in ((old, 31), (recent, 29)):
            session.execute(
                update(DeliveryAttempt)
                .where(DeliveryAttempt.exchange_id == exchange_id)
                .values(attempted_at=utc_now() - dt.timedelta(days=days))
            )

    purged = run("dead-letters", "purge")
    again = run("dead-letters", "purge")

    assert purged.exit_code == 0, purged.output
    assert "erased the bodies of 1 dead letters last tried over 30 days ago" in purged.stdout
    assert "erased the bodies of 0" in again.stdout
    assert (outbox_row(runtime, old).status, outbox_row(runtime, old).body) == (DEAD, None)
    assert outbox_row(runtime, recent).body is not None
    assert [a for a, _, _ in actions(runtime, old)] == ["purge"]


def test_keys_rotate_reseals_and_status_counts(
    runtime: Runtime, letters: Letters, commands_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead, pending = letters.dead(), letters.queued()
    old = runtime.bodies.current_id
    monkeypatch.setenv("GATEWAY_BODY_KEY_GENERATION", "2")
    new = body_keyring(runtime.settings.master_secret(), 2).current_id

    before = run("keys", "status")
    rotated = run("keys", "rotate")
    again = run("keys", "rotate")
    after = run("keys", "status", "--json")

    assert before.exit_code == 0, before.output
    assert f"sealing under key {new} (generation 2)" in before.stdout
    assert f"  {old}: generation 1: 1 dead, 1 pending" in before.stdout
    assert rotated.exit_code == 0, rotated.output
    assert f"re-sealed 2 bodies under key {new} (generation 2)" in rotated.stdout
    assert again.exit_code == 0 and "re-sealed 0 bodies" in again.stdout
    assert json.loads(after.stdout) == {
        "current_key": new,
        "generation": 2,
        "keys": [{"key_id": new, "generation": 2, "bodies": {"dead": 1, "pending": 1}}],
    }
    assert {outbox_row(runtime, e).key_id for e in (dead, pending)} == {new}


def test_keys_rotate_leaves_rows_under_an_unknown_key_and_says_so(
    runtime: Runtime, letters: Letters, commands_env: Settings
) -> None:
    foreign, kept = letters.dead(), letters.dead()
    with runtime.db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.exchange_id == foreign)
            .values(key_id="0123456789abcdef")
        )

    rotated = run("keys", "rotate")
    status = run("keys", "status")

    assert rotated.exit_code == 1
    assert "re-sealed 0 bodies" in rotated.stdout  # generation 1: `kept` is current already
    assert "1 bodies are sealed under keys this gateway does not hold" in rotated.output
    assert f"  {foreign}" in rotated.output
    assert "0123456789abcdef: a key this gateway does not hold: 1 dead" in status.stdout
    assert outbox_row(runtime, foreign).key_id == "0123456789abcdef"
    assert outbox_row(runtime, kept).key_id == runtime.bodies.current_id


def test_maintenance_commands_refuse_without_a_database_a_schema_or_a_secret(
    commands_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    db: Database,
    database_url: str,
) -> None:
    """`db`: the test's database, migrated; but no secret in the data directory."""
    empty, unmigrated = tmp_path / "empty", tmp_path / "unmigrated.db"
    unmigrated.touch()
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(empty))
    monkeypatch.delenv("GATEWAY_DATABASE_URL")
    no_database = run("keys", "status")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    no_secret = run("dead-letters", "purge")
    monkeypatch.setenv("GATEWAY_SECRET_KEY", "s" * 64)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{unmigrated}")
    not_migrated = run("keys", "rotate")

    assert no_database.exit_code == 2 and "no database at" in no_database.output
    assert not (empty / "gateway.db").exists()  # nothing made
    assert no_secret.exit_code == 2 and "no master secret" in no_secret.output
    assert not (empty / "secret.key").exists()
    assert not_migrated.exit_code == 2
    assert "not at the newest migration: run `gateway migrate`" in not_migrated.output
