"""Aggregate statistics: HTTP in, one `Statistics` call, HTTP out.

The administrator, the data protection officer, and the systems of the policy group
`statistics-recipient` may ask; any other system is refused (403). The query goes in a body:
it may name several dimensions, and a query parameter may be given only once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gateway.api.deps import CallerDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.audit.service import Reader
from gateway.errors import ForbiddenError
from gateway.statistics.schemas import MAX_DIMENSIONS, StatisticsAnswer, StatisticsQuery
from gateway.statistics.service import FORBIDDEN

router = APIRouter(prefix="/statistics", tags=["statistics"])


def statistics_reader(who: CallerDep, rt: RuntimeDep) -> Reader:
    """Refuse a caller that may not ask, before its query is looked at (as a role guard)."""
    if not rt.statistics.may_ask(who):
        raise ForbiddenError(FORBIDDEN)
    return who


StatisticsReaderDep = Annotated[Reader, Depends(statistics_reader)]

EXAMPLE: dict[str, Any] = {
    "query": {
        "dimensions": ["nationality", "sex"],
        "nationality": None,
        "location": ["unhcr-progres"],
        "period_from": "2026-01",
        "period_to": "2026-06",
        "reference_date": "2026-06-30",
    },
    "min_cell": 5,
    "cells": [
        {"values": {"nationality": "SSD", "sex": "female"}, "count": 412},
        {"values": {"nationality": "SSD", "sex": "male"}, "count": 377},
        {"values": {"nationality": "SDN", "sex": "female"}, "count": 58},
    ],
    "notes": [
        "Only combinations of at least 5 people are listed: one not listed has fewer, "
        "perhaps none. No total is given, since it would reveal them."
    ],
}


@router.post(
    "/query",
    response_model=StatisticsAnswer,
    summary="Count people by nationality, sex, age band, specific need, location, period",
    description=f"Counts from the statistical register (up to {MAX_DIMENSIONS} dimensions, "
    "each once; none gives one count). No combination shared by fewer than `min_cell` people "
    "(GATEWAY_STATISTICS_MIN_CELL, 5 by default) is answered, nor any total: such a "
    "combination is left out, like one nobody has. Never a row about anyone. A person counts "
    "once for each of their specific needs. An unknown dimension or filter, a repeated "
    "dimension, a malformed month or date, or a list over its limit is refused, every "
    "problem listed.",
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        403: refusal(
            "The caller is a system outside the policy group `statistics-recipient` (`forbidden`).",
            ForbiddenError(FORBIDDEN),
        ),
    },
)
def query(body: StatisticsQuery, who: StatisticsReaderDep, rt: RuntimeDep) -> StatisticsAnswer:
    return rt.statistics.query(who, body)
