"""One access line per request: method, path, status, time taken, the exchange it concerns.

Pure ASGI middleware, the app's outermost, so it sees every answer the app gives, the edge's
refusals (400, 413, 429) included. What it logs, and what it leaves out:

- the path, never the query string: a query may one day carry an identifier;
- the exchange id, read from the answer's `X-Exchange-Id` header, which every answer about a
  recorded exchange carries (`exchanges.submit`, `errors.render`): the line and the record
  can be found from each other, and nothing about the subject is needed to do it;
- not the client's address (it may be a person's), nor any header or body.

uvicorn's own access log is off (`gateway/logs.py`): two lines per request would be one too
many. What the server answers itself never reaches the app, so has no line here: a header
block over the limit (431, which `gateway/api/server.py` logs) and a connection over the
bound (503, uvicorn's; a flood of them would flood the log).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

EXCHANGE_ID_HEADER = "X-Exchange-Id"
_EXCHANGE_ID = EXCHANGE_ID_HEADER.lower().encode()
CLIENT_CLOSED_REQUEST = 499
"""The edge's answer to a client that hung up mid-request (`edge.on_hang_up`, nginx's code).

The edge logs that hang-up as its one line; an access line as well would make it two.
"""
MAX_PATH_CHARACTERS = 256


def shown_path(scope: Scope) -> str:
    """Return the request's path as it was sent (still percent-encoded), without its query.

    As sent: a decoded path could hold a line break or a control character. Long paths are
    cut: a path is there to say which route was asked, not to fill the log.
    """
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    path = path.partition("?")[0]
    if len(path) > MAX_PATH_CHARACTERS:
        return path[:MAX_PATH_CHARACTERS] + "..."
    return path


class AccessLog:
    """Log one line for each HTTP request, once the app has finished with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        exchange_id: str | None = None
        hung_up = False

        async def reading() -> Message:
            nonlocal hung_up
            message = await receive()
            # Before the answer: after it, a server says "disconnect" to every late read.
            if message["type"] == "http.disconnect" and status is None:
                hung_up = True
            return message

        async def sending(message: Message) -> None:
            nonlocal status, exchange_id
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == _EXCHANGE_ID:
                        exchange_id = value.decode("latin-1")
            await send(message)

        failed = False
        try:
            await self.app(scope, reading, sending)
        except Exception:
            failed = True  # the server error middleware answers 500, if nothing was sent yet
            raise
        finally:
            if not (hung_up and status == CLIENT_CLOSED_REQUEST):
                if status is None and failed:
                    status = 500
                elapsed = (time.perf_counter() - started) * 1000
                _log_line(scope, status, elapsed, exchange_id, hung_up)


def _log_line(
    scope: Scope, status: int | None, elapsed_ms: float, exchange_id: str | None, hung_up: bool
) -> None:
    method = str(scope.get("method", ""))
    path = shown_path(scope)
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(elapsed_ms, 1),
        "exchange_id": exchange_id,
    }
    if hung_up:
        fields["hung_up"] = True
    answered = "no answer" if status is None else str(status)
    level = logging.WARNING if status is None or status >= 500 else logging.INFO
    log.log(level, "%s %s %s %.1f ms", method, path, answered, elapsed_ms, extra=fields)
