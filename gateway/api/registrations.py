"""Multiple-registration flags over HTTP: the administrator, or the registration authority.

An answer names exchanges, positions and pseudonyms, never what a record holds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.api.deps import CallerDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.errors import ForbiddenError
from gateway.registrations.schemas import FlagPage, FlagQuery

router = APIRouter(prefix="/registrations", tags=["registrations"])

_FLAG = {
    "exchange_id": "6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37",
    "position": 0,
    "subject": "ps_3f9a0c2b7d1e4a6f8b0c2d4e6f8a0b1c",
    "matched_exchange_id": "0b5a6a9e-55a0-4c1e-9b8a-3d2f0e1c7a11",
    "matched_position": 0,
    "matched_subject": "ps_8e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b",
    "strength": "probable",
    "evidence": "name+dob+sex",
    "authority": "unhcr-progres",
    "flagged_at": "2026-12-01T18:26:13.366921Z",
}
_EXAMPLE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": {"flags": [_FLAG], "next_cursor": "17"}}}}
}


@router.get(
    "/flags",
    response_model=FlagPage,
    summary="List multiple-registration flags, oldest first",
    description="A registered person who matches one registered before with the same "
    "authority: the same identifier (`strong`), the same name, date of birth and sex "
    "(`probable`), or the same name, birth year and sex where a date is an estimate "
    "(`possible`). Flagged, never merged. A registration authority's system sees the flags "
    "raised to itself; the administrator sees all. Pseudonyms only, never a record's content.",
    responses={
        **_EXAMPLE,
        403: refusal(
            "The caller is neither the administrator nor the authority named (`forbidden`).",
            ForbiddenError("a system reads only the flags raised to itself"),
        ),
    },
)
def flags(query: Annotated[FlagQuery, Query()], who: CallerDep, rt: RuntimeDep) -> FlagPage:
    return rt.registrations.listing(who, query)
