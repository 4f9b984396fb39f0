"""Reading the exchange log: what each party may see of an exchange, and nothing more."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from gateway.audit import repository
from gateway.audit.record import ALLOWED
from gateway.delivery.repository import Delivery, delivery_of
from gateway.errors import NotFoundError
from gateway.ids import is_uuid
from gateway.store.db import Database


@dataclass(frozen=True)
class Reader:
    """Who asks: the administrator, or one registered system."""

    admin: bool
    system_id: str | None = None


class ExchangeStatus(BaseModel):
    """An exchange as its parties and the administrator may see it: metadata only."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    exchange_id: str = Field(validation_alias=AliasChoices("exchange_id", "id"))
    recorded_at: dt.datetime
    source: str | None
    destination: str | None
    destination_jurisdiction: str | None
    message_type: str | None
    purpose: str | None
    legal_basis: str | None
    decision: str
    reasons: list[str]
    categories: list[str]
    subjects: list[str]
    policy_version: str | None
    policy_rule: str | None
    mapping_version: str | None
    payload_digest: str | None
    leaf_hash: str
    delivery: Delivery | None = None


class Audit:
    """The exchange log as its readers see it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def exchange(self, reader: Reader, exchange_id: str) -> ExchangeStatus:
        """Return an exchange's record and delivery, if this reader may see it.

        Every "may not see it" is the same answer as "absent": a system must not learn that
        others' exchanges exist, nor that one about it was refused.
        """
        absent = NotFoundError(f"no exchange {exchange_id!r}")
        if not is_uuid(exchange_id):
            raise absent
        with self._db.reading() as session:
            record = repository.stored(session, exchange_id)
            if record is None or not _may_read(
                reader, record.source, record.destination, record.decision
            ):
                raise absent
            found = ExchangeStatus.model_validate(record)  # the stored record's own fields
            return found.model_copy(update={"delivery": delivery_of(session, exchange_id)})


def _may_read(reader: Reader, source: str | None, destination: str | None, decision: str) -> bool:
    """The administrator and the source read any record; the destination only what it got."""
    if reader.admin or reader.system_id == source:
        return True
    return reader.system_id == destination and decision == ALLOWED
