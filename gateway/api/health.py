"""Liveness and readiness: the database answers, and how much waits in the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.deps import RuntimeDep
from gateway.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    summary="Check that the gateway and its database answer",
    openapi_extra={"security": []},  # anyone may ask: it tells only the outbox's counts
)
def health(rt: RuntimeDep) -> dict[str, Any]:
    return {"status": "ok", "outbox": rt.outbox_counts()}
