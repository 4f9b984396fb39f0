"""The consent registry: grants and withdrawals, keyed by subject pseudonym."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from gateway.canonical import NAME_PATTERN, Consent, DataCategory, Identifier, Text
from gateway.crypto import Pseudonymiser
from gateway.errors import ConflictError, NotFoundError
from gateway.ids import is_uuid, new_id
from gateway.store.db import Database
from gateway.store.models import ConsentRow
from gateway.subjects import pseudonym_of
from gateway.systems import get as get_system

PSEUDONYM_SCHEME = "pseudonym"


class ConsentGrant(BaseModel):
    """A consent as recorded by the registering agency; the identifier is pseudonymised."""

    model_config = ConfigDict(extra="forbid")

    subject: Identifier
    recipient: Text = Field(min_length=1, max_length=64)
    purpose: str = Field(pattern=NAME_PATTERN)
    categories: frozenset[DataCategory] = Field(min_length=1)
    expires_at: AwareDatetime | None = None


class Consents:
    """The consent registry's administration: each call is one unit of work, committed before
    it returns, so a withdrawal binds every exchange that starts after it."""

    def __init__(
        self, db: Database, pseudonymiser: Pseudonymiser, clock: Callable[[], dt.datetime]
    ) -> None:
        self._db = db
        self._pseudonymiser = pseudonymiser
        self._clock = clock

    def grant(self, request: ConsentGrant) -> ConsentRow:
        """Record a consent; the subject's identifier is kept only as a pseudonym."""
        with self._db.unit_of_work() as session:
            row = grant(session, request, self._pseudonymiser, self._clock())
            session.flush()
        return row

    def get(self, consent_id: str) -> ConsentRow:
        with self._db.reading() as session:
            return get(session, consent_id)

    def withdraw(self, consent_id: str) -> ConsentRow:
        """Withdraw a consent; committed when this returns."""
        with self._db.unit_of_work() as session:
            return withdraw(session, consent_id, self._clock())


def grant(
    session: Session, request: ConsentGrant, pseudonymiser: Pseudonymiser, now: dt.datetime
) -> ConsentRow:
    get_system(session, request.recipient)
    row = ConsentRow(
        id=new_id(),
        subject=pseudonym_of(pseudonymiser, request.subject),
        recipient=request.recipient,
        purpose=request.purpose,
        categories=sorted(request.categories),
        granted_at=now,
        expires_at=request.expires_at,
    )
    session.add(row)
    return row


def withdraw(session: Session, consent_id: str, now: dt.datetime) -> ConsentRow:
    """Withdraw a consent: it stops every transfer decided from now on."""
    row = get(session, consent_id)
    if row.withdrawn_at is not None:
        raise ConflictError("consent already withdrawn")
    row.withdrawn_at = now
    return row


def get(session: Session, consent_id: str) -> ConsentRow:
    """Return a consent; an id that is not a UUID is simply not found."""
    row = session.get(ConsentRow, consent_id) if is_uuid(consent_id) else None
    if row is None:
        raise NotFoundError(f"no consent {consent_id!r}")
    return row


_GRANTS = ConsentRow.__table__
_HELD_BY = select(_GRANTS).where(  # built once: SQLAlchemy caches its compiled form
    _GRANTS.c.subject.in_(bindparam("subjects", expanding=True))
)


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
    return Consent.model_construct(
        id=row.id,
        subject=pseudonym_identifier(subject_pseudonym),
        recipient=row.recipient,
        purpose=row.purpose,
        categories=frozenset(DataCategory(c) for c in row.categories),
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        withdrawn_at=row.withdrawn_at,
    )
