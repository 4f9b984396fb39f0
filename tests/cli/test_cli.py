"""The `gateway` command: adapters, policy explain, send and the demo, as an operator runs them.

The commands read their configuration from GATEWAY_* variables, pointed here at the test's
data directory and database. No output may hold a credential, a token or a password.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
)
from gateway.demo.server import ServedGateway
from gateway.policy.origin import RISK_RULE
from gateway.runtime import Runtime
from gateway.store.models import ExchangeRecord, RememberedRisk

runner = CliRunner()
BIRTH = ["--type", "birth-notification", "--purpose", "birth-registration", "--basis", "consent"]
PASSWORD = "db-password-never-printed"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The relay stays off: `send` is about what the gateway answers, not the delivery."""
    return settings.model_copy(update={"relay_enabled": False})


@pytest.fixture
def registered(settings: Settings) -> dict[str, str]:
    """Register the demo systems and consents in the test database; return the credentials."""
    runtime = Runtime.build(settings)
    env = DemoEnvironment.start(runtime, "http://127.0.0.1:9")
    env.stop()
    runtime.close()
    return env.credentials


@pytest.fixture
def message(tmp_path: Path) -> Path:
    path = tmp_path / "birth.json"
    path.write_bytes(birth_notification())
    return path


def secrets_in(data_dir: Path) -> list[str]:
    """Return every credential, token and key the gateway keeps in a data directory."""
    found = []
    credentials = data_dir / "demo-credentials.json"
    if credentials.exists():
        found += json.loads(credentials.read_text()).values()
    for name in ("admin.token", "secret.key"):
        if (data_dir / name).exists():
            found.append((data_dir / name).read_text().strip())
    return found


def assert_no_secret(result: Result, secrets: list[str]) -> None:
    assert secrets, "there must be secrets to look for"
    assert not [s for s in secrets if s in result.output]


def count(settings: Settings, model: type[ExchangeRecord] | type[RememberedRisk]) -> int:
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_adapters_lists_what_each_reads_and_writes() -> None:
    result = runner.invoke(app, ["adapters"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert {"opencrvs", "progres"} <= set(lines)
    listed = {tuple(line.split()) for line in lines if line.startswith("  ")}
    assert listed >= {
        ("birth-notification", "render", "opencrvs/birth-notification@1"),
        (
            "birth-registration-confirmation",
            "parse",
            "opencrvs/birth-registration-confirmation@1",
        ),
        ("consent-withdrawal", "render", "opencrvs/consent-withdrawal@1"),
        ("consent-withdrawal", "render", "progres/consent-withdrawal@1"),
        ("birth-notification", "parse", "progres/birth-notification@1"),
        (
            "birth-registration-confirmation",
            "render",
            "progres/birth-registration-confirmation@1",
        ),
    }


def test_explain_denies_the_embassy_of_origin(
    settings: Settings, registered: dict[str, str], message: Path
) -> None:
    result = runner.invoke(
        app, ["policy", "explain", str(message), "--from", REGISTRATION, "--to", EMBASSY, *BIRTH]
    )

    assert result.exit_code == 1, result.output
    verdict = result.output.splitlines()[-1]
    assert verdict.startswith("DENIED  reasons=origin.risk_country  policy=sha256:")
    fired = [line for line in result.output.splitlines() if line.startswith("[")]
    assert len(fired) == 3  # one denial per member of the family
    assert all(line.startswith(f"[origin   ] deny  {RISK_RULE}") for line in fired)
    assert all("destination jurisdiction SSD is a risk country" in line for line in fired)
    assert "categories sent" not in result.output
    assert_no_secret(result, [*registered.values(), *secrets_in(settings.data_dir)])
    # Nothing was recorded or remembered: explain is a dry run.
    assert count(settings, ExchangeRecord) == count(settings, RememberedRisk) == 0


def test_explain_allows_the_civil_registry(
    settings: Settings, registered: dict[str, str], message: Path
) -> None:
    result = runner.invoke(
        app,
        ["policy", "explain", str(message), "--from", REGISTRATION, "--to", CIVIL_REGISTRY, *BIRTH],
    )

    assert result.exit_code == 0, result.output
    assert "\nALLOWED  reasons=allowed  policy=sha256:" in result.output
    stages = {line[1:10].strip() for line in result.output.splitlines() if line.startswith("[")}
    assert stages == {"origin", "rules", "agreement", "consent", "children", "default"}
    assert "[origin   ] allow" in result.output
    assert "DENIED" not in result.output and "deny" not in result.output
    assert result.output.endswith(
        "categories sent: birth, family, identifiers, identity, nationality\n"
    )
    assert_no_secret(result, [*registered.values(), *secrets_in(settings.data_dir)])
    assert count(settings, ExchangeRecord) == count(settings, RememberedRisk) == 0


def test_explain_lists_every_problem_of_a_malformed_message(
    registered: dict[str, str], tmp_path: Path
) -> None:
    doc = json.loads(birth_notification())
    del doc["progres_dateofbirth"], doc["individuals"][0]["progres_givenname"]
    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps(doc))

    result = runner.invoke(
        app,
        ["policy", "explain", str(malformed), "--from", REGISTRATION, "--to", CIVIL_REGISTRY]
        + BIRTH,
    )

    assert result.exit_code == 2, result.output
    assert "error (invalid_message): invalid proGres birth-notification" in result.output
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert problems == [
        "  - /: 'progres_dateofbirth' is a required property",
        "  - /individuals/0: 'progres_givenname' is a required property",
    ]
    assert "ALLOWED" not in result.output and "DENIED" not in result.output


def test_explain_names_an_unknown_source(registered: dict[str, str], message: Path) -> None:
    result = runner.invoke(
        app,
        ["policy", "explain", str(message), "--from", "nobody", "--to", CIVIL_REGISTRY, *BIRTH],
    )

    assert result.exit_code == 2, result.output
    assert "error (not_found): no system 'nobody'" in result.output


def test_send_says_what_happened_in_words(
    env: DemoEnvironment, served: ServedGateway, message: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = env.credentials[REGISTRATION]
    monkeypatch.setenv("GATEWAY_CREDENTIAL", credential)

    result = runner.invoke(
        app, ["send", str(message), "--to", CIVIL_REGISTRY, *BIRTH, "--url", served.url]
    )

    assert result.exit_code == 0, result.output
    with served.runtime.db.unit_of_work() as session:
        record = session.scalar(select(ExchangeRecord))
    assert record is not None
    assert result.stdout.splitlines() == [
        f"202 Accepted: exchange {record.id} allowed and queued for delivery to {CIVIL_REGISTRY}",
        "  categories sent: birth, family, identifiers, identity, nationality",
    ]
    assert_no_secret(result, [credential, *secrets_in(served.runtime.settings.data_dir)])


def test_send_names_the_reasons_of_a_denial_and_what_the_rules_accept(
    env: DemoEnvironment, served: ServedGateway, message: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CREDENTIAL", env.credentials[REGISTRATION])
    args = ["send", str(message), "--type", "birth-notification", "--basis", "consent"]

    guarded = runner.invoke(
        app, [*args, "--to", EMBASSY, "--purpose", "birth-registration", "--url", served.url]
    )
    unruled = runner.invoke(
        app, [*args, "--to", CIVIL_REGISTRY, "--purpose", "statistics", "--url", served.url]
    )

    assert (guarded.exit_code, unruled.exit_code) == (1, 1)
    assert "403 Forbidden: exchange " in guarded.output
    assert "origin.risk_country: the destination is controlled by a state where" in (guarded.output)
    assert "rules.no_match: no rule lets these systems exchange" in unruled.output
    assert (
        "  - X-Exchange-Purpose: the rules accept from unhcr-progres to crvs-national: "
        "birth-notification for birth-registration under consent"
    ) in unruled.output


def test_send_prints_the_answer_as_json_when_asked(
    env: DemoEnvironment, served: ServedGateway, message: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = env.credentials[REGISTRATION]
    monkeypatch.setenv("GATEWAY_CREDENTIAL", credential)

    result = runner.invoke(
        app, ["send", str(message), "--to", CIVIL_REGISTRY, *BIRTH, "--url", served.url, "--json"]
    )

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    with served.runtime.db.unit_of_work() as session:
        record = session.scalar(select(ExchangeRecord))
    assert record is not None
    assert answer == {
        "exchange_id": record.id,
        "categories": ["birth", "family", "identifiers", "identity", "nationality"],
        "replay": False,
        "status": "queued",
    }
    assert (record.source, record.destination, record.decision) == (
        REGISTRATION,
        CIVIL_REGISTRY,
        "allowed",
    )
    assert_no_secret(result, [credential, *secrets_in(served.runtime.settings.data_dir)])


def test_send_replays_with_the_same_key(
    env: DemoEnvironment, served: ServedGateway, message: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CREDENTIAL", env.credentials[REGISTRATION])
    args = ["send", str(message), "--to", CIVIL_REGISTRY, *BIRTH, "--url", served.url, "--json"]

    first = runner.invoke(app, [*args, "--key", "cli-birth-0001"])
    again = runner.invoke(app, [*args, "--key", "cli-birth-0001"])

    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    assert json.loads(again.stdout) == {**json.loads(first.stdout), "replay": True}


def test_send_exits_1_when_the_gateway_refuses(
    env: DemoEnvironment, served: ServedGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CREDENTIAL", env.credentials[REGISTRATION])
    malformed = tmp_path / "malformed.json"
    malformed.write_bytes(b'{"individuals": [}')

    args = ["send", str(malformed), "--to", CIVIL_REGISTRY, *BIRTH, "--url", served.url]
    result = runner.invoke(app, [*args, "--json"])
    in_words = runner.invoke(app, args)

    assert result.exit_code == in_words.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert answer["reason"] == "invalid_message"
    assert answer["exchange_id"]
    first, *problems = in_words.stdout.splitlines()
    assert first.startswith("422 Unprocessable")
    assert "[invalid_message] (recorded as exchange " in first
    assert problems and all(line.startswith("  - ") for line in problems)


def test_send_needs_a_credential(served: ServedGateway, message: Path) -> None:
    result = runner.invoke(
        app, ["send", str(message), "--to", CIVIL_REGISTRY, *BIRTH, "--url", served.url]
    )

    assert result.exit_code == 2, result.output
    assert "set GATEWAY_CREDENTIAL" in result.output
    assert f"{served.runtime.settings.data_dir / 'demo-credentials.json'}" in result.output
    with served.runtime.db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(ExchangeRecord)) == 0


def test_send_says_when_the_gateway_cannot_be_reached(
    message: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CREDENTIAL", "gw_a-credential-for-nowhere")
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    result = runner.invoke(
        app, ["send", str(message), "--to", CIVIL_REGISTRY, *BIRTH, "--url", url]
    )

    assert result.exit_code == 2, result.output
    assert f"error: cannot reach the gateway at {url} (ConnectError)" in result.output
    assert "make run" in result.output
    assert "gw_a-credential-for-nowhere" not in result.output


def with_password(url: str) -> tuple[str, str | None]:
    """Return the URL with a password in it, and the password, if the server lets one be.

    Why: the demo says where its records are, and a password in the database URL must not
    be printed with it. The PostgreSQL of this suite trusts local connections, so a password
    can be added unchecked; a server that checks passwords is reached by a URL holding one.
    """
    parsed = make_url(url)
    if parsed.password is not None:
        return url, str(parsed.password)
    if parsed.get_backend_name() == "sqlite":
        return url, None
    candidate = parsed.set(password=PASSWORD).render_as_string(hide_password=False)
    engine = create_engine(candidate)
    try:
        with engine.connect():
            pass
    except OperationalError:
        return url, None
    finally:
        engine.dispose()
    return candidate, PASSWORD


@pytest.mark.parametrize("configured", [False, True], ids=["default-database", "configured"])
def test_demo_runs_and_runs_again(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, configured: bool
) -> None:
    """The demo runs on its own SQLite file, or on GATEWAY_DATABASE_URL when one is set."""
    data_dir = tmp_path / "demo"
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(data_dir))
    password = None
    if configured:
        url, password = with_password(database_url)
        monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    else:
        monkeypatch.delenv("GATEWAY_DATABASE_URL")

    runs = [runner.invoke(app, ["demo"]) for _ in range(2)]

    for result in runs:
        assert result.exit_code == 0, result.output
        assert "2. the registration number came back to proGres:" in result.output
        assert "progres_birthcertificatenumber" in result.output
        assert "gateway answered 403:" in result.output
        assert "'reasons': ['origin.risk_country']" in result.output
        assert "the embassy received 0 message(s)" in result.output
        assert result.output.rstrip().endswith("Demo completed as expected.")
        where = "sqlite:///" + str(data_dir / "demo-run" / "gateway.db")
        assert (where in result.output) is not configured
        secrets = secrets_in(data_dir / "demo-run")
        assert len(secrets) == 5  # three system credentials, the admin token, the key
        assert_no_secret(result, secrets + ([password] if password else []))


def test_exchanges_lists_newest_first_with_filters(
    env: DemoEnvironment, served: ServedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = env.submit_birth(CIVIL_REGISTRY).json()["exchange_id"]
    denied = env.submit_birth(EMBASSY).json()["exchange_id"]

    every = runner.invoke(app, ["exchanges", "--url", served.url])
    only_denied = runner.invoke(app, ["exchanges", "--decision", "denied", "--url", served.url])
    as_json = runner.invoke(
        app, ["exchanges", "--source", REGISTRATION, "--json", "--url", served.url]
    )

    assert every.exit_code == only_denied.exit_code == as_json.exit_code == 0, every.output
    lines = every.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [denied, accepted]
    assert (
        f"{REGISTRATION} -> {CIVIL_REGISTRY}  birth-notification  allowed  delivery pending"
        in (lines[1])
    )
    assert "denied (origin.risk_country)" in lines[0]
    assert only_denied.stdout.splitlines() == lines[:1]
    listed = json.loads(as_json.stdout)["exchanges"]
    assert [e["exchange_id"] for e in listed] == [denied, accepted]


def test_exchanges_waits_for_one_to_match(env: DemoEnvironment, served: ServedGateway) -> None:
    """What the tour does: wait for an exchange that arrives a moment after the command starts."""
    later = threading.Timer(0.5, env.submit_birth, args=[CIVIL_REGISTRY])
    later.start()
    try:
        waited = runner.invoke(
            app, ["exchanges", "--destination", CIVIL_REGISTRY, "--wait", "20", "--url", served.url]
        )
    finally:
        later.join()
    none = runner.invoke(
        app, ["exchanges", "--decision", "invalid", "--wait", "0.3", "--url", served.url]
    )

    assert waited.exit_code == 0, waited.output
    assert len(waited.stdout.splitlines()) == 1
    assert none.exit_code == 1
    assert "no exchange matches after 0.3 s" in none.output


def test_exchanges_refuses_a_bad_filter_and_names_it(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    result = runner.invoke(app, ["exchanges", "--since", "yesterday", "--url", served.url])

    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert answer["reason"] == "invalid_input"
    assert answer["problems"][0]["location"].endswith("since")


def test_exchanges_says_where_the_administrator_token_is(
    settings: Settings, served: ServedGateway
) -> None:
    (settings.data_dir / "admin.token").unlink()  # as on a machine where nothing was served

    result = runner.invoke(app, ["exchanges", "--url", served.url])

    assert result.exit_code == 2
    assert "Set GATEWAY_ADMIN_TOKEN" in result.output
    assert str(settings.data_dir / "admin.token") in result.output
    assert not (settings.data_dir / "admin.token").exists()  # reading it never makes one
