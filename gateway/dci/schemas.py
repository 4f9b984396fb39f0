"""The DCI routes' API models: a subscription asked for and kept, a notice acknowledged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from gateway.canonical import NAME_PATTERN
from gateway.dci.service import CONFIRMATION

NOTIFY_PATH = "/dci/notify"


class SubscriptionIn(BaseModel):
    """A subscription to a DCI registry's live births, as an administrator asks for it."""

    model_config = ConfigDict(extra="forbid")

    registry: str = Field(pattern=NAME_PATTERN, description="The DCI civil registry's system id.")
    destination: str = Field(pattern=NAME_PATTERN, description="Where the births go (proGres).")
    purpose: str = Field(pattern=NAME_PATTERN, examples=["birth-registration"])
    legal_basis: str = Field(pattern=NAME_PATTERN, examples=["public-interest"])
    agreement: str | None = Field(default=None, pattern=NAME_PATTERN)
    message_type: str = Field(default=CONFIRMATION, pattern=NAME_PATTERN)
    notify_url: HttpUrl = Field(
        description=f"The gateway's own {NOTIFY_PATH}, as the registry reaches it."
    )


class AckMessage(BaseModel):
    ack_status: Literal["ACK"]
    timestamp: str
    correlation_id: str = Field(description="The exchange id the notice became.")


class DciAck(BaseModel):
    """A DCI acknowledgement: the notice is recorded, and queued for its destination."""

    message: AckMessage


class SubscriptionOut(BaseModel):
    registry: str
    destination: str
    message_type: str
    correlation_id: str
    subscribed_at: str
