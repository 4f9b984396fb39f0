"""What the DPO sends and gets back about approvals: metadata only, never a message body."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from gateway.audit.service import MAX_PAGE, ExchangeStatus
from gateway.canonical.text import control_character

REASON_LIMIT = 500
"""The longest reason the DPO may give, in characters (the column's size)."""

State = Literal["pending", "approved", "rejected"]


def _no_control_characters(text: str) -> str:
    if code := control_character(text):
        raise ValueError(f"holds control character {code}")
    return text


Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_LIMIT),
    AfterValidator(_no_control_characters),
]
"""The DPO's reason: trimmed, 1 to REASON_LIMIT characters, no control characters."""


class ApprovalQuery(BaseModel):
    """Which approvals to list: one state (pending by default) or all, a page at a time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: State | Literal["all"] = "pending"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,17}$",
        description="next_cursor of the page before: where the next page starts",
    )


class ApprovalNote(BaseModel):
    """An approval, with the DPO's reason if the DPO gives one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason | None = Field(
        default=None, description=f"why it is approved, at most {REASON_LIMIT} characters"
    )


class Rejection(BaseModel):
    """A rejection: the DPO must say why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason = Field(description=f"why it is rejected, 1 to {REASON_LIMIT} characters")


class ApprovalOut(BaseModel):
    """An exchange held for the DPO: why it waits, what the DPO decided, and the exchange's
    record and delivery (metadata only: subjects as pseudonyms, the body as a digest)."""

    model_config = ConfigDict(frozen=True)

    exchange_id: str
    state: State
    why: str = Field(description="why the policy asks for the DPO's approval")
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None = Field(description="who decided: the DPO's role")
    reason: str | None = Field(description="the DPO's reason (always given for a rejection)")
    exchange: ExchangeStatus


class ApprovalPage(BaseModel):
    """Approvals, pending ones oldest first, decided ones newest first, and where the next
    page starts, if any."""

    approvals: list[ApprovalOut]
    next_cursor: str | None
