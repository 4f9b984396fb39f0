"""X-Road on the HTTP API: the SOAP endpoint, its WSDL and schemas, and the REST headers.

POST /xroad/soap walks the same road as POST /exchanges: the caller is authenticated by its
bearer credential before its body is read, the SOAP envelope is read into the same envelope
headers and native body, and `ExchangeService.submit` does the rest. An envelope that cannot
be read is handed to the road as the reason the body was not read, so that attempt too is
recorded, once. Answers: 200 with the acknowledgement and the X-Road headers echoed; a SOAP
fault with the error's own status otherwise (gateway/xroad/faults.py says why).

The routes are left out of the OpenAPI document: the WSDL describes the SOAP service.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.kit.contract import parse_content_type
from gateway import metrics
from gateway.api.deps import bearer, runtime_of
from gateway.api.errors import render
from gateway.api.exchanges import read_body
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    NotFoundError,
    Problem,
    UnsupportedMediaTypeError,
)
from gateway.pipeline import INLINE_PARSE_BYTES, Inbound
from gateway.runtime import Runtime
from gateway.xroad import headers as rest_headers
from gateway.xroad import wsdl
from gateway.xroad.envelope import SoapRequest, accepted, read_request, write_response
from gateway.xroad.faults import SOAP_FAULTS, SOAP_MEDIA_TYPE

router = APIRouter(prefix="/xroad", tags=["x-road"], include_in_schema=False)
SOAP_CONTENT_TYPE = "text/xml"
WSDL_MEDIA_TYPE = "text/xml; charset=utf-8"


@router.post("/soap")
@metrics.timed_submission  # a submission as POST /exchanges is, timed by its answer's status
async def soap(request: Request) -> Response:
    """Submit the native message in an X-Road SOAP envelope as an exchange."""
    rt = runtime_of(request)
    credential = bearer(request)
    inbound = Inbound(credential=credential, headers={}, body=None)  # a stranger's: unread
    read = None
    if rt.directory.recognises(credential):
        inbound, read = await _read(request, rt, credential)
    try:
        done = await rt.exchanges.submit(inbound)
    except GatewayError as error:
        return _fault(error)
    assert read is not None  # the road accepts nothing it could not read
    status = "awaiting-approval" if done.held else "queued"
    answer = accepted(done.exchange_id, status, done.replay, done.categories)
    return Response(
        write_response(read, answer),
        headers={"X-Exchange-Id": done.exchange_id},
        media_type=SOAP_MEDIA_TYPE,
    )


async def _read(
    request: Request, rt: Runtime, credential: str | None
) -> tuple[Inbound, SoapRequest | None]:
    """Read the body and its envelope; a failure becomes the reason the body was not read."""
    try:
        raw = await read_body(request, rt.settings)
        _check_content_type(request.headers.get("content-type"))
        reading = partial(read_request, raw, max_bytes=rt.settings.max_body_bytes)
        if len(raw) > INLINE_PARSE_BYTES:  # as the road parses: a large body off the loop
            read = await to_thread.run_sync(reading)
        else:
            read = reading()
    except GatewayError as unreadable:  # too large, too slow, not text/xml, not X-Road
        return Inbound(credential=credential, headers={}, body=None, unread=unreadable), None
    return Inbound(credential=credential, headers=read.envelope_headers(), body=read.body), read


def _check_content_type(value: str | None) -> None:
    """Refuse anything but SOAP 1.1's text/xml, in UTF-8 (415)."""
    parsed = parse_content_type(value or "")
    media_type, charsets = parsed or ("", [])
    if media_type != SOAP_CONTENT_TYPE or any(c != "utf-8" for c in charsets):
        problem = Problem("Content-Type", "a SOAP 1.1 request is text/xml; charset=utf-8")
        raise UnsupportedMediaTypeError("unsupported media type", [problem])


def _fault(error: GatewayError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if error.exchange_id:  # the recorded attempt: the access line names it
        headers["X-Exchange-Id"] = error.exchange_id
    fault = SOAP_FAULTS.render_error(None, error)
    return Response(
        fault.body, status_code=error.status, headers=headers, media_type=fault.content_type
    )


@router.get("/wsdl")
def wsdl_document(request: Request) -> Response:
    """Publish the WSDL: one operation per message type an XML adapter reads."""
    rt = runtime_of(request)
    found: dict[str, wsdl.Operation] = {}
    for name in rt.exchanges.adapters.names():
        adapter = rt.exchanges.adapters.get(name)
        schemas = wsdl.adapter_schemas(name, adapter)
        if schemas is not None:
            for op in wsdl.operations(schemas, adapter.parses):
                found.setdefault(op.name, op)  # one adapter per operation: the first by name
    base = str(request.base_url).rstrip("/")
    return Response(wsdl.build_wsdl(list(found.values()), base), media_type=WSDL_MEDIA_TYPE)


@router.get("/schemas/{owner}/{filename}")
def schema(owner: str, filename: str, request: Request) -> Response:
    """Serve one XSD the WSDL names: the gateway's (owner `xroad`) or an adapter's."""
    folder = _schema_folder(runtime_of(request), owner)
    if folder is None or filename not in folder.files:  # only the listed files, by name
        raise NotFoundError("no such schema")
    return Response((folder.folder / filename).read_bytes(), media_type=WSDL_MEDIA_TYPE)


def _schema_folder(rt: Runtime, owner: str) -> wsdl.SchemaFolder | None:
    if owner == wsdl.GATEWAY_OWNER:
        return wsdl.gateway_schemas()
    if owner not in rt.exchanges.adapters.names():
        return None
    return wsdl.adapter_schemas(owner, rt.exchanges.adapters.get(owner))


class RestHeaders:
    """ASGI middleware: check the X-Road REST headers and echo them on every answer.

    A bad or repeated header is refused before the route runs (422, 400), as the edge refuses
    a repeated header; a system naming another system as its X-Road client, 403. Why here and
    not in each route: every route answers with the same headers, and none need change.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            read = rest_headers.read(scope["headers"])
            if read.client is not None and (system := _system(scope)) is not None:
                rest_headers.check_client(read, system)
        except GatewayError as error:
            await render(Request(scope), error)(scope, receive, send)
            return
        echoed = read.echoed()

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *echoed]}
            await send(message)

        await self.app(scope, receive, echoing)


def _system(scope: Scope) -> str | None:
    """Return the id of the system the request's credential authenticates, if any."""
    request = Request(scope)
    rt: Any = request.app.state.runtime
    try:
        return str(rt.directory.authenticate(bearer(request)).id)
    except AuthenticationError:
        return None  # an administrator, the DPO, or a stranger: the route decides
