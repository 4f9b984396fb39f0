"""Liveness and readiness: the database answers, and how much waits in the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from gateway.api.deps import RuntimeDep
from gateway.store.models import OutboxMessage

router = APIRouter(tags=["health"])


@router.get("/health")
def health(rt: RuntimeDep) -> dict[str, Any]:
    with rt.db.reading() as session:
        counts = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    return {
        "status": "ok",
        "outbox": {s: counts.get(s, 0) for s in ("pending", "delivered", "dead")},
    }
