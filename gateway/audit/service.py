"""Reading the exchange log: what each party may see of an exchange, and nothing more."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from sqlalchemy.orm import Session

from gateway.audit import repository
from gateway.audit.record import ALLOWED
from gateway.canonical import NAME_PATTERN
from gateway.delivery.repository import Delivery, deliveries_of, delivery_of
from gateway.errors import ForbiddenError, NotFoundError
from gateway.ids import is_uuid
from gateway.store.db import Database
from gateway.store.models import ExchangeRecord

MAX_PAGE = 500


Role = Literal["admin", "dpo", "system"]


@dataclass(frozen=True)
class Reader:
    """Who asks: the administrator, the data protection officer, or one registered system."""

    role: Role
    system_id: str | None = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def dpo(self) -> bool:
        return self.role == "dpo"


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
    log_index: int | None = None  # its index in the exchange log, once sealed
    delivery: Delivery | None = None


def _iso_8601(value: object) -> object:
    """Refuse numbers (pydantic would read them as Unix times): a time here is ISO 8601."""
    if not isinstance(value, str) or not _DATE_FIRST.match(value):
        raise ValueError("expected an ISO 8601 date and time with a time zone")
    return value


_DATE_FIRST = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _in_utc(moment: dt.datetime) -> dt.datetime:
    """Refuse a time the store cannot hold: times are kept in UTC, and
    9999-12-31T23:00-05:00 falls in no year a datetime has once there."""
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("is out of range once in UTC") from None


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(_in_utc)]


class Period(BaseModel):
    """A period of the log: `since` inclusive, `until` exclusive, either open; ISO 8601 with
    a time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: Moment | None = Field(default=None, description="recorded at or after")
    until: Moment | None = Field(default=None, description="recorded before")

    @model_validator(mode="after")
    def _runs_forward(self) -> Self:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class ExchangeQuery(Period):
    """Filters for a listing of recent exchanges; every filter given must match."""

    source: str | None = Field(default=None, pattern=NAME_PATTERN)
    destination: str | None = Field(default=None, pattern=NAME_PATTERN)
    message_type: str | None = Field(default=None, pattern=NAME_PATTERN)
    decision: Literal["allowed", "denied", "invalid"] | None = None
    delivery: Literal["pending", "delivered", "dead"] | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,17}$",
        description="next_cursor of the page before: where the next page starts",
    )


class ExchangePage(BaseModel):
    """Recent exchanges, newest first, and where the next (older) page starts, if any."""

    exchanges: list[ExchangeStatus]
    next_cursor: str | None


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

    def recent(self, reader: Reader, query: ExchangeQuery) -> ExchangePage:
        """List recent exchanges, newest first, a page at a time: the administrator's view."""
        if not (reader.admin or reader.dpo):
            raise ForbiddenError("listing exchanges needs the administrator or the DPO role")
        filters = query.model_dump(exclude={"limit", "cursor"})
        before = None if query.cursor is None else int(query.cursor)
        with self._db.reading() as session:
            records = repository.newest_first(
                session, limit=query.limit + 1, before_seq=before, **filters
            )
            return page_of(session, records, query.limit)


def page_of(session: Session, records: Sequence[ExchangeRecord], limit: int) -> ExchangePage:
    """Make a page of records read `limit + 1` at most, newest first, with their deliveries;
    its cursor, if more follow, is where the next page starts."""
    page = records[:limit]
    deliveries = deliveries_of(session, [r.id for r in page])
    found = [
        ExchangeStatus.model_validate(r).model_copy(update={"delivery": deliveries.get(r.id)})
        for r in page
    ]
    more = len(records) > limit
    return ExchangePage(exchanges=found, next_cursor=str(page[-1].seq) if more else None)


def _may_read(reader: Reader, source: str | None, destination: str | None, decision: str) -> bool:
    """The administrator, the DPO and the source read any record; the destination only what
    it got."""
    if reader.admin or reader.dpo or reader.system_id == source:
        return True
    return reader.system_id == destination and decision == ALLOWED
