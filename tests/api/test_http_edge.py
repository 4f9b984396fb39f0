"""The HTTP edge: slow and oversized requests, the connection bound, hang-ups, repeated headers.

Real sockets against a real server on 127.0.0.1: the test server is built from the options
`gateway serve` uses (gateway/api/server.py), with deadlines shortened to a second.
"""

from __future__ import annotations

import json
import logging
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from gateway.api.server import GuardedHttpToolsProtocol, missing_overrides
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification, wait_for
from gateway.demo.server import ServedGateway
from gateway.store.models import ExchangeRecord
from tests.fixtures.network import connect as raw_connection
from tests.fixtures.network import free_port, read_answer
from tests.fixtures.serving import as_variables

SHORT = {"http_header_timeout_seconds": 1.0, "http_body_timeout_seconds": 1.0}
PATIENCE = 30  # seconds to wait for what a one-second deadline should bring about


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The API tests' settings with one-second deadlines, and what a test's parameter adds."""
    return settings.model_copy(update={**SHORT, **getattr(request, "param", {})})


def connect(served: ServedGateway) -> socket.socket:
    return raw_connection(served.url)


def closed_by_server(sock: socket.socket, trickle: bytes = b"", seconds: float = PATIENCE) -> bool:
    """Wait for the server to close `sock`, sending a byte of `trickle` every 0.2 s meanwhile.

    Return False if it is still open after `seconds`; anything the server says is ignored.
    """
    deadline, sent = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.2)
        try:
            if readable and not sock.recv(65536):
                return True
            if sent < len(trickle):
                sock.send(trickle[sent : sent + 1])
                sent += 1
        except OSError:  # reset, or a broken pipe: closed either way
            return True
    return False


def records(env: DemoEnvironment) -> int:
    with env.runtime.db.reading() as session:
        return int(session.scalar(sql_select(func.count()).select_from(ExchangeRecord)) or 0)


def raw_post(env: DemoEnvironment, length: int, extra: str = "") -> bytes:
    """The head of a birth notification's POST from proGres, declaring `length` body bytes."""
    headers = env.birth_headers(CIVIL_REGISTRY)
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /exchanges HTTP/1.1\r\nHost: gateway\r\n{lines}{extra}"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


# --- the header deadline -------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed_after_the_deadline(
    served: ServedGateway,
) -> None:
    with connect(served) as silent:
        assert closed_by_server(silent)


def test_a_connection_trickling_its_headers_is_closed_after_the_deadline(
    served: ServedGateway,
) -> None:
    """A byte every 0.2 s keeps the connection busy, but the headers never end."""
    with connect(served) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\n")
        assert closed_by_server(slow, trickle=b"X-Slow: " + b"a" * 10_000)


def test_each_request_on_a_kept_connection_has_its_own_deadline(served: ServedGateway) -> None:
    """The first byte cancels uvicorn's keep-alive timer; the header deadline then runs."""
    with connect(served) as kept:
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        assert read_answer(kept)[0] == 200
        kept.sendall(b"GET /hea")
        assert closed_by_server(kept, trickle=b"lth HTTP/1.1\r\nX-Slow: " + b"a" * 10_000)


# --- the header size limit -----------------------------------------------------------------


def test_a_header_block_over_the_limit_is_answered_431(served: ServedGateway) -> None:
    with connect(served) as sender:
        sender.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 40_000)
        status, headers, body = read_answer(sender)
        assert closed_by_server(sender)
    assert status == 431
    assert headers["connection"] == "close"
    assert b'"reason":"headers_too_large"' in body


def test_a_16_mb_header_block_is_refused_without_being_read(served: ServedGateway) -> None:
    """The server closes the connection long before the client has sent it all."""
    block, sent = b"a" * 65_536, 0
    with connect(served) as sender:
        sender.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Big: ")
        try:
            while sent < 16 * 1024 * 1024:
                sender.sendall(block)
                sent += len(block)
            sender.sendall(b"\r\n\r\n")
            answer = sender.recv(65536)
        except OSError:
            answer = b""
    assert sent < 16 * 1024 * 1024
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")


def test_headers_under_the_limit_with_a_body_in_the_same_write_are_served(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    """30 KiB of headers and a 4 KiB body, 34 KiB in one write: the body is no header."""
    body = birth_notification()
    head = raw_post(env, len(body), extra=f"X-Padding: {'a' * 30_000}\r\n")
    assert len(head) < served.runtime.settings.http_max_header_bytes < len(head) + len(body)
    with connect(served) as sender:
        sender.sendall(head + body)
        status, _, answer = read_answer(sender)
    assert status == 202, answer


# --- the connection bound ------------------------------------------------------------------


# The held connections send nothing; a long header deadline keeps them open meanwhile.
HELD = {"http_max_connections": 3, "http_header_timeout_seconds": 600}


@pytest.mark.parametrize("settings", [HELD], indirect=True)
def test_connections_over_the_bound_are_answered_503(served: ServedGateway) -> None:
    def health() -> int:
        return httpx.get(f"{served.url}/health", timeout=10).status_code

    held = [connect(served) for _ in range(3)]
    try:
        assert wait_for(lambda: health() == 503, seconds=PATIENCE)
    finally:
        for sock in held:
            sock.close()
    assert wait_for(lambda: health() == 200, seconds=PATIENCE)


@pytest.fixture
def open_files() -> Iterator[None]:
    """Let this process open the 1,100 client sockets (the server runs under its own limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    assert wanted > 1500, f"the hard open-file limit ({hard}) is too low for this test"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Tricklers:
    """Open connections that send a header byte every half second, until closed or stopped."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setblocking(False)
            self.sockets.append(sock)
            self._send(sock, b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, name="tricklers")
        self._thread.start()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.send(data)
        except OSError:  # closed by the server (or never served): nothing more to send
            pass

    def _trickle(self) -> None:
        while not self._stop.wait(0.5):
            for sock in self.sockets:
                self._send(sock, b"a")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def _health(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code
    except httpx.HTTPError:
        return None


@pytest.mark.usefixtures("open_files")
def test_1100_slow_connections_do_not_keep_health_from_answering(
    settings: Settings, tmp_path: Path
) -> None:
    """`gateway serve` under the usual limit of 1,024 open files, as in production.

    Without a header deadline the slow connections held every file the server may open, and
    a fresh client was never answered: 1,100 of them took the server down.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = Path(sys.executable).with_name("gateway")
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            ["sh", "-c", 'ulimit -n 1024 && exec "$0" "$@"', gateway, "serve", "--port", str(port)],
            env={**as_variables(settings), "GATEWAY_HTTP_HEADER_TIMEOUT_SECONDS": "2"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for(lambda: _health(url) == 200, seconds=60), "the gateway did not start"
        slow = Tricklers(port, 1100)
        try:
            assert wait_for(lambda: _health(url) == 200, seconds=PATIENCE)
            assert server.poll() is None
        finally:
            slow.close()
    finally:
        server.terminate()
        server.wait(timeout=60)


# --- the body deadline ---------------------------------------------------------------------


def test_a_trickled_body_is_answered_408_and_the_connection_closed(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    with connect(served) as sender:
        sender.sendall(raw_post(env, 4000) + b'{"individuals": [')
        while not select.select([sender], [], [], 0.2)[0]:
            sender.send(b" ")  # a byte every 0.2 s: never idle, never done
        status, headers, body = read_answer(sender)
        assert closed_by_server(sender)
    assert status == 408
    assert headers["connection"] == "close"
    assert b'"reason":"request_timeout"' in body
    exchange_id = json.loads(body)["exchange_id"]  # the attempt is recorded, as timed out
    with served.runtime.db.reading() as session:
        record = session.scalars(
            sql_select(ExchangeRecord).where(ExchangeRecord.id == exchange_id)
        ).one()
        assert (record.decision, record.reasons) == ("invalid", ["request_timeout"])


# --- a client that hangs up ----------------------------------------------------------------


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What the server logs: uvicorn's error log at its level, the gateway's from INFO."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="gateway")
    yield caplog
    uvicorn_log.removeHandler(caplog.handler)


def test_a_client_hanging_up_mid_body_is_one_log_line(
    env: DemoEnvironment, served: ServedGateway, server_log: pytest.LogCaptureFixture
) -> None:
    """It was an "Exception in ASGI application" with a 50-line traceback (ClientDisconnect)."""
    before = records(env)
    server_log.clear()
    with connect(served) as sender:
        sender.sendall(raw_post(env, 4000) + b'{"individuals": [')
    assert wait_for(lambda: server_log.records, seconds=PATIENCE)
    assert records(env) == before  # not recorded as anything it is not
    served.stop()  # every request finished: all it logs is logged

    about_it = [r for r in server_log.records if r.getMessage() != "stopped"]  # the server's
    lines = [server_log.handler.format(r) for r in about_it]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    (record,) = about_it
    assert record.levelno == logging.INFO and record.exc_info is None
    assert "hung up" in record.getMessage()


# --- headers that must come once -----------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "second"),
    [
        ("Authorization", "Bearer gw_someone-else"),
        ("Idempotency-Key", "another-key-0002"),
        ("Content-Type", "text/plain"),
        ("X-Exchange-Destination", "embassy-ssd"),
        ("X-Exchange-Legal-Basis", "consent"),  # the same value twice is refused too
    ],
)
def test_a_repeated_header_is_answered_400_naming_it(
    env: DemoEnvironment, served: ServedGateway, header: str, second: str
) -> None:
    before = records(env)
    headers = [*env.birth_headers(CIVIL_REGISTRY).items(), (header, second)]
    response = httpx.post(f"{served.url}/exchanges", content=birth_notification(), headers=headers)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["reason"] == "duplicate_header"
    assert [p["location"] for p in body["problems"]] == [header]
    assert records(env) == before


def test_a_repeated_header_is_an_operation_outcome_for_a_fhir_caller(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    headers = [*env.birth_headers(CIVIL_REGISTRY).items(), ("Accept", "application/fhir+json")]
    headers.append(("Idempotency-Key", "another-key-0002"))
    response = httpx.post(f"{served.url}/exchanges", content=birth_notification(), headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/fhir+json"
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["Idempotency-Key"]
    assert issue["details"]["coding"][0]["code"] == "duplicate_header"


def test_a_repeated_content_length_is_refused_by_the_parser(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    """The HTTP parser refuses it before the app sees it, so its answer is the parser's 400."""
    body = birth_notification()
    before = records(env)
    with connect(served) as sender:
        sender.sendall(raw_post(env, len(body), extra=f"Content-Length: {len(body)}\r\n") + body)
        status, _, _ = read_answer(sender)
    assert status == 400
    assert records(env) == before


# --- the guard's footing in uvicorn --------------------------------------------------------


def test_the_guard_overrides_only_what_uvicorn_s_protocol_has() -> None:
    """The module refuses to import if the base class lost a method the guard overrides."""
    (base,) = GuardedHttpToolsProtocol.__bases__
    assert missing_overrides(base) == []

    class Bare:
        def __init__(self, config: Any, server_state: Any) -> None: ...

        def data_received(self, data: bytes) -> None: ...

    missing = missing_overrides(Bare)
    assert "on_headers_complete" in missing and "__init__(app_state=...)" in missing
    assert "data_received" not in missing
