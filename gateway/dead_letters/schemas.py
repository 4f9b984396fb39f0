"""What the administrator sends and gets back about dead letters: metadata, never a body."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.approvals.schemas import REASON_LIMIT, Reason
from gateway.audit.service import MAX_PAGE
from gateway.canonical import NAME_PATTERN

SHOWN = 100
"""The latest attempts and actions shown of one dead letter, at most (a replayed message
may fail again and again: the answer stays bounded)."""

Action = Literal["replay", "discard", "purge"]


class DeadLetterQuery(BaseModel):
    """Which dead letters to list: all, or one destination's, oldest first, a page at a time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    destination: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="only those to this system"
    )
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,17}$",
        description="next_cursor of the page before: where the next page starts",
    )


class ReplayAll(BaseModel):
    """Replay every dead letter of one destination (its endpoint mended, say)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    destination: str = Field(pattern=NAME_PATTERN, description="the destination system's id")


class Discard(BaseModel):
    """A discard: the administrator must say why, for the record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason = Field(description=f"why it is discarded, 1 to {REASON_LIMIT} characters")


# Fields that may be null have a default (null) only so that the document's examples, from
# which FastAPI drops nulls, still fit the schema: every answer holds every field.


class AttemptOut(BaseModel):
    """One delivery attempt: when, the destination's status code (none if it could not be
    reached) and the error."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    attempted_at: dt.datetime
    status_code: int | None = None
    error: str | None = None


class ActionOut(BaseModel):
    """What was done with the dead letter, by whom (a role, or `retention`), when and why."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    action: Action
    actor: str
    reason: str | None = None
    at: dt.datetime


class DeadLetterSummary(BaseModel):
    """A dead letter in a listing: which exchange, to whom, how often tried, why it failed."""

    model_config = ConfigDict(frozen=True)

    exchange_id: str
    destination: str
    source: str | None = None
    message_type: str | None = None
    recorded_at: dt.datetime = Field(description="when the exchange was accepted")
    attempts: int = Field(description="delivery attempts recorded, replays included")
    last_error: str | None = Field(default=None, description="why the last attempt failed")
    last_attempt_at: dt.datetime | None = None
    body_held: bool = Field(
        description="whether its sealed body is still kept (false once discarded or purged: "
        "it cannot be replayed)"
    )


class DeadLetterOut(DeadLetterSummary):
    """A dead letter in full, as far as an operator may see it: never the body itself."""

    status: str = Field(
        description="the message's state now: dead; discarded; or, once replayed, pending, "
        "delivered or dead again"
    )
    content_type: str
    body_bytes: int | None = Field(
        default=None, description="the body's size as it would be sent, if held"
    )
    first_attempt_at: dt.datetime | None = None
    attempt_log: list[AttemptOut] = Field(
        description=f"the latest {SHOWN} attempts at most, oldest first"
    )
    actions: list[ActionOut] = Field(
        description=f"the latest {SHOWN} actions at most, oldest first"
    )


class DeadLetterPage(BaseModel):
    """Dead letters, oldest first, and where the next page starts, if any."""

    dead_letters: list[DeadLetterSummary]
    next_cursor: str | None


class Replayed(BaseModel):
    """What a replay of a destination's dead letters did."""

    destination: str
    replayed: int = Field(description="dead letters made due again, now pending")
    left_without_body: int = Field(
        description="dead letters left as they are: their bodies were purged"
    )
