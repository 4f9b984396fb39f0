"""Border referrals: the National Reference Guide's versions, and interviews routed to referrals.

HTTP in, one service call, HTTP out. The bodies are read here, within the app's size limit,
and parsed by the service (safe JSON, then the model), so a hostile body gets the same
bounded 4xx as a message to `POST /exchanges`.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from gateway.api.deps import AdminDep, CallerDep, RuntimeDep, bearer, runtime_of
from gateway.api.exchanges import read_body
from gateway.api.openapi import refusal
from gateway.errors import ConflictError, InvalidInput, NotFoundError, Problem
from gateway.referrals.guide import from_json
from gateway.referrals.schemas import GuideVersion, InterviewRouted, PublishedGuide
from gateway.referrals.service import IDEMPOTENCY_KEY, Guides, Referrals
from gateway.runtime import Runtime

router = APIRouter(prefix="/referrals", tags=["referrals"])
MAX_VERSION = 2**31 - 1  # a version the store can hold (an INTEGER column)

_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def guides_of(rt: Runtime) -> Guides:
    """Return the guide's service over the runtime's database (it holds nothing else)."""
    return Guides(rt.db, rt.clock)


def referrals_of(rt: Runtime) -> Referrals:
    """Return the referral service over the runtime's database and exchange service."""
    return Referrals(rt.db, rt.exchanges, rt.clock)


@router.get(
    "/guide",
    response_model=PublishedGuide,
    summary="Read the National Reference Guide in force",
    responses={404: refusal("No version is in force yet (`not_found`).", NotFoundError("x"))},
)
def current_guide(_: CallerDep, rt: RuntimeDep) -> PublishedGuide:
    return guides_of(rt).current()


@router.get(
    "/guide/versions",
    response_model=list[GuideVersion],
    summary="List the guide's published versions, oldest first",
)
def guide_versions(_: CallerDep, rt: RuntimeDep) -> list[GuideVersion]:
    return guides_of(rt).versions()


@router.get(
    "/guide/{version}",
    response_model=PublishedGuide,
    summary="Read one version of the guide, as it was published",
    responses={404: refusal("No such version (`not_found`).", NotFoundError("x"))},
)
def guide_version(
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)], _: CallerDep, rt: RuntimeDep
) -> PublishedGuide:
    return guides_of(rt).version(version)


@router.post(
    "/guide",
    status_code=201,
    response_model=PublishedGuide,
    summary="Publish a new version of the guide (administrator)",
    description=(
        "The body is the guide as JSON (docs/border-referrals.md). A published version is "
        "never replaced: its number again is a 409; an invalid guide a 422 naming each field."
    ),
    openapi_extra=_JSON_BODY,
    responses={
        409: refusal("This version is already published (`conflict`).", ConflictError("x")),
        422: refusal("The guide is invalid.", InvalidInput("x", [Problem("guide.version", "x")])),
    },
)
async def publish_guide(request: Request, _: AdminDep, rt: RuntimeDep) -> PublishedGuide:
    body = await read_body(request, rt.settings)
    return await to_thread.run_sync(guides_of(rt).publish, from_json(body))  # a transaction


@router.post(
    "/interview",
    status_code=202,
    response_model=InterviewRouted,
    summary="Route an identification interview to referrals and send them",
    description=(
        "The caller (`Authorization: Bearer <border system credential>`) sends the interview's "
        "answers as JSON, with an `Idempotency-Key`. Each referral the National Reference "
        "Guide says to send goes as one exchange of message type `referral` from the caller "
        "to the authority's system, decided and recorded like any other. Answers 202 with each "
        "referral's outcome; 200 for a replay of the same key and body."
    ),
    openapi_extra=_JSON_BODY,
)
async def interview(request: Request) -> Any:
    rt = runtime_of(request)
    credential = bearer(request)
    rt.directory.authenticate(credential)  # a stranger's body is never read
    body = await read_body(request, rt.settings)
    routed = await referrals_of(rt).refer(credential, request.headers.get(IDEMPOTENCY_KEY), body)
    return Response(
        routed.model_dump_json(),
        status_code=200 if routed.replay else 202,
        media_type="application/json",
    )
