"""The DPO's approval queue over HTTP: one `Approvals` call per route. DPO only.

Included under /dpo by gateway/api/dpo.py. Each decision is answered once committed; the
answer holds metadata only, never the message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from gateway.api.deps import DpoDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.approvals.schemas import (
    ApprovalNote,
    ApprovalOut,
    ApprovalPage,
    ApprovalQuery,
    Rejection,
)
from gateway.errors import ConflictError, NotFoundError

router = APIRouter(prefix="/approvals")

_EXAMPLE_ID = "6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refusal(
        "No approval was asked for an exchange of this id (`not_found`): it is unknown, "
        "malformed, or was not held.",
        NotFoundError(f"no approval is asked for exchange {_EXAMPLE_ID}"),
    )
}
_DECIDED: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: refusal(
        "The exchange was decided before (`conflict`): a decision is taken once.",
        ConflictError(f"exchange {_EXAMPLE_ID} was already approved"),
    ),
}


@router.get(
    "",
    response_model=ApprovalPage,
    summary="List exchanges held for the DPO's approval (pending by default)",
    description="`state` is pending (the default: oldest first, the queue), approved, "
    "rejected or all (newest first). A page at a time (`next_cursor`). Metadata only.",
)
def approvals(
    query: Annotated[ApprovalQuery, Query()], who: DpoDep, rt: RuntimeDep
) -> ApprovalPage:
    return rt.approvals.listing(who, query)


@router.get(
    "/{exchange_id}",
    response_model=ApprovalOut,
    summary="Read a held exchange: why it waits, the decision, its record (never the body)",
    responses=_NOT_FOUND,
)
def approval(exchange_id: str, who: DpoDep, rt: RuntimeDep) -> ApprovalOut:
    return rt.approvals.get(who, exchange_id)


@router.post(
    "/{exchange_id}/approve",
    response_model=ApprovalOut,
    summary="Approve a held exchange: its message is queued for delivery",
    description="The reason is optional. Answered once the decision is committed.",
    responses=_DECIDED,
)
def approve(
    exchange_id: str,
    who: DpoDep,
    rt: RuntimeDep,
    note: Annotated[ApprovalNote | None, Body()] = None,
) -> ApprovalOut:
    return rt.approvals.approve(who, exchange_id, None if note is None else note.reason)


@router.post(
    "/{exchange_id}/reject",
    response_model=ApprovalOut,
    summary="Reject a held exchange: its message is never sent, and its body is erased",
    description="The reason is required. Answered once the decision is committed.",
    responses=_DECIDED,
)
def reject(exchange_id: str, body: Rejection, who: DpoDep, rt: RuntimeDep) -> ApprovalOut:
    return rt.approvals.reject(who, exchange_id, body.reason)
