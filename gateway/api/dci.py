"""DCI civil registries: subscribe to live births (administrator); receive their notices.

The notice route speaks DCI on the wire: a registry posts its `notify` envelope and reads a
DCI acknowledgement (`{"message": {"ack_status": "ACK", ...}}`) once the exchange it became
is recorded and queued. A refusal is the gateway's usual error answer, with its status.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from adapters.kit.contract import CONTENT_TYPE
from gateway.api.deps import AdminDep, bearer, runtime_of
from gateway.api.exchanges import read_body
from gateway.api.openapi import refusal
from gateway.api.openapi.refusals import too_large
from gateway.canonical.json import canonical_json
from gateway.dci.schemas import NOTIFY_PATH, DciAck, SubscriptionIn, SubscriptionOut
from gateway.dci.service import DciSubscriptions, Subscribed, SubscriptionSpec
from gateway.errors import (
    ForbiddenError,
    ParseError,
    PayloadTooLargeError,
    Problem,
    RequestTimeoutError,
    TransportError,
)

router = APIRouter(prefix="/dci", tags=["dci"])
__all__ = ["NOTIFY_PATH", "router"]


def subscriptions(request: Request) -> DciSubscriptions:
    """Return the runtime's subscription service."""
    return runtime_of(request).dci


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Subscribe to a DCI civil registry's live births (administrator)",
    responses={
        502: refusal(
            "The registry could not be reached, or did not acknowledge the subscription "
            "(`destination_unreachable`): nothing was kept.",
            TransportError("the civil registry did not acknowledge the request (err.request.bad)"),
        )
    },
)
def subscribe(given: SubscriptionIn, _: AdminDep, request: Request) -> SubscriptionOut:
    """Send the registry a DCI subscribe request; keep the subscription once it answers ACK."""
    spec = SubscriptionSpec(**{**given.model_dump(), "notify_url": str(given.notify_url)})
    done: Subscribed = subscriptions(request).subscribe(spec)
    return SubscriptionOut(
        registry=done.registry,
        destination=done.destination,
        message_type=done.message_type,
        correlation_id=done.correlation_id,
        subscribed_at=done.subscribed_at.isoformat(),
    )


@router.post(
    "/notify",
    summary="Receive a DCI registry's notice of a registered live birth",
    description=(
        "The registry's DCI `notify` envelope, posted with its system credential "
        "(`Authorization: Bearer`). It becomes one exchange to the destination its "
        "subscription names; the answer is a DCI acknowledgement carrying the exchange id."
    ),
    response_model=DciAck,
    responses={
        403: refusal(
            "The caller is a registered system holding no DCI subscription (`forbidden`).",
            ForbiddenError("crvs-dci holds no subscription: its notices are refused"),
        ),
        408: refusal(
            "The body did not all arrive within GATEWAY_HTTP_BODY_TIMEOUT_SECONDS "
            "(`request_timeout`); the attempt is recorded.",
            RequestTimeoutError("the body did not arrive within 10 s"),
        ),
        413: too_large(),
        422: refusal(
            "The notice is not a DCI notify of one registered live birth "
            "(`invalid_message`), or the subscription's envelope no longer holds "
            "(`invalid_envelope`, `unknown_system`): every problem named by its element, "
            "never its value; the attempt is recorded.",
            ParseError(
                "invalid DCI notify (birth-registration-confirmation)",
                [
                    Problem(
                        "/message/notify_event/0/data/reg_records/identifier",
                        "no birth registration number (identifier[BRN].identifier_value)",
                    )
                ],
            ),
        ),
    },
)
async def notify(request: Request) -> Any:
    rt = runtime_of(request)
    credential = bearer(request)
    body: bytes | None = None
    unread: PayloadTooLargeError | RequestTimeoutError | None = None
    if rt.directory.recognises(credential):  # a stranger's body is never read
        try:
            body = await read_body(request, rt.settings)
        except (PayloadTooLargeError, RequestTimeoutError) as refused:
            unread = refused
    accepted = await subscriptions(request).notify(
        credential, body, request.headers.get(CONTENT_TYPE), unread
    )
    ack = {
        "message": {
            "ack_status": "ACK",
            "timestamp": rt.clock().isoformat(),
            "correlation_id": accepted.exchange_id,
        }
    }
    return Response(
        canonical_json(ack),
        status_code=200,
        headers={"X-Exchange-Id": accepted.exchange_id},
        media_type="application/json",
    )
