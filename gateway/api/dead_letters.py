"""Dead letters over HTTP: one `DeadLetters` call per route. The administrator only.

Each action is answered once committed; an answer holds metadata only, never the message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.api.deps import AdminDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.dead_letters.errors import BodyPurgedError, NotDeadError
from gateway.dead_letters.schemas import (
    DeadLetterOut,
    DeadLetterPage,
    DeadLetterQuery,
    Discard,
    ReplayAll,
    Replayed,
)
from gateway.errors import NotFoundError

router = APIRouter(prefix="/dead-letters", tags=["dead letters"])

_ID = "6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37"
_JSON = "application/json"
_SUMMARY = {
    "exchange_id": _ID,
    "destination": "crvs-national",
    "source": "unhcr-progres",
    "message_type": "birth-notification",
    "recorded_at": "2026-12-01T18:26:13.366921Z",
    "attempts": 1,
    "last_error": "HTTP 400",
    "last_attempt_at": "2026-12-01T18:26:13.512004Z",
    "body_held": True,
}
_ATTEMPT = {"attempted_at": "2026-12-01T18:26:13.512004Z", "status_code": 400, "error": None}
_LETTER = {
    **_SUMMARY,
    "status": "dead",
    "content_type": "application/fhir+json",
    "body_bytes": 4310,
    "first_attempt_at": "2026-12-01T18:26:13.512004Z",
    "attempt_log": [_ATTEMPT],
    "actions": [],
}
_REPLAYED = {
    **_LETTER,
    "status": "pending",
    "last_error": None,
    "actions": [
        {"action": "replay", "actor": "admin", "reason": None, "at": "2026-12-02T09:12:40.118230Z"}
    ],
}
_DISCARDED = {
    **_LETTER,
    "status": "discarded",
    "body_held": False,
    "body_bytes": None,
    "actions": [
        {
            "action": "discard",
            "actor": "admin",
            "reason": "the registry keeps no record of births before 2020",
            "at": "2026-12-02T09:12:40.118230Z",
        }
    ],
}


def _example(value: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {_JSON: {"example": value}}}}


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refusal(
        "No dead letter has this exchange id (`not_found`): it is unknown, malformed, or its "
        "message never went dead.",
        NotFoundError(f"exchange {_ID} has no dead letter"),
    )
}
_NOT_DEAD = NotDeadError(
    f"the message of exchange {_ID} is pending, not dead: only a dead letter can be replayed"
)
_PURGED = BodyPurgedError(
    f"the body of exchange {_ID} was erased after the retention period, so it cannot be sent "
    "again: discard it, or have its source send it anew"
)


@router.get(
    "",
    response_model=DeadLetterPage,
    summary="List dead letters, oldest first (all, or one destination's)",
    description="Messages the relay gave up on: refused for good by their destination, or "
    "tried as often as the retry policy allows. A page at a time (`next_cursor`). Metadata "
    "only, never a body.",
    responses=_example({"dead_letters": [_SUMMARY], "next_cursor": "4711"}),
)
def dead_letters(
    query: Annotated[DeadLetterQuery, Query()], who: AdminDep, rt: RuntimeDep
) -> DeadLetterPage:
    return rt.dead_letters.listing(who, query)


@router.post(
    "/replay",
    response_model=Replayed,
    summary="Replay every dead letter of one destination",
    description="Every dead letter of the destination that still keeps its body becomes due "
    "at once, its attempts counted afresh, in one transaction; each replay is recorded. "
    "Those whose bodies were purged are left as they are, and counted.",
    responses={
        **_example({"destination": "crvs-national", "replayed": 12, "left_without_body": 1}),
        404: refusal(
            "No system of this id is registered (`not_found`).",
            NotFoundError("no system 'crvs-nationl' is registered"),
        ),
    },
)
def replay_all(body: ReplayAll, who: AdminDep, rt: RuntimeDep) -> Replayed:
    return rt.dead_letters.replay_all(who, body.destination)


@router.get(
    "/{exchange_id}",
    response_model=DeadLetterOut,
    summary="Read a dead letter: why it failed, every attempt, what was done (never the body)",
    responses={**_example(_LETTER), **_NOT_FOUND},
)
def dead_letter(exchange_id: str, who: AdminDep, rt: RuntimeDep) -> DeadLetterOut:
    return rt.dead_letters.get(who, exchange_id)


@router.post(
    "/{exchange_id}/replay",
    response_model=DeadLetterOut,
    summary="Replay a dead letter: it is due at once, its attempts counted afresh",
    description="Answered once the replay is committed and recorded; the relay is woken.",
    responses={
        **_example(_REPLAYED),
        **_NOT_FOUND,
        409: refusal(
            "The message is not a dead letter (`not_dead`: replayed, discarded or cancelled "
            "before), or its body was purged after the retention period (`body_purged`).",
            _NOT_DEAD,
            _PURGED,
        ),
    },
)
def replay(exchange_id: str, who: AdminDep, rt: RuntimeDep) -> DeadLetterOut:
    return rt.dead_letters.replay(who, exchange_id)


@router.post(
    "/{exchange_id}/discard",
    response_model=DeadLetterOut,
    summary="Discard a dead letter: it is never sent, and its body is erased",
    description="The reason is required. Answered once the discard is committed and recorded.",
    responses={
        **_example(_DISCARDED),
        **_NOT_FOUND,
        409: refusal(
            "The message is not a dead letter (`not_dead`): replayed, discarded or cancelled "
            "before.",
            NotDeadError(
                f"the message of exchange {_ID} is discarded, not dead: only a dead letter can "
                "be discarded"
            ),
        ),
    },
)
def discard(exchange_id: str, body: Discard, who: AdminDep, rt: RuntimeDep) -> DeadLetterOut:
    return rt.dead_letters.discard(who, exchange_id, body.reason)
