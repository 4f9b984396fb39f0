"""One access line per request (gateway/api/access.py), and the exchange each answer names.

First the middleware around a small app of its own, then the served gateway: every answer
about a recorded exchange names it in `X-Exchange-Id`, and the edge's refusals (400, 413,
429) have their line like any other answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message

from gateway.api import edge
from gateway.api.access import AccessLog
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification, wait_for
from gateway.demo.server import ServedGateway
from tests.api.helpers import BODY_LIMIT

ACCESS = "gateway.api.access"
FAILURE_LIMIT = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API tests' settings, with an address refused after two failed authentications."""
    return settings.model_copy(update={"auth_failure_limit": FAILURE_LIMIT})


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="gateway")
    yield caplog


def lines(log: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Return the access lines logged so far, as their fields."""
    fields = ("method", "path", "status", "exchange_id")
    return [{f: getattr(r, f) for f in fields} for r in log.records if r.name == ACCESS]


# --- the middleware around an app of its own -------------------------------------------------


async def named(request: Request) -> Response:
    return PlainTextResponse("named", 202, headers={"X-Exchange-Id": "exchange-1"})


async def plain(request: Request) -> Response:
    return PlainTextResponse("plain")


async def broken(request: Request) -> Response:
    raise RuntimeError("broken")


async def reads_body(request: Request) -> Response:
    await request.body()
    return PlainTextResponse("read")


async def reads_body_anyway(request: Request) -> Response:
    try:
        await request.body()
    except ClientDisconnect:
        pass
    return PlainTextResponse("no one to read this", 200)


def call(app: Starlette, method: str, path: str) -> int:
    """Send one request to `app` (its server: httpx's ASGI transport); return the status."""

    async def one() -> int:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return (await client.request(method, path)).status_code

    return asyncio.run(one())


def small_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/named", named, methods=["POST"]),
            Route("/plain", plain),
            Route("/broken", broken),
            Route("/reads", reads_body, methods=["POST"]),
            Route("/reads-anyway", reads_body_anyway, methods=["POST"]),
        ],
        exception_handlers={ClientDisconnect: edge.on_hang_up},
    )
    app.add_middleware(AccessLog)
    return app


def test_each_request_is_one_line_with_its_path_status_time_and_exchange(
    access_log: pytest.LogCaptureFixture,
) -> None:
    app = small_app()
    assert call(app, "POST", "/named?subject=KKM-25-001234") == 202
    assert call(app, "GET", "/plain?token=secret") == 200
    assert call(app, "GET", "/missing") == 404

    assert lines(access_log) == [
        {"method": "POST", "path": "/named", "status": 202, "exchange_id": "exchange-1"},
        {"method": "GET", "path": "/plain", "status": 200, "exchange_id": None},
        {"method": "GET", "path": "/missing", "status": 404, "exchange_id": None},
    ]
    durations = [r.duration_ms for r in access_log.records if r.name == ACCESS]
    assert all(isinstance(d, float) and d >= 0 for d in durations)
    assert "KKM-25-001234" not in access_log.text and "secret" not in access_log.text


def test_a_path_is_logged_as_sent_so_it_cannot_break_the_line(
    access_log: pytest.LogCaptureFixture,
) -> None:
    assert call(small_app(), "GET", "/plain%0AINFO%20forged") == 404

    (line,) = lines(access_log)
    assert line["path"] == "/plain%0AINFO%20forged"


def test_an_app_that_fails_is_a_500_line_and_the_failure_goes_on(
    access_log: pytest.LogCaptureFixture,
) -> None:
    assert call(small_app(), "GET", "/broken") == 500

    assert lines(access_log) == [
        {"method": "GET", "path": "/broken", "status": 500, "exchange_id": None}
    ]
    (line,) = [r for r in access_log.records if r.name == ACCESS]
    assert line.levelno == logging.WARNING


def hang_up(app: Starlette, path: str) -> list[Message]:
    """Send a POST whose client is gone before its body comes; return what the app sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-length", b"4000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_client_that_hangs_up_is_the_edges_one_line(
    access_log: pytest.LogCaptureFixture,
) -> None:
    """The edge says so in one line (edge.on_hang_up); the access log adds none."""
    sent = hang_up(small_app(), "/reads")

    assert sent[0]["status"] == 499
    assert [(r.name, r.levelno) for r in access_log.records] == [("gateway.api.edge", logging.INFO)]
    assert "hung up" in access_log.records[0].getMessage()


def test_an_answer_given_after_the_client_hung_up_says_so(
    access_log: pytest.LogCaptureFixture,
) -> None:
    hang_up(small_app(), "/reads-anyway")

    (line,) = [r for r in access_log.records if r.name == ACCESS]
    assert (line.status, line.hung_up) == (200, True)


# --- the served gateway ----------------------------------------------------------------------


def submit(env: DemoEnvironment, headers: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(f"{env.gateway_url}/exchanges", content=body, headers=headers, timeout=30)


def test_every_answer_about_an_exchange_names_it_and_its_line_too(
    env: DemoEnvironment, served: ServedGateway, access_log: pytest.LogCaptureFixture
) -> None:
    stranger = {**env.birth_headers(CIVIL_REGISTRY), "Authorization": "Bearer gw_nobody"}
    answers = [
        env.submit_birth(CIVIL_REGISTRY, "access-log-0001"),  # 202
        env.submit_birth(CIVIL_REGISTRY, "access-log-0001"),  # 200, the same exchange
        env.submit_birth("embassy-ssd"),  # 403
        env.submit_birth(CIVIL_REGISTRY, body=b'{"individuals": []}'),  # 422
        env.submit_birth(CIVIL_REGISTRY, body=b" " * (BODY_LIMIT + 1)),  # 413, recorded
        submit(env, stranger, birth_notification()),  # 401
    ]

    assert [a.status_code for a in answers] == [202, 200, 403, 422, 413, 401]
    named = [a.headers.get("X-Exchange-Id") for a in answers]
    assert named == [a.json()["exchange_id"] for a in answers]
    assert named[0] == named[1]
    assert wait_for(lambda: len(lines(access_log)) == len(answers))
    assert lines(access_log) == [
        {"method": "POST", "path": "/exchanges", "status": a.status_code, "exchange_id": n}
        for a, n in zip(answers, named, strict=True)
    ]


def test_the_edges_refusals_have_their_line(
    env: DemoEnvironment, served: ServedGateway, access_log: pytest.LogCaptureFixture
) -> None:
    twice = [*env.birth_headers(CIVIL_REGISTRY).items(), ("Idempotency-Key", "another-key-01")]
    duplicated = httpx.post(f"{served.url}/exchanges", content=b"{}", headers=twice)
    too_long = httpx.post(f"{served.url}/systems", content=b" " * (BODY_LIMIT + 1))
    stranger = {**env.birth_headers(CIVIL_REGISTRY), "Authorization": "Bearer gw_nobody"}
    failed = [submit(env, stranger, b"{}") for _ in range(FAILURE_LIMIT)]
    throttled = submit(env, stranger, b"{}")

    statuses = [r.status_code for r in (duplicated, too_long, *failed, throttled)]
    assert statuses == [400, 413, *[401] * FAILURE_LIMIT, 429]
    assert wait_for(lambda: len(lines(access_log)) == len(statuses))
    logged = lines(access_log)
    assert [(line["path"], line["status"]) for line in logged] == [
        ("/exchanges", 400),
        ("/systems", 413),
        *[("/exchanges", 401)] * FAILURE_LIMIT,
        ("/exchanges", 429),
    ]
    # Refused before it was read as an exchange: no record, so none named.
    assert [logged[i]["exchange_id"] for i in (0, 1, -1)] == [None, None, None]
