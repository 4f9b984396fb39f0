"""What if: explain the policy's decision on a hypothetical exchange; nothing is recorded or
sent. HTTP in, one service call, HTTP out."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query, Request

from gateway.api.deps import AdminOrDpoDep, runtime_of
from gateway.api.exchanges import READ_HEADERS, read_body
from gateway.api.openapi import WHAT_IF, refusal
from gateway.api.schemas import PolicyExplanation, RuleFiredOut
from gateway.canonical import NAME_PATTERN
from gateway.errors import NotFoundError
from gateway.policy import Decision
from gateway.policy.reasons import in_words

router = APIRouter(prefix="/policy", tags=["policy"])


@router.post(
    "/explain",
    response_model=PolicyExplanation,
    summary="Explain what the policy would decide (administrator or DPO)",
    description=(
        "Send a submission as the source system would (envelope headers and native message) "
        "and name the source: the answer is the decision and every rule that fired, in "
        "order. The message is parsed and decided with what the gateway remembers of its "
        "subjects and their consents, in a transaction that is always rolled back: nothing "
        "is recorded, remembered or sent. A denial is a 200 too: it is the answer asked for."
    ),
    responses={
        404: refusal(
            "The source is not a registered system (`not_found`).",
            NotFoundError("no system 'unhcr-progrs'"),
        )
    },
    openapi_extra=WHAT_IF,
)
async def explain(
    request: Request,
    source: Annotated[str, Query(pattern=NAME_PATTERN, description="The source system's id.")],
    _: AdminOrDpoDep,
) -> PolicyExplanation:
    rt = runtime_of(request)
    body = await read_body(request, rt.settings)
    headers = {h: value for h in READ_HEADERS if (value := request.headers.get(h)) is not None}
    decision = await to_thread.run_sync(rt.exchanges.explain, source, headers, body)
    return explanation(decision)


def explanation(decision: Decision) -> PolicyExplanation:
    """Return a decision as the API shows it."""
    return PolicyExplanation(
        allowed=decision.allowed,
        reasons=list(decision.reasons),
        meanings={reason: in_words(reason) for reason in decision.reasons},
        categories=sorted(decision.categories),
        rule=decision.rule,
        agreement=decision.agreement,
        approval=decision.approval,
        policy_version=decision.policy_version,
        trace=[
            RuleFiredOut(stage=f.stage, rule=f.rule, outcome=f.outcome, detail=f.detail)
            for f in decision.trace
        ],
    )
