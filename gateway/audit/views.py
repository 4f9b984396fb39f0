"""The data protection officer's views of the exchange log: who received what about whom,
when, why and under which rule.

Why a room of its own: the administrator runs the gateway and lists recent exchanges; the
DPO answers for them. Only the DPO's role reads these views (every method refuses any other
reader), and they hold what the records hold: pseudonyms, never a name or an identifier.
One person's history is asked for by an identifier the DPO already has; the gateway turns it
into pseudonyms as the exchange path does (`gateway.subjects`) and forgets it. There is no
listing of subjects: nobody browses people.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)
from sqlalchemy import Date, String, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gateway.audit import repository
from gateway.audit.record import ALLOWED, DENIED
from gateway.audit.service import MAX_PAGE, ExchangePage, ExchangeStatus, Period, Reader, page_of
from gateway.canonical import NAME_PATTERN, Country, Identifier, Person
from gateway.config import Settings
from gateway.crypto import Pseudonymiser
from gateway.errors import ForbiddenError, InvalidInput, Problem, validation_problems
from gateway.policy.reasons import in_words
from gateway.store.db import Database
from gateway.store.models import ExchangeRecord
from gateway.subjects import identify, recall

EXPORT_LIMIT = 10_000
"""The most exchanges one CSV export holds; the answer says where the next part starts."""
FHIR_EXPORT_LIMIT = 1_000
"""The most exchanges one FHIR export holds: each becomes one AuditEvent per subject, each
built and validated, so a part is kept to what a request can carry in a few seconds."""
"""Exchanges whose delivery is read in one statement (a bound parameter each)."""
Bucket = Literal["day", "week"]


class DisclosureQuery(Period):
    """Filters for the DPO's listing of exchanges; every filter given must match."""

    recipient: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="the destination system"
    )
    jurisdiction: Country | None = Field(
        default=None,
        description="the state (ISO 3166-1 alpha-3) or organisation (ICAO code) that controls "
        "the destination",
    )
    purpose: str | None = Field(default=None, pattern=NAME_PATTERN)
    decision: Literal["allowed", "denied", "invalid"] | None = None
    source: str | None = Field(default=None, pattern=NAME_PATTERN)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,17}$",
        description="next_cursor of the page before: where the next page starts",
    )


class ExportQuery(DisclosureQuery):
    """The same filters for a CSV export: a part of at most EXPORT_LIMIT exchanges."""

    limit: int = Field(default=EXPORT_LIMIT, ge=1, le=EXPORT_LIMIT)


class FhirExportQuery(DisclosureQuery):
    """The same filters for a FHIR export: a part of at most FHIR_EXPORT_LIMIT exchanges."""

    limit: int = Field(default=FHIR_EXPORT_LIMIT, ge=1, le=FHIR_EXPORT_LIMIT)


class RegisterEntry(BaseModel):
    """One line of the transfer register, in the shape of a record of processing activities
    (GDPR art. 30): every allowed exchange of one kind to one recipient in the period."""

    model_config = ConfigDict(frozen=True)

    controller: str
    recipient: str | None
    recipient_jurisdiction: str | None
    third_country: str | None = Field(
        description="the recipient's jurisdiction where it is not the host state's: a third "
        "country, or an international organisation (ICAO code, e.g. UNO)"
    )
    purpose: str | None
    legal_basis: str | None
    agreement: str | None
    data_categories: list[str]
    count: int
    first_transfer: dt.datetime
    last_transfer: dt.datetime
    rules: list[str] = Field(description="every policy rule the exchanges were allowed under")
    retention: str


class ReasonCount(BaseModel):
    """How many denied exchanges gave one reason; an exchange may give several."""

    model_config = ConfigDict(frozen=True)

    reason: str
    words: str
    count: int


class RecipientCount(BaseModel):
    """How many exchanges to one recipient (none: the attempt named no known one)."""

    model_config = ConfigDict(frozen=True)

    recipient: str | None
    count: int


class DenialReport(BaseModel):
    """The denials of a period: how many, why, to whom, and the most recent ones."""

    model_config = ConfigDict(frozen=True)

    since: dt.datetime | None
    until: dt.datetime | None
    total: int
    by_reason: list[ReasonCount]
    by_recipient: list[RecipientCount]
    recent: list[ExchangeStatus]


class TransferCount(BaseModel):
    """Allowed exchanges to one recipient in one day or week (UTC; a week starts on Monday)."""

    model_config = ConfigDict(frozen=True)

    bucket_start: dt.date
    recipient: str | None
    count: int


@dataclass(frozen=True)
class RegisterTerms:
    """What the register says of every line: who is the controller, how long records live."""

    controller: str
    host_jurisdiction: str
    retention: str

    @classmethod
    def of(cls, settings: Settings) -> RegisterTerms:
        days = settings.exchange_record_retention_days
        return cls(
            controller=settings.controller,
            host_jurisdiction=settings.host_jurisdiction,
            retention=f"exchange records (pseudonymised metadata) kept {days} days "
            "(GATEWAY_EXCHANGE_RECORD_RETENTION_DAYS); message bodies erased once delivered",
        )


class DpoViews:
    """The exchange log as the data protection officer reads it."""

    def __init__(self, db: Database, pseudonymiser: Pseudonymiser, settings: Settings) -> None:
        self._db = db
        self._pseudonymiser = pseudonymiser
        self._terms = RegisterTerms.of(settings)

    def exchanges(self, reader: Reader, query: DisclosureQuery) -> ExchangePage:
        """List exchanges matching the query, newest first, a page at a time."""
        _only_the_dpo(reader)
        with self._db.reading() as session:
            return _page(session, query)

    def subject_history(
        self, reader: Reader, scheme: str, value: str, query: DisclosureQuery
    ) -> ExchangePage:
        """List every exchange about the person an identifier names, newest first.

        The identifier is pseudonymised as the exchange path does it: as its scheme compares
        it, and as spelled (what gateways before normalisation recorded); then every pseudonym
        linked to those (identifiers sent together for one person) is added. Nothing of the
        identifier is kept or answered; an unknown one gives an empty page, like a known one
        with no exchange.
        """
        _only_the_dpo(reader)
        with self._db.reading() as session:
            pseudonyms = self._pseudonyms_of(session, scheme, value)
            return _page(session, query, subjects=pseudonyms)

    def register(
        self, reader: Reader, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[RegisterEntry]:
        """Return the transfer register of the period: one line per recipient, jurisdiction,
        purpose, legal basis, agreement and set of data categories of allowed exchanges."""
        _only_the_dpo(reader)
        r = ExchangeRecord
        kind = (
            r.destination,
            r.destination_jurisdiction,
            r.purpose,
            r.legal_basis,
            r.agreement,
            cast(r.categories, String),
        )
        statement = (
            select(
                *kind, r.policy_rule, func.count(), func.min(r.recorded_at), func.max(r.recorded_at)
            )
            .where(r.decision == ALLOWED, *_within(since, until))
            .group_by(*kind, r.policy_rule)
        )
        lines: dict[tuple[Any, ...], _RegisterLine] = {}
        with self._db.reading() as session:
            rows = session.execute(statement).all()
        # Grouped by rule too in SQL (no portable aggregate of distinct text), merged here.
        for *found, categories, rule, count, first, last in rows:
            key = (*found, tuple(_json_list(categories)))
            line = lines.setdefault(key, _RegisterLine(first, last))
            line.add(rule, count, first, last)
        return [
            self._register_entry(key, line)
            for key, line in sorted(lines.items(), key=lambda item: _sortable(item[0]))
        ]

    def denials(
        self,
        reader: Reader,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 20,
    ) -> DenialReport:
        """Count the period's denials by reason code and by recipient; list the latest."""
        _only_the_dpo(reader)
        r = ExchangeRecord
        reasons_text = cast(r.reasons, String)
        statement = (
            select(reasons_text, r.destination, func.count())
            .where(r.decision == DENIED, *_within(since, until))
            .group_by(reasons_text, r.destination)
        )
        by_reason: Counter[str] = Counter()
        by_recipient: Counter[str | None] = Counter()
        with self._db.reading() as session:
            for reasons, recipient, count in session.execute(statement):
                for reason in set(_json_list(reasons)):
                    by_reason[reason] += count
                by_recipient[recipient] += count
            recent = repository.newest_first(
                session, limit=limit, decision=DENIED, since=since, until=until
            )
            latest = [ExchangeStatus.model_validate(record) for record in recent]
        return DenialReport(
            since=since,
            until=until,
            total=by_recipient.total(),
            by_reason=[
                ReasonCount(reason=reason, words=in_words(reason), count=count)
                for reason, count in sorted(by_reason.items(), key=lambda i: (-i[1], i[0]))
            ],
            by_recipient=[
                RecipientCount(recipient=recipient, count=count)
                for recipient, count in sorted(
                    by_recipient.items(), key=lambda i: (-i[1], i[0] or "")
                )
            ],
            recent=latest,
        )

    def transfers_per_recipient(
        self,
        reader: Reader,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bucket: Bucket = "day",
    ) -> list[TransferCount]:
        """Count allowed exchanges per recipient and UTC day (or week, from Monday): a chart."""
        _only_the_dpo(reader)
        if bucket not in ("day", "week"):
            raise InvalidInput("unknown bucket", [Problem("bucket", "is day or week")])
        r = ExchangeRecord
        with self._db.reading() as session:
            day = _utc_day(session, r.recorded_at)
            statement = (
                select(day, r.destination, func.count())
                .where(r.decision == ALLOWED, *_within(since, until))
                .group_by(day, r.destination)
            )
            rows = session.execute(statement).all()
        counts: Counter[tuple[dt.date, str | None]] = Counter()
        for found, recipient, count in rows:
            start = _as_date(found)
            if bucket == "week":
                start -= dt.timedelta(days=start.weekday())
            counts[start, recipient] += count
        return [
            TransferCount(bucket_start=start, recipient=recipient, count=count)
            for (start, recipient), count in sorted(
                counts.items(), key=lambda i: (i[0][0], i[0][1] or "")
            )
        ]

    def _pseudonyms_of(self, session: Session, scheme: str, value: str) -> list[str]:
        """Every pseudonym the exchange path could have recorded this identifier's person under."""
        try:
            asked = Person(ref="asked", identifiers=[Identifier(scheme=scheme, value=value)])
        except ValidationError as exc:  # the messages name the problem, never the value
            problems = validation_problems(exc.errors(include_input=False))
            # From None: the validation error holds the value, which no log may show.
            raise InvalidInput(
                "the identifier is not one an exchange could carry", problems
            ) from None
        subjects = identify([asked], self._pseudonymiser)
        recalled = recall(session.connection(), subjects)
        own = {p for subject in subjects for p in subject.pseudonyms}
        return sorted(own | {linked for p in own for linked in recalled.linked[p]})

    def _register_entry(self, key: tuple[Any, ...], line: _RegisterLine) -> RegisterEntry:
        recipient, jurisdiction, purpose, basis, agreement, categories = key
        foreign = jurisdiction is not None and jurisdiction != self._terms.host_jurisdiction
        return RegisterEntry(
            controller=self._terms.controller,
            recipient=recipient,
            recipient_jurisdiction=jurisdiction,
            third_country=jurisdiction if foreign else None,
            purpose=purpose,
            legal_basis=basis,
            agreement=agreement,
            data_categories=list(categories),
            count=line.count,
            first_transfer=line.first,
            last_transfer=line.last,
            rules=sorted(line.rules),
            retention=self._terms.retention,
        )


@dataclass
class _RegisterLine:
    """One register line being summed over the rules it was allowed under."""

    first: dt.datetime
    last: dt.datetime
    count: int = 0
    rules: set[str] = field(default_factory=set)

    def add(self, rule: str | None, count: int, first: dt.datetime, last: dt.datetime) -> None:
        self.count += count
        self.first, self.last = min(self.first, first), max(self.last, last)
        if rule:
            self.rules.add(rule)


def _only_the_dpo(reader: Reader) -> None:
    if not reader.dpo:
        raise ForbiddenError("this needs the data protection officer's role")


def _page(
    session: Session, query: DisclosureQuery, subjects: Sequence[str] | None = None
) -> ExchangePage:
    """One page of the records matching the query (and about these subjects, if given)."""
    records = repository.newest_first(
        session,
        limit=query.limit + 1,
        before_seq=None if query.cursor is None else int(query.cursor),
        source=query.source,
        destination=query.recipient,
        destination_jurisdiction=query.jurisdiction,
        purpose=query.purpose,
        decision=query.decision,
        since=query.since,
        until=query.until,
        subjects=subjects,
    )
    return page_of(session, records, query.limit)


def _within(since: dt.datetime | None, until: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The conditions that keep the records of a period (`since` inclusive, `until` not)."""
    found = []
    if since is not None:
        found.append(ExchangeRecord.recorded_at >= since)
    if until is not None:
        found.append(ExchangeRecord.recorded_at < until)
    return found


def _utc_day(session: Session, moment: Any) -> ColumnElement[Any]:
    """The UTC day of a stored time, as each database computes it.

    PostgreSQL keeps a time with its zone, so it is turned to UTC first (the zone written as
    SQL, not bound: a bound value makes each use a different expression to GROUP BY). SQLite
    keeps the UTC text the store wrote, whose first ten characters are the day.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), moment), Date)
    return func.date(moment, type_=Date)


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _json_list(value: str | None) -> list[str]:
    """A JSON list column read as text (it was grouped by its text)."""
    found = json.loads(value) if value else []
    return [str(item) for item in found]


def _sortable(key: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(part) if part is not None else "" for part in key)
