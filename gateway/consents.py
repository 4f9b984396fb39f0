"""The consent registry: grants and withdrawals, keyed by subject pseudonym."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from gateway.canonical import Consent, DataCategory, Identifier
from gateway.crypto import Pseudonymiser
from gateway.errors import ConflictError, NotFoundError
from gateway.store.models import ConsentRow, table_of
from gateway.systems import get as get_system

PSEUDONYM_SCHEME = "pseudonym"


class ConsentGrant(BaseModel):
    """A consent as recorded by the registering agency; the identifier is pseudonymised."""

    model_config = ConfigDict(extra="forbid")

    subject: Identifier
    recipient: str = Field(min_length=1, max_length=64)
    purpose: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    categories: frozenset[DataCategory] = Field(min_length=1)
    expires_at: AwareDatetime | None = None


def grant(
    session: Session, request: ConsentGrant, pseudonymiser: Pseudonymiser, now: dt.datetime
) -> ConsentRow:
    get_system(session, request.recipient)
    row = ConsentRow(
        id=str(uuid.uuid4()),
        subject=pseudonymiser.pseudonym(request.subject.scheme, request.subject.value),
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
    row = session.get(ConsentRow, consent_id)
    if row is None:
        raise NotFoundError(f"no consent {consent_id!r}")
    return row


# Built once: building a statement costs more than running it.
_TABLE = table_of(ConsentRow)
_HELD_FOR = select(_TABLE).where(_TABLE.c.subject.in_(bindparam("wanted", expanding=True)))


def for_subjects(connection: Connection, pseudonyms: Iterable[str]) -> Sequence[Row[Any]]:
    """Return the grants held for these subjects, as rows (read-only, no ORM objects)."""
    wanted = list(pseudonyms)
    if not wanted:
        return []
    return connection.execute(_HELD_FOR, {"wanted": wanted}).all()


def pseudonym_identifier(pseudonym: str) -> Identifier:
    """Return the identifier under which the policy engine matches consents to a subject."""
    return Identifier(scheme=PSEUDONYM_SCHEME, value=pseudonym)


def as_canonical(row: ConsentRow | Row[Any], subject_pseudonym: str) -> Consent:
    """Return the grant as a canonical Consent held for the subject's primary pseudonym."""
    return Consent(
        id=row.id,
        subject=pseudonym_identifier(subject_pseudonym),
        recipient=row.recipient,
        purpose=row.purpose,
        categories=frozenset(DataCategory(c) for c in row.categories),
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        withdrawn_at=row.withdrawn_at,
    )
