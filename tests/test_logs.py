"""What `gateway serve` says on stderr: its start, when it is ready, one line per request.

The gateway is served as an operator serves it (a process of its own) and its stderr read as
a log collector would read it: every line a JSON object with the fields, one access line per
request, the start-up lines and the ready line, nothing from Casbin or httpx, and none of the
credentials or the personal data that went through it. The systems are registered through
the administrator's API, so its token travels through the server too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from gateway import logs
from gateway.api import server
from gateway.api.app import create_app
from gateway.canonical import Envelope, LegalBasis
from gateway.config import Settings
from gateway.demo.flow import (
    BIRTH_CATEGORIES,
    CIVIL_REGISTRY,
    EMBASSY,
    PURPOSE,
    REGISTRATION,
    birth_notification,
    envelope_headers,
)
from gateway.demo.standins import StandIn
from gateway.policy.rules import RuleSet
from gateway.runtime import Runtime
from tests.fixtures.network import free_port
from tests.fixtures.postgres import own_database
from tests.fixtures.processes import children
from tests.fixtures.serving import GATEWAY, as_variables

PATIENCE = 60.0  # seconds to wait for what should come within one or two


# --- a served gateway whose stderr the test reads ------------------------------------------


class ServedProcess:
    """`gateway serve` on a free port, its stderr read line by line as it comes."""

    def __init__(self, settings: Settings, log_format: str, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        variables = {
            **as_variables(settings),
            "GATEWAY_LOG_FORMAT": log_format,
            "GATEWAY_WORKERS": str(workers),
        }
        self.process = subprocess.Popen(
            [GATEWAY, "serve", "--port", str(self.port)],
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, name="gateway-stderr")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))

    def wait_for(self, wanted: Callable[[str], bool], seconds: float = PATIENCE) -> str:
        """Return the first line `wanted` accepts, once it has come; fail at the deadline."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if wanted(line):
                    return line
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError("no such line; the server said:\n" + "\n".join(self.lines))

    def stop(self) -> list[str]:
        """Stop the server as an operator does (SIGTERM); return all it wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=PATIENCE)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=PATIENCE)
            self._reader.join(timeout=PATIENCE)
            assert self.process.stderr is not None
            self.process.stderr.close()
        return list(self.lines)


@contextmanager
def serving(settings: Settings, log_format: str, workers: int = 1) -> Iterator[ServedProcess]:
    served = ServedProcess(settings, log_format, workers)
    try:
        yield served
    finally:
        served.stop()


def as_json(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def is_ready_line(line: str) -> bool:
    entry = as_json(line)
    return entry is not None and str(entry.get("message", "")).startswith("ready:")


# --- the subject and the secrets that must never be logged ---------------------------------


def personal_data(message: dict[str, Any]) -> set[str]:
    """Return the names, identifiers, document numbers and birth dates in a proGres message."""
    found = {message["progres_dateofbirth"]}
    for person in message["individuals"]:
        for name in ("progres_individualid", "progres_givenname", "progres_familyname"):
            found.add(person[name])
        found.add(person["progres_dateofbirth"])
        found.update(d["progres_documentnumber"] for d in person.get("progres_documents", []))
    return found


class Client:
    """The test's side: every request it makes, and the access line each should leave."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.expected: list[tuple[str, str, int, str | None]] = []

    def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        response = httpx.request(method, f"{self.url}{path}", timeout=30, **options)
        exchange_id = response.headers.get("x-exchange-id")
        if exchange_id is not None:  # the header names the exchange the body names
            assert response.json()["exchange_id"] == exchange_id
        self.expected.append((method, path.partition("?")[0], response.status_code, exchange_id))
        return response


def register(client: Client, admin: dict[str, str], standins: dict[str, StandIn]) -> str:
    """Register the three demo systems and the family's consents; return proGres' credential."""
    jurisdictions = {REGISTRATION: "UNO", CIVIL_REGISTRY: "KEN", EMBASSY: "SSD"}
    adapters = {REGISTRATION: "progres", CIVIL_REGISTRY: "opencrvs", EMBASSY: "opencrvs"}
    credentials = {}
    for system_id, standin in standins.items():
        spec = {
            "id": system_id,
            "name": system_id,
            "adapter": adapters[system_id],
            "endpoint": standin.url,
            "jurisdiction": jurisdictions[system_id],
        }
        created = client.call("POST", "/systems", json=spec, headers=admin)
        assert created.status_code == 201, created.text
        credentials[system_id] = created.json()["credential"]
    categories = sorted(c.value for c in BIRTH_CATEGORIES)
    for person in json.loads(birth_notification())["individuals"]:
        grant = {
            "subject": {"scheme": "progres-individual", "value": person["progres_individualid"]},
            "recipient": CIVIL_REGISTRY,
            "purpose": PURPOSE,
            "categories": categories,
        }
        granted = client.call("POST", "/consents", json=grant, headers=admin)
        assert granted.status_code == 201, granted.text
    return credentials[REGISTRATION]


def birth_headers(credential: str, destination: str, basis: str = "consent") -> dict[str, str]:
    headers = envelope_headers(destination, "birth-notification", basis, f"log-{uuid.uuid4()}")
    return {**headers, "Authorization": f"Bearer {credential}", "Content-Type": "application/json"}


def delivered(status: httpx.Response) -> bool:
    """Whether an exchange's status says it was delivered (a state, or a state with details)."""
    delivery = status.json().get("delivery")
    return "delivered" in (delivery, delivery.get("status") if isinstance(delivery, dict) else None)


@pytest.fixture
def standins() -> Iterator[dict[str, StandIn]]:
    started = {name: StandIn(name).start() for name in (REGISTRATION, CIVIL_REGISTRY, EMBASSY)}
    yield started
    for standin in started.values():
        standin.stop()


# --- JSON, the default ---------------------------------------------------------------------


def test_the_served_gateway_logs_json_lines_one_per_request_and_no_secret(
    settings: Settings, standins: dict[str, StandIn]
) -> None:
    admin_token = settings.resolved_admin_token()
    admin = {"Authorization": f"Bearer {admin_token}"}
    stranger = f"gw_{uuid.uuid4().hex}"
    message = json.loads(birth_notification())
    invalid = {**message, "individuals": [{**message["individuals"][0], "progres_sex": 1}]}

    with serving(settings, "json") as served:
        served.wait_for(is_ready_line)
        client = Client(served.url)
        credential = register(client, admin, standins)
        notification = birth_notification()

        accepted = client.call(
            "POST",
            "/exchanges",
            content=notification,
            headers=birth_headers(credential, CIVIL_REGISTRY),
        )
        assert accepted.status_code == 202, accepted.text
        to_embassy = birth_headers(credential, EMBASSY)
        refused = client.call("POST", "/exchanges", content=notification, headers=to_embassy)
        assert refused.json()["reasons"] == ["origin.risk_country"]
        # Denied by the rules: Casbin is asked twice, and used to say so twice.
        wrong_basis = birth_headers(credential, CIVIL_REGISTRY, basis="vital-interests")
        denied = client.call("POST", "/exchanges", content=notification, headers=wrong_basis)
        assert denied.json()["reasons"] == ["rules.legal_basis"]
        bad = client.call(
            "POST",
            "/exchanges",
            content=json.dumps(invalid).encode(),
            headers=birth_headers(credential, CIVIL_REGISTRY),
        )
        assert bad.status_code == 422, bad.text
        unknown = client.call(
            "POST",
            "/exchanges",
            content=notification,
            headers=birth_headers(stranger, CIVIL_REGISTRY),
        )
        assert unknown.status_code == 401
        twice = [*birth_headers(credential, CIVIL_REGISTRY).items(), ("Idempotency-Key", "k" * 9)]
        assert client.call("POST", "/exchanges", content=b"{}", headers=twice).status_code == 400
        identifier = message["individuals"][0]["progres_individualid"]
        asked = client.call("GET", f"/health?subject={identifier}")
        assert asked.status_code == 200

        # Delivered: the relay's request to the civil registry has been made and answered.
        exchange_id = accepted.json()["exchange_id"]
        deadline = time.monotonic() + PATIENCE
        while not delivered(client.call("GET", f"/exchanges/{exchange_id}", headers=admin)):
            assert time.monotonic() < deadline, "the exchange was not delivered"
            time.sleep(0.1)
        assert len(standins[CIVIL_REGISTRY].received) == 1

    lines = served.stop()
    entries = [as_json(line) for line in lines]
    assert all(entries), [line for line, e in zip(lines, entries, strict=True) if e is None]
    records = [e for e in entries if e is not None]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        when = dt.datetime.fromisoformat(record["time"])
        assert when.utcoffset() == dt.timedelta(0), record

    # Start-up, in order: what is served and from what, then ready (after uvicorn has bound).
    messages = [r["message"] for r in records]
    ready = next(i for i, m in enumerate(messages) if m.startswith("ready:"))
    startup = {key: records[i] for i in range(ready) for key in records[i] if key in STARTUP}
    assert startup.keys() == STARTUP, messages[: ready + 1]
    assert startup["url"]["url"] == served.url
    assert startup["docs"]["docs"] == f"{served.url}/docs"
    assert startup["workers"]["workers"] == 1
    assert startup["data_dir"]["data_dir"] == str(settings.data_dir.resolve())
    assert startup["database"]["database"] == server.shown_database(settings.resolved_database_url)
    assert records[ready]["url"] == served.url
    assert records[ready]["pid"] == served.process.pid
    assert (records[-1]["message"], records[-1]["pid"]) == ("stopped", served.process.pid)

    access = [r for r in records if r["logger"] == "gateway.api.access"]
    seen = [(r["method"], r["path"], r["status"], r["exchange_id"]) for r in access]
    assert seen == client.expected
    assert all(isinstance(r["duration_ms"], float) and r["duration_ms"] >= 0 for r in access)
    assert {r["exchange_id"] for r in access} >= {
        accepted.json()["exchange_id"],
        refused.json()["exchange_id"],
        bad.json()["exchange_id"],
        unknown.json()["exchange_id"],
    }
    noisy = [r for r in records if r["logger"].split(".")[0] in {"casbin", "httpx", "httpcore"}]
    assert noisy == []

    never = {credential, admin_token, stranger, *personal_data(message)}
    for record in records:
        text = json.dumps({k: v for k, v in record.items() if k != "time"})
        assert not [secret for secret in never if secret in text], record


STARTUP = {"url", "docs", "database", "data_dir", "workers"}


# --- text, for a person at a terminal ------------------------------------------------------

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+: "
)


def test_the_text_format_is_one_readable_line_per_record(settings: Settings) -> None:
    stranger = f"gw_{uuid.uuid4().hex}"
    with serving(settings, "text") as served:
        ready = served.wait_for(lambda line: " ready: accepting connections at " in line)
        assert ready.endswith(f"{served.url}  pid={served.process.pid}")
        assert httpx.get(f"{served.url}/health?token={stranger}").status_code == 200
        unknown = httpx.post(
            f"{served.url}/exchanges",
            content=birth_notification(),
            headers=birth_headers(stranger, CIVIL_REGISTRY),
        )
        assert unknown.status_code == 401
        exchange_id = unknown.json()["exchange_id"]
        served.wait_for(lambda line: f"exchange_id={exchange_id}" in line)
    lines = served.stop()

    assert [line for line in lines if not TEXT_LINE.match(line)] == []
    assert [line for line in lines if as_json(line) is not None] == []
    access = [line for line in lines if " gateway.api.access: " in line]
    assert len(access) == 2, lines
    assert re.search(r"gateway\.api\.access: GET /health 200 [\d.]+ ms$", access[0]), access
    assert re.search(
        rf"gateway\.api\.access: POST /exchanges 401 [\d.]+ ms  exchange_id={exchange_id}$",
        access[1],
    ), access
    assert any(f"data directory: {settings.data_dir.resolve()}" in line for line in lines)
    assert not [line for line in lines if stranger in line]


# --- several serving processes -------------------------------------------------------------


READY = re.compile(r"^(worker \d+ )?ready: ")


def test_each_worker_is_said_ready_then_the_whole_server(settings: Settings) -> None:
    """With --workers N the parent says which workers accept connections, then "ready"."""
    with (
        own_database() as url,
        serving(settings.model_copy(update={"database_url": url}), "json", workers=2) as served,
    ):
        served.wait_for(is_ready_line)
        said = [e for e in map(as_json, served.lines) if e and READY.match(e["message"])]
        *each, whole = said  # every worker's line, then the server's
        assert [e["message"].startswith("worker ") for e in each] == [True, True]
        assert {e["pid"] for e in each} <= set(children(served.process.pid))
        assert len({e["pid"] for e in each}) == 2
        assert whole["message"].startswith("ready: 2 processes")
        assert (whole["url"], whole["workers"], whole["pid"]) == (served.url, 2, served.process.pid)
        # Said ready, it is: each connection from now on is served.
        for _ in range(4):
            assert httpx.get(f"{served.url}/health", timeout=5).status_code == 200
    lines = served.stop()
    assert all(as_json(line) for line in lines), lines
    access = [e for e in map(as_json, lines) if e and e["logger"] == "gateway.api.access"]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [("GET", "/health", 200)] * 4


# --- readiness, in this process --------------------------------------------------------------


class ConnectOnRecord(logging.Handler):
    """On a record whose message starts with `prefix`, try to connect to the server: a real
    client at the moment the line is written."""

    def __init__(self, prefix: str, address: tuple[str, int]) -> None:
        super().__init__()
        self.prefix, self.address = prefix, address
        self.outcomes: list[bool] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            try:
                socket.create_connection(self.address, timeout=5).close()
                self.outcomes.append(True)
            except OSError:
                self.outcomes.append(False)


def test_the_ready_line_comes_when_connections_are_accepted_and_not_before(
    settings: Settings,
) -> None:
    """uvicorn says "Application startup complete" before it listens; "ready" comes after."""
    # At debug, uvicorn's INFO lines are in: "Application startup complete" among them.
    runtime = Runtime.build(
        settings.model_copy(update={"relay_enabled": False, "log_level": "debug"})
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    address = sock.getsockname()
    served = server.ReadyServer(server.config(create_app(runtime), runtime.settings))
    # After the config: building it configures logging, which resets the loggers' handlers.
    on_ready = ConnectOnRecord("ready:", address)
    on_startup = ConnectOnRecord("Application startup complete", address)
    logging.getLogger("gateway.api.server").addHandler(on_ready)
    logging.getLogger("uvicorn.error").addHandler(on_startup)
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + PATIENCE
        while not on_ready.outcomes and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        served.should_exit = True
        thread.join(timeout=PATIENCE)
        logging.getLogger("gateway.api.server").removeHandler(on_ready)
        logging.getLogger("uvicorn.error").removeHandler(on_startup)
        sock.close()
    assert on_startup.outcomes == [False]  # the app had started; no one could connect yet
    assert on_ready.outcomes == [True]


def test_uvicorn_is_given_the_gateways_logging_and_no_access_log(settings: Settings) -> None:
    given = server.options(settings.model_copy(update={"log_format": "text"}))
    assert given["log_config"] == logs.config("text", "info")
    assert given["access_log"] is False
    assert "log_level" not in given  # it would override the configuration's levels


# --- the formatters --------------------------------------------------------------------------


def record(message: str, *args: Any, **fields: Any) -> logging.LogRecord:
    made = logging.LogRecord("gateway.test", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(fields)
    return made


def test_a_json_line_has_the_time_in_utc_the_level_the_logger_the_message_and_the_fields() -> None:
    made = record("%s %s", "GET", "/health", status=200, color_message="\x1b[36mGET\x1b[0m")
    made.created = dt.datetime(2026, 12, 1, 9, 30, 5, 250000, tzinfo=dt.UTC).timestamp()

    entry = json.loads(logs.JsonFormatter().format(made))

    assert entry == {
        "time": "2026-12-01T09:30:05.250Z",
        "level": "INFO",
        "logger": "gateway.test",
        "message": "GET /health",
        "status": 200,
    }


def test_a_json_line_keeps_a_trace_on_its_one_line_and_a_field_never_hides_the_message() -> None:
    try:
        raise ValueError("broken\nin two")
    except ValueError:
        made = logging.LogRecord(
            "gateway.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    made.__dict__["level"] = "quiet"

    line = logs.JsonFormatter().format(made)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["message"] == "failed"
    assert "ValueError: broken\nin two" in entry["error"]


def test_a_text_line_adds_only_what_its_message_does_not_say_and_escapes_line_breaks() -> None:
    made = record(
        "GET %s 200 3.0 ms", "/a\nINFO forged", status=200, duration_ms=3.0, exchange_id="e-1"
    )
    made.created = dt.datetime(2026, 12, 1, 9, 30, 5, tzinfo=dt.UTC).timestamp()

    line = logs.TextFormatter().format(made)

    assert line == (
        "2026-12-01T09:30:05.000Z INFO    gateway.test: GET /a\\nINFO forged 200 3.0 ms"
        "  exchange_id=e-1"
    )


def test_the_database_is_shown_without_its_password() -> None:
    shown = server.shown_database(
        "postgresql+psycopg://gateway:s3cret@db:5432/gateway?password=also-s3cret&sslmode=require"
    )
    assert "s3cret" not in shown
    assert shown.startswith("postgresql+psycopg://gateway:***@db:5432/gateway?")
    assert "sslmode=require" in shown


def test_casbin_says_nothing_of_its_decisions_once_logging_is_configured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Casbin disables its loggers when an enforcer is built, but any later configuration
    (uvicorn's, at every start) enabled them again: each decision a line, a denial two."""
    rules = RuleSet.load()  # first, as at start-up
    logs.configure("json", "debug")
    try:
        envelope = Envelope(
            source=REGISTRATION,
            destination=CIVIL_REGISTRY,
            message_type="birth-notification",
            purpose=PURPOSE,
            legal_basis=LegalBasis("vital-interests"),
            idempotency_key="casbin-quiet",
        )
        assert rules.match(envelope).reasons == ("rules.legal_basis",)
        logging.getLogger("gateway.test").debug("the gateway's own line")
    finally:
        logs.configure()
    written = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["logger"] for line in written] == ["gateway.test"]
