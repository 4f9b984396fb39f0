"""GET /metrics: the gateway's counts and its outbox, for Prometheus (docs/metrics.md).

Who may read them: the administrator, by default. They hold no personal data, but which
systems exchange with which, and how much, is operational information a stranger should not
read. GATEWAY_METRICS_PUBLIC opens the route to any caller, for a scraper on a private
network; the document still names the administrator's credential, which is then not needed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from gateway.api.deps import RuntimeDep, admin, caller
from gateway.api.openapi import refusal
from gateway.errors import ForbiddenError
from gateway.metrics.exposition import CONTENT_TYPE, exposition

router = APIRouter(tags=["metrics"])

_EXAMPLE = (
    "# HELP gateway_exchanges_total Exchanges recorded, by decision (allowed, denied, invalid); "
    "an idempotent replay is not a new exchange.\n"
    "# TYPE gateway_exchanges_total counter\n"
    'gateway_exchanges_total{decision="allowed"} 1523.0\n'
    'gateway_exchanges_total{decision="denied"} 41.0\n'
    "# HELP gateway_outbox_messages Messages not delivered, by destination and status: pending "
    "(to be sent), awaiting-approval (held for the DPO), dead (given up).\n"
    "# TYPE gateway_outbox_messages gauge\n"
    'gateway_outbox_messages{destination="crvs-national",status="pending"} 3.0\n'
)
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus's text format: every serving process's counts (summed "
        "through PROMETHEUS_MULTIPROC_DIR), and the outbox as the database has it now.",
        "content": {"text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE}},
    },
    403: refusal(
        "A credential other than the administrator's (`forbidden`).",
        ForbiddenError("this needs the administrator role"),
    ),
}


def scraper(request: Request, rt: RuntimeDep) -> None:
    """Let the administrator in; anyone, if the metrics are public.

    Not a sub-dependency on the caller: public metrics must not ask for a credential at all.
    """
    if not rt.settings.metrics_public:
        admin(caller(request, rt))


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=_ANSWERS,
    summary="Metrics for Prometheus (administrator; anyone if GATEWAY_METRICS_PUBLIC)",
)
def metrics(_: Annotated[None, Depends(scraper)], rt: RuntimeDep) -> Response:
    return Response(exposition(rt.db, rt.clock()), media_type=CONTENT_TYPE)
