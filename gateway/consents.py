"""The consent registry: grants and withdrawals, keyed by subject pseudonym.

A consent's life: granted, by the person or, for a child, by a guardian (whose relationship
is recorded, with the child's views); relied on by allowed exchanges (`relied_upon`, written
with each exchange's record); then expired or withdrawn. A withdrawal is committed with its
consequences, in one transaction (gateway/consent_notices.py): messages that relied on the
consent and have not left are cancelled, and each recipient that received data under it is
sent a notice. Its answer binds every exchange that starts after it.

The child's views are sealed like outbox bodies (AES-GCM under a key of their own, bound to
the consent id): never logged, never in an exchange record, never in an answer. Only their
presence shows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import Connection, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from gateway.canonical import (
    NAME_PATTERN,
    Consent,
    DataCategory,
    GrantedBy,
    GuardianRelationship,
    Identifier,
    Text,
)
from gateway.consent_notices import Notice, Notices, exchanges_of, notices_of
from gateway.crypto import BodySealer, Pseudonymiser
from gateway.errors import ConflictError, InvalidInput, NotFoundError, Problem
from gateway.ids import is_uuid, new_id
from gateway.store.db import Database
from gateway.store.group import Write
from gateway.store.models import ConsentRow, ExchangeConsent
from gateway.subjects import pseudonym_of
from gateway.systems import get as get_system

PSEUDONYM_SCHEME = "pseudonym"
CHILD_VIEWS_KEY = "seal-consent-child-views"
"""The purpose the key sealing children's views is derived for (gateway/crypto.py)."""
CHILD_VIEWS_MAX = 500
State = Literal["active", "withdrawn", "expired"]
_DATE_FIRST = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _a_time(value: object) -> object:
    """Refuse numbers, which pydantic would read as Unix times: a time is ISO 8601 here."""
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _DATE_FIRST.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date and time with a time zone")


def _in_utc(moment: dt.datetime) -> dt.datetime:
    """Refuse a time the store cannot hold: it keeps UTC, where 9999-12-31T23:00-05:00 is not."""
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("is out of range once in UTC") from None


Moment = Annotated[AwareDatetime, BeforeValidator(_a_time), AfterValidator(_in_utc)]


class ConsentGrant(BaseModel):
    """A consent as recorded by the registering agency; the identifier is pseudonymised.

    A guardian's grant for a child names the guardian's relationship and records the child's
    views (a short text, or the reference of where they are written down); a person's own
    grant has neither.
    """

    model_config = ConfigDict(extra="forbid")

    subject: Identifier
    recipient: Text = Field(min_length=1, max_length=64)
    purpose: str = Field(pattern=NAME_PATTERN)
    categories: frozenset[DataCategory] = Field(min_length=1)
    expires_at: Moment | None = Field(
        default=None, description="when it lapses (ISO 8601 with a time zone); in the future"
    )
    granted_by: GrantedBy = Field(
        default=GrantedBy.SUBJECT, description="the person themself, or a child's guardian"
    )
    guardian_relationship: GuardianRelationship | None = Field(
        default=None,
        validate_default=True,
        description="how the guardian stands to the child; required when a guardian grants",
    )
    child_views: Text | None = Field(
        default=None,
        max_length=CHILD_VIEWS_MAX,
        validate_default=True,
        repr=False,
        description="the child's views, or where they are recorded; required when a guardian "
        "grants. Kept sealed, never shown again.",
    )

    @field_validator("guardian_relationship", "child_views")
    @classmethod
    def _a_guardians_grant_only(cls, value: Any, info: ValidationInfo) -> Any:
        granted_by = info.data.get("granted_by")
        if granted_by is GrantedBy.GUARDIAN:
            if value is None or (isinstance(value, str) and not value.strip()):
                raise ValueError("is required when a guardian grants consent for a child")
        elif granted_by is GrantedBy.SUBJECT and value is not None:
            raise ValueError("is recorded only when a guardian grants consent (granted_by)")
        return value


@dataclass(frozen=True)
class ConsentView:
    """A consent as the administrator sees it: never the identifier, never the child's views."""

    id: str
    subject: str  # the pseudonym: the identifier given is not kept
    recipient: str
    purpose: str
    categories: list[str]
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    granted_by: str
    guardian_relationship: str | None
    child_views_recorded: bool
    exchanges: int  # how many allowed exchanges relied on it
    cancelled: list[str] = field(default_factory=list)  # messages cancelled by a withdrawal
    notices: list[Notice] = field(default_factory=list)  # one per recipient told


class Consents:
    """The consent registry's administration: each call is one unit of work, committed before
    it returns, so a withdrawal binds every exchange that starts after it."""

    def __init__(
        self,
        db: Database,
        pseudonymiser: Pseudonymiser,
        clock: Callable[[], dt.datetime],
        *,
        views: BodySealer,
        notices: Notices,
    ) -> None:
        self._db = db
        self._pseudonymiser = pseudonymiser
        self._clock = clock
        self._views = views  # seals children's views
        self._notices = notices
        self.on_withdrawn: Callable[[], None] = lambda: None  # after the commit: wake the relay

    def grant(self, request: ConsentGrant) -> ConsentView:
        """Record a consent; the subject's identifier is kept only as a pseudonym."""
        with self._db.unit_of_work() as session:
            row = grant(session, request, self._pseudonymiser, self._clock(), self._views)
            session.flush()
            view = views_of(session, [row])[0]
        return view

    def get(self, consent_id: str) -> ConsentView:
        with self._db.reading() as session:
            return views_of(session, [get(session, consent_id)])[0]

    def withdraw(self, consent_id: str) -> ConsentView:
        """Withdraw a consent, cancel and notify; all committed when this returns."""
        with self._db.unit_of_work() as session:
            row, queued = withdraw(session, consent_id, self._clock(), self._notices)
            view = views_of(session, [row])[0]
        if queued:
            self.on_withdrawn()
        return view

    def listing(
        self,
        *,
        recipient: str | None = None,
        purpose: str | None = None,
        state: State | None = None,
        limit: int = 50,
    ) -> list[ConsentView]:
        """List consents, latest granted first, by recipient, purpose and state."""
        query = select(ConsentRow).order_by(ConsentRow.granted_at.desc(), ConsentRow.id)
        if recipient is not None:
            query = query.where(ConsentRow.recipient == recipient)
        if purpose is not None:
            query = query.where(ConsentRow.purpose == purpose)
        now = self._clock()
        lapsed = ConsentRow.expires_at.is_not(None) & (ConsentRow.expires_at <= now)
        if state == "withdrawn":
            query = query.where(ConsentRow.withdrawn_at.is_not(None))
        elif state == "expired":
            query = query.where(ConsentRow.withdrawn_at.is_(None), lapsed)
        elif state == "active":
            query = query.where(
                ConsentRow.withdrawn_at.is_(None),
                or_(ConsentRow.expires_at.is_(None), ConsentRow.expires_at > now),
            )
        with self._db.reading() as session:
            return views_of(session, session.scalars(query.limit(limit)).all())


def grant(
    session: Session,
    request: ConsentGrant,
    pseudonymiser: Pseudonymiser,
    now: dt.datetime,
    views: BodySealer | None = None,
) -> ConsentRow:
    """Record a consent; refuse one that has lapsed already or names no registered system."""
    if request.expires_at is not None and request.expires_at <= now:
        problem = Problem("body.expires_at", "is not in the future: the consent would be void")
        raise InvalidInput("the consent has expired already", [problem])
    get_system(session, request.recipient)
    row = ConsentRow(
        id=new_id(),
        subject=pseudonym_of(pseudonymiser, request.subject),
        recipient=request.recipient,
        purpose=request.purpose,
        categories=sorted(request.categories),
        granted_at=now,
        expires_at=request.expires_at,
        granted_by=request.granted_by.value,
        guardian_relationship=(
            None if request.guardian_relationship is None else request.guardian_relationship.value
        ),
    )
    if request.child_views is not None:
        if views is None:
            raise TypeError("recording a child's views needs the sealer of children's views")
        row.child_views_key_id, row.child_views_sealed = views.seal(
            request.child_views.encode(), row.id.encode()
        )
    session.add(row)
    return row


def withdraw(
    session: Session, consent_id: str, now: dt.datetime, notices: Notices
) -> tuple[ConsentRow, int]:
    """Withdraw a consent: it stops every transfer decided from now on; what relied on it is
    cancelled or told (gateway/consent_notices.py). Return it and how many notices queued.

    The row is locked first (PostgreSQL), so two withdrawals at once cannot both succeed.
    """
    row = get(session, consent_id, lock=True)
    if row.withdrawn_at is not None:
        raise ConflictError("consent already withdrawn")
    row.withdrawn_at = now
    session.flush()
    return row, notices.propagate(session, row, now)


def get(session: Session, consent_id: str, *, lock: bool = False) -> ConsentRow:
    """Return a consent; an id that is not a UUID is simply not found."""
    row = None
    if is_uuid(consent_id):
        locked = True if lock else None  # None: the identity map may answer
        row = session.get(ConsentRow, consent_id, with_for_update=locked)
    if row is None:
        raise NotFoundError(f"no consent {consent_id!r}")
    return row


def views_of(session: Session, rows: Sequence[ConsentRow]) -> list[ConsentView]:
    """Return the administrator's view of each consent, read for all of them at once."""
    ids = [row.id for row in rows]
    exchanges = exchanges_of(session, ids)
    notices = notices_of(session, ids)
    return [
        ConsentView(
            id=row.id,
            subject=row.subject,
            recipient=row.recipient,
            purpose=row.purpose,
            categories=list(row.categories),
            granted_at=row.granted_at,
            expires_at=row.expires_at,
            withdrawn_at=row.withdrawn_at,
            granted_by=row.granted_by,
            guardian_relationship=row.guardian_relationship,
            child_views_recorded=row.child_views_sealed is not None,
            exchanges=exchanges[row.id][0],
            cancelled=exchanges[row.id][1],
            notices=notices.get(row.id, []),
        )
        for row in rows
    ]


_LINK = insert(ExchangeConsent)  # built once: one statement for every exchange of a batch


def relied_upon(exchange_id: str, consent_ids: Iterable[str]) -> list[Write]:
    """Return the rows that record the consents an allowed exchange relied on (none: [])."""
    rows = [{"exchange_id": exchange_id, "consent_id": c} for c in consent_ids]
    return [(_LINK, rows)] if rows else []


_GRANTS = ConsentRow.__table__
_SEALED = {"child_views_sealed", "child_views_key_id"}  # never read on the exchange path
_HELD_BY = select(  # built once: SQLAlchemy caches its compiled form
    *(column for column in _GRANTS.c if column.name not in _SEALED)
).where(_GRANTS.c.subject.in_(bindparam("subjects", expanding=True)))


def held_by(connection: Connection, pseudonyms: Iterable[str]) -> list[Any]:
    """Return every grant these subjects gave, withdrawn and expired ones too, as named rows."""
    wanted = sorted(set(pseudonyms))
    if not wanted:
        return []
    return list(connection.execute(_HELD_BY, {"subjects": wanted}))


def pseudonym_identifier(pseudonym: str) -> Identifier:
    """Return the identifier under which the policy engine matches consents to a subject."""
    return Identifier.model_construct(scheme=PSEUDONYM_SCHEME, value=pseudonym)


def as_canonical(row: Any, subject_pseudonym: str) -> Consent:
    """Return a stored grant as a canonical Consent held for the subject's primary pseudonym.

    Built without validation: the row was validated when granted, and only the gateway writes
    it (validating each grant again would cost more than deciding the exchange).
    """
    relationship = row.guardian_relationship
    return Consent.model_construct(
        id=row.id,
        subject=pseudonym_identifier(subject_pseudonym),
        recipient=row.recipient,
        purpose=row.purpose,
        categories=frozenset(DataCategory(c) for c in row.categories),
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        withdrawn_at=row.withdrawn_at,
        granted_by=GrantedBy(row.granted_by),
        guardian_relationship=None if relationship is None else GuardianRelationship(relationship),
    )
