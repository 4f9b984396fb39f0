"""The consent registry: grants and withdrawals, keyed by subject pseudonym."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.canonical import Consent, DataCategory, Identifier, Text
from gateway.crypto import Pseudonymiser
from gateway.errors import ConflictError, NotFoundError
from gateway.ids import is_uuid, new_id
from gateway.store.models import ConsentRow, table_of
from gateway.store.prepared import Statement, Transaction
from gateway.systems import get as get_system

PSEUDONYM_SCHEME = "pseudonym"


class ConsentGrant(BaseModel):
    """A consent as recorded by the registering agency; the identifier is pseudonymised."""

    model_config = ConfigDict(extra="forbid")

    subject: Identifier
    recipient: Text = Field(min_length=1, max_length=64)
    purpose: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    categories: frozenset[DataCategory] = Field(min_length=1)
    expires_at: AwareDatetime | None = None


def grant(
    session: Session, request: ConsentGrant, pseudonymiser: Pseudonymiser, now: dt.datetime
) -> ConsentRow:
    get_system(session, request.recipient)
    row = ConsentRow(
        id=new_id(),
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
    """Return a consent; an id that is not a UUID is simply not found."""
    row = session.get(ConsentRow, consent_id) if is_uuid(consent_id) else None
    if row is None:
        raise NotFoundError(f"no consent {consent_id!r}")
    return row


_HELD_FOR = Statement(
    select(table_of(ConsentRow)).where(
        ConsentRow.subject.in_(bindparam("subjects", expanding=True)),
        ConsentRow.recipient == bindparam("recipient"),
        ConsentRow.purpose == bindparam("purpose"),
    )
)


def held_for(tx: Transaction, pseudonyms: Iterable[str], recipient: str, purpose: str) -> list[Any]:
    """Return the grants these subjects gave this recipient for this purpose, as named rows."""
    wanted = sorted(set(pseudonyms))
    if not wanted:
        return []
    return tx.rows(_HELD_FOR, {"subjects": wanted, "recipient": recipient, "purpose": purpose})


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
