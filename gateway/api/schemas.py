"""API models: what callers send and get back (never the store's rows themselves)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from gateway.systems import SystemOut


class ExchangeAccepted(BaseModel):
    exchange_id: str
    categories: list[str]
    replay: bool = False


class SystemRegistered(SystemOut):
    credential: str  # shown once, at registration or rotation


class Credential(BaseModel):
    system_id: str
    credential: str


class ConsentOut(BaseModel):
    id: str
    subject: str  # the pseudonym: the identifier given is not kept
    recipient: str
    purpose: str
    categories: list[str]
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
