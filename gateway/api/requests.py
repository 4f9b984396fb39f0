"""Ask about one person: an inter-state specific request. HTTP in, one service call, HTTP out.

Every denial is one answer (gateway/requests/service.py): its body is the same whatever
refused the request, so the exchange id goes in the X-Exchange-Id header only, never in it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.deps import bearer, runtime_of
from gateway.api.errors import render
from gateway.api.exchanges import read_body
from gateway.api.openapi import refusal
from gateway.api.openapi.refusals import header
from gateway.canonical.request import STATISTICS_ROUTE
from gateway.errors import (
    InvalidInput,
    PayloadTooLargeError,
    Problem,
    RequestTimeoutError,
    TooManyFailedAuthenticationsError,
)
from gateway.requests.errors import RateLimitedError, RequestDeniedError
from gateway.requests.schemas import RequestAnswered, body_schema
from gateway.requests.service import Inbound

router = APIRouter(prefix="/requests", tags=["requests"])
_JSON = "application/json"

EXAMPLE_REQUEST: dict[str, Any] = {
    "registry": "unhcr-progres",
    "subject": {"identifiers": [{"scheme": "progres-individual", "value": "KKM-19-004567"}]},
    "purpose": "asylum-procedure",
    "legal_basis": "public-interest",
    "agreement": "ken-uga-asylum-cooperation",
    "categories": ["identity", "identifiers", "legal_status"],
    "case_reference": "UGA-DRA-2026-00412",
    "justification": "The applicant lodged an asylum claim in Kampala on 3 March 2026 and "
    "states that she was recognised as a refugee in Kakuma in 2019; to decide which state "
    "examines her claim we need to confirm her identity and the status she holds there.",
}
EXAMPLE_ANSWER: dict[str, Any] = {
    "exchange_id": "6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37",
    "case_reference": "UGA-DRA-2026-00412",
    "categories": ["identifiers", "identity", "legal_status"],
    "person": {
        "ref": "subject",
        "names": [{"given": ["Nyibol"], "family": "Akech"}],
        "sex": "female",
        "birth_date": {"date": "1996-04-12", "estimated": False},
        "identifiers": [{"scheme": "progres-individual", "value": "KKM-19-004567"}],
        "legal_status": "refugee",
    },
}
_INVALID = InvalidInput(
    "the specific request is invalid",
    [
        Problem(
            "body.subject.identifiers.0",
            "holds a wildcard (*, % or ?): a request names one person exactly; a search is "
            f"answered only as aggregate statistics ({STATISTICS_ROUTE})",
        )
    ],
    reasons=["request.wildcard"],
)


@router.post(
    "",
    response_model=RequestAnswered,
    summary="Ask for one person's record (a specific request between states)",
    description=(
        "The caller (`Authorization: Bearer <system credential>`) is the requesting state's "
        "system. The body names exactly one person, by identifiers only, the registry to ask, "
        "the agreement, legal basis, purpose and categories, the requester's case reference "
        "and why this person's data is needed for that case. The policy decides before the "
        "registry is asked, and again on what it answers. Answers 200 with the person, "
        "holding only the categories asked for (all of them must be allowed), or one and the "
        "same denial, whatever refused the request: the gateway neither confirms nor denies "
        "that the person is registered. Every request is recorded. See docs/requests.md."
    ),
    responses={
        200: {
            "description": "Answered and recorded: the person, minimised to the categories "
            "asked for. X-Exchange-Id names the exchange.",
            "content": {_JSON: {"example": EXAMPLE_ANSWER}},
        },
        403: refusal(
            "Denied (`denied`, reasons `request.denied`), whatever refused it: the policy "
            "before or after the registry was asked, a person the registry does not hold, or "
            "a registry that could not be asked. Always the same body, answered no sooner than "
            "GATEWAY_REQUEST_DENIAL_FLOOR_SECONDS after the request arrived; the exchange id is "
            "in X-Exchange-Id only. The reasons are recorded for the data protection officer.",
            RequestDeniedError.of(""),
        ),
        408: refusal(
            "The body did not all arrive within GATEWAY_HTTP_BODY_TIMEOUT_SECONDS "
            "(`request_timeout`); recorded.",
            RequestTimeoutError("the body did not arrive within 30 s"),
        ),
        422: refusal(
            "The request is not one specific request (`invalid_input`, `invalid_message`, "
            "`invalid_envelope`, `unknown_system`): it names nobody, several people or a list, "
            "searches by criteria (answered only as statistics, /statistics/query), holds a "
            "wildcard or a partial or malformed identifier, or a boilerplate justification; "
            "`reasons` says which (`request.*`). Every problem is listed; these depend on the "
            "request alone, never on the person. Recorded.",
            _INVALID,
        ),
        429: {
            **refusal(
                "This system made more specific requests than GATEWAY_REQUEST_BURST at once or "
                "GATEWAY_REQUEST_RATE_PER_MINUTE a minute (`rate_limited`; recorded), or this "
                "address failed to authenticate too often (`too_many_failed_authentications`; "
                "not read, not recorded).",
                RateLimitedError.after(6),
                TooManyFailedAuthenticationsError(
                    "too many failed authentications from this address; try again later"
                ),
            ),
            "headers": {
                "Retry-After": header(
                    "seconds until this system or address may ask again",
                    {"type": "integer", "minimum": 1},
                )
            },
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": body_schema(), "example": EXAMPLE_REQUEST}},
        }
    },
)
async def ask(request: Request) -> Any:
    # The body is read by the route, not by FastAPI: a request that cannot be read is
    # recorded too, and its JSON is decoded strictly (a key written twice is refused).
    rt = runtime_of(request)
    credential = bearer(request)
    body, unread = None, None
    if rt.directory.recognises(credential):  # a stranger's body is never read
        try:
            body = await read_body(request, rt.settings)
        except (PayloadTooLargeError, RequestTimeoutError) as refused:
            unread = refused
    try:
        answered = await rt.requests.answer(Inbound(credential, body, unread))
    except RequestDeniedError as denied:
        response = render(request, denied)
        response.headers["X-Exchange-Id"] = denied.recorded_as
        return response
    except RateLimitedError as limited:
        response = render(request, limited)
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    return Response(
        answered.body,
        status_code=200,
        headers={"X-Exchange-Id": answered.exchange_id},
        media_type=_JSON,
    )
