"""Submit an exchange; read its status. HTTP in, one service call, HTTP out."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import move_on_after
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from adapters.kit.contract import CONTENT_TYPE, WireErrors
from gateway import metrics
from gateway.api.deps import AdminOrDpoDep, CallerDep, RuntimeDep, bearer, runtime_of
from gateway.api.openapi import SUBMISSION, refusal
from gateway.api.schemas import ExchangeAccepted
from gateway.audit.service import ExchangePage, ExchangeQuery, ExchangeStatus
from gateway.config import Settings
from gateway.envelope import ENVELOPE_HEADERS, HEADERS
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    NotFoundError,
    PayloadTooLargeError,
    RequestTimeoutError,
)
from gateway.pipeline import Inbound
from gateway.runtime import Runtime

router = APIRouter(prefix="/exchanges", tags=["exchanges"])

_ENVELOPE_DOC = ", ".join(HEADERS.values())
READ_HEADERS = (*ENVELOPE_HEADERS, CONTENT_TYPE)
_JSON = "application/json"


async def read_body(request: Request, settings: Settings) -> bytes:
    """Read the body; raise PayloadTooLargeError as soon as it is over the limit.

    The limit is the app's, on every route (edge.BodyLimit), and the rest is not read. Raise
    RequestTimeoutError if the body has not all come within the body timeout: a caller
    trickling it would hold the request for ever.
    """
    timeout = settings.http_body_timeout_seconds
    chunks = []
    try:
        with move_on_after(timeout):
            async for chunk in request.stream():
                chunks.append(chunk)
            return b"".join(chunks)
    except HTTPException as exc:
        if exc.status_code == PayloadTooLargeError.status:
            raise PayloadTooLargeError("the message body is over the size limit") from exc
        raise
    raise RequestTimeoutError(f"the body did not arrive within {timeout:g} s")


@router.post(
    "",
    status_code=202,
    response_model=ExchangeAccepted,
    summary="Submit a native message as an exchange",
    description=(
        "The body is the source system's native message. The envelope travels in headers: "
        f"{_ENVELOPE_DOC}. The caller (`Authorization: Bearer <system credential>`) is the "
        "source. Answers 202 once the exchange is recorded and queued for delivery, 200 for "
        "a replay of the same Idempotency-Key and body; every failure is recorded too. A "
        "source whose adapter writes errors in its own format (an XML system's error "
        "document) gets its failures in that format, with the same status and reason code."
    ),
    openapi_extra=SUBMISSION,  # it reads its headers and body itself: documented by openapi.py
)
@metrics.timed_submission  # from its call to its answer, by status
async def submit(request: Request) -> Any:
    # No dependency for FastAPI to solve on the busiest route, and the answer serialised by
    # pydantic straight to bytes.
    rt = runtime_of(request)
    credential = bearer(request)
    # The caller is authenticated before its body is read: a stranger's body is never read,
    # and its attempt is recorded from the headers alone, as unauthenticated.
    body, unread = None, None
    if rt.directory.recognises(credential):
        try:
            body = await read_body(request, rt.settings)
        except (PayloadTooLargeError, RequestTimeoutError) as refused:
            unread = refused
    inbound = Inbound(
        credential=credential,
        headers={h: value for h in READ_HEADERS if (value := request.headers.get(h)) is not None},
        body=body,
        unread=unread,
    )
    try:
        accepted = await rt.exchanges.submit(inbound)
    except GatewayError as error:
        dressed = _in_the_sources_format(rt, credential, inbound, error)
        if dressed is None:
            raise
        return dressed
    answer = ExchangeAccepted(
        exchange_id=accepted.exchange_id,
        categories=accepted.categories,
        replay=accepted.replay,
        status="awaiting-approval" if accepted.held else "queued",
    )
    return Response(
        answer.model_dump_json(),
        status_code=200 if accepted.replay else 202,
        headers={"X-Exchange-Id": accepted.exchange_id},  # named in the access line
        media_type=_JSON,
    )


def _in_the_sources_format(
    rt: Runtime, credential: str | None, inbound: Inbound, error: GatewayError
) -> Response | None:
    """Dress an authenticated source's error as its adapter writes errors, if it says how.

    Why: a system that speaks XML cannot be expected to read the gateway's JSON problem. The
    gateway decides the error (status, reason, problems, all bounded); the adapter only
    writes it (adapters/kit/contract.py, WireErrors). A stranger gets the gateway's own answer.
    """
    try:
        source = rt.directory.authenticate(credential)
    except AuthenticationError:  # a stranger, or a credential rotated meanwhile
        return None
    adapter = rt.exchanges.adapters.get(source.adapter)
    if not isinstance(adapter, WireErrors):
        return None
    rendered = adapter.render_error(inbound.headers.get(HEADERS["message_type"]), error)
    headers = {"X-Exchange-Id": error.exchange_id} if error.exchange_id else {}
    return Response(rendered.body, error.status, headers, media_type=rendered.content_type)


@router.get(
    "",
    response_model=ExchangePage,
    summary="List recent exchanges (administrator or DPO)",
    description=(
        "Newest first, a page at a time: pass a page's `next_cursor` as `cursor` for the next "
        "(older) one. Every filter given must match. Metadata only, as in an exchange's status."
    ),
)
def recent(
    query: Annotated[ExchangeQuery, Query()], who: AdminOrDpoDep, rt: RuntimeDep
) -> ExchangePage:
    return rt.audit.recent(who, query)


@router.get(
    "/{exchange_id}",
    response_model=ExchangeStatus,
    summary="Read an exchange's status",
    responses={
        404: refusal(
            "No exchange has this id that this caller may see (`not_found`): a system sees the "
            "exchanges it sent, and those allowed to it; one it may not see is as absent.",
            NotFoundError("no exchange '6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37'"),
        )
    },
)
def status(exchange_id: str, who: CallerDep, rt: RuntimeDep) -> ExchangeStatus:
    return rt.audit.exchange(who, exchange_id)
