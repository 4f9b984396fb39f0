"""The HTTP edge inside the app: one header of each kind, unread bodies, clients that hang up.

Pure ASGI middleware, since it wraps every request: nothing is built unless it answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl

from fastapi import Request, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.errors import render
from gateway.errors import DuplicateHeaderError, DuplicateParameterError, GatewayError, Problem

log = logging.getLogger(__name__)

SINGLE_HEADERS = frozenset(
    {b"authorization", b"idempotency-key", b"content-type", b"content-length"}
)
ENVELOPE_PREFIX = b"x-exchange-"


def duplicated(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """Return the first header that must come once and came again, written as it is named."""
    seen: set[bytes] = set()
    for name, _ in headers:  # ASGI header names are lower case
        if name in SINGLE_HEADERS or name.startswith(ENVELOPE_PREFIX):
            if name in seen:
                return "-".join(part.capitalize() for part in name.decode("latin-1").split("-"))
            seen.add(name)
    return None


def repeated_parameter(query_string: bytes) -> str | None:
    """Return the first query parameter given twice (no route takes a list), as given."""
    seen: set[str] = set()
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name[:64]
        seen.add(name)
    return None


class SingleHeaders:
    """Answer 400 to a request that repeats a header the gateway reads once, or a query
    parameter, before all else.

    Why: the framework silently takes the first of a repeated header, and one of a repeated
    parameter, while a proxy in front may have acted on another; a request whose credential,
    idempotency key, envelope, body framing or filter is ambiguous must not be acted on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error: GatewayError | None = None
        if scope["type"] == "http" and (name := duplicated(scope["headers"])):
            problem = Problem(name, "appears more than once; send it once")
            error = DuplicateHeaderError(f"the {name} header appears more than once", [problem])
        elif (
            scope["type"] == "http"
            and scope["query_string"]  # most requests have none: nothing to parse
            and (name := repeated_parameter(scope["query_string"]))
        ):
            problem = Problem(f"query.{name}", "appears more than once; give it once")
            error = DuplicateParameterError(
                f"the {name} parameter appears more than once", [problem]
            )
        if error is not None:
            await render(Request(scope), error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return not value.strip().isdigit() or int(value) > 0
    return False


class CloseUnread:
    """Close the connection after an answer given before the request's body was all read.

    Why: the server would otherwise go on reading (and dropping) the rest of the body to reach
    the next request, so a caller refused for its body's size or slowness (413, 408), or
    refused outright (429, 400), could keep the connection busy for as long as it liked.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope["headers"]):
            await self.app(scope, receive, send)
            return
        read = False

        async def reading() -> Message:
            nonlocal read
            message = await receive()
            read = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not read:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, reading, sending)


class BodyLimit:
    """Refuse a request body over the limit on every route, before any parser reads it.

    The refusal is starlette's HTTPException(413), raised from the body read: FastAPI passes
    that kind on, the error handlers render it as every other 413, and a route that reads its
    body itself (the exchange submission) turns it into its recorded attempt. Why not
    starlette's RequestBodyLimitMiddleware: it replaces any answer to a request that declared
    too long a body with its own plain-text one, so the attempt's record could not be named.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        too_long = declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes
        size = 0

        async def limited() -> Message:
            nonlocal size
            if too_long:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited, send)


async def on_hang_up(request: Request, exc: Exception) -> Response:
    """Log a client that hung up mid-request as what it is: one line, no traceback.

    Starlette raises ClientDisconnect when the body read meets the hang-up; unhandled, it
    reached uvicorn, which logged "Exception in ASGI application" and a 50-line traceback.
    """
    log.info(
        "a client hung up before its request was read: %s %s", request.method, request.url.path
    )
    # 499 is nginx's "client closed request"; no one is left to read it.
    return Response(status_code=499)
