"""Liveness and readiness: the database answers, and how much waits in the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(rt: RuntimeDep) -> dict[str, Any]:
    return {"status": "ok", "outbox": rt.outbox_counts()}
