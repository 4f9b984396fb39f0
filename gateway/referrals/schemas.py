"""What the referral routes answer: guide versions and the referrals an interview made."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from gateway.referrals.guide import ReferenceGuide


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # recorded and queued for the authority
    HELD = "held"  # accepted, held for the data protection officer's approval
    DENIED = "denied"  # recorded as denied by policy
    FAILED = "failed"  # recorded as failed (the authority's system cannot take it, ...)
    INFORMED = "informed"  # the guide says the person is given the contact: nothing sent
    UNROUTED = "unrouted"  # the guide names no authority of this kind


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class PublishedGuide(_Out):
    """A published version of the guide, as it was published."""

    guide: ReferenceGuide
    digest: str  # SHA-256 of the guide's canonical JSON
    published_at: dt.datetime


class GuideVersion(_Out):
    version: int
    effective_from: dt.date


class Contact(_Out):
    """How the person or the officer reaches the authority (from the guide)."""

    name: str
    telephone: str | None
    hotline: str | None
    address: str | None
    hours: str | None


class ReferralOut(_Out):
    """One referral made: where, how urgent, why (rule ids), and what became of it."""

    kind: str
    urgency: str
    authority: str | None
    outcome: Outcome
    exchange_id: str | None  # the exchange that carried it, when one was recorded
    reasons: list[str]  # the outcome's codes: a denial's reasons, a failure's reason
    rules: list[str]  # the routing rules that made and shaped it (gateway/referrals/routing.py)
    contact: Contact | None  # for a referral the person is informed of, or none was sent


class InterviewRouted(_Out):
    """What an interview was routed to, under which guide version."""

    guide_version: int
    replay: bool  # routed before under this Idempotency-Key: the first outcomes, unchanged
    referrals: list[ReferralOut]
    rules: list[str]
