"""Registrations written as the pipeline writes an accepted one, and what the store holds.

`register` opens a transaction, leaves the exchange record and the registration's rows in a
batch (gateway/store/group.py) and writes them at its end, as the pipeline does with an
accepted registration (tests/registrations/test_pipeline.py goes through the pipeline itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import ALLOWED
from gateway.canonical import BirthDate, DataCategory, Identifier, Person, PersonName, Sex
from gateway.canonical.registration import Registration
from gateway.crypto import Pseudonymiser
from gateway.ids import new_id
from gateway.registrations.digest import POSSIBLE, PROBABLE, STRONG
from gateway.registrations.service import Flagged, Registered, flag
from gateway.store.db import Database
from gateway.store.group import Batch
from gateway.store.models import RegistrationDigest, RegistrationFlag

PSEUDONYMISER = Pseudonymiser(b"r" * 32)
AUTHORITY = "unhcr-progres"
AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def person(
    given: str = "Amani",
    family: str | None = "Okello",
    born: str | None = "1990-04-12",
    sex: Sex = Sex.FEMALE,
    *,
    estimated: bool = False,
    ids: Sequence[tuple[str, str]] = (),
    ref: str = "p1",
) -> Person:
    return Person(
        ref=ref,
        names=[PersonName(given=given.split(), family=family)],
        sex=sex,
        birth_date=None
        if born is None
        else BirthDate(date=dt.date.fromisoformat(born), estimated=estimated),
        identifiers=[Identifier(scheme=s, value=v) for s, v in ids],
    )


def registration(who: Person, *household: Person) -> Registration:
    return Registration(person=who, household=list(household), registered_on=dt.date(2026, 11, 30))


def record_writes(batch: Batch, exchange_id: str) -> None:
    """Leave an accepted exchange record in the batch, as the pipeline does."""
    record = audit_record.build(
        exchange_id=exchange_id,
        recorded_at=AT,
        source="registration-office",
        request_digest=None,
        decision=ALLOWED,
        reasons=["allowed"],
    )
    batch.defer(*audit_log.writes(record))


def in_batch(
    batch: Batch,
    payload: Registration,
    authority: str = AUTHORITY,
    prepared: Registered | None = None,
    allowed: frozenset[DataCategory] | None = None,
) -> tuple[str, Flagged]:
    """Record and check one registration in a batch (with what `prepare` read for the batch,
    if given; for an authority `allowed` these categories); return its exchange id and flags."""
    exchange_id = new_id()
    flagged = flag(
        batch, PSEUDONYMISER, payload, exchange_id, authority, AT, prepared, allowed=allowed
    )
    record_writes(batch, exchange_id)
    batch.defer(*flagged.writes)
    return exchange_id, flagged


def register(
    db: Database,
    payload: Registration,
    authority: str = AUTHORITY,
    allowed: frozenset[DataCategory] | None = None,
) -> tuple[str, Flagged]:
    """Record and check one registration in a transaction of its own, committed."""
    with db.transaction() as connection:
        batch = Batch(connection)
        found = in_batch(batch, payload, authority, allowed=allowed)
        batch.write()
    return found


def strengths(flagged: Flagged) -> list[str]:
    """Return the strengths of the flags a registration raised, strongest first."""
    return sorted((str(f["strength"]) for f in flagged.flags), key=_STRENGTHS.index)


_STRENGTHS = [STRONG, PROBABLE, POSSIBLE]


def stored_flags(db: Database) -> list[dict[str, Any]]:
    """Return every flag row, oldest first, as plain dicts."""
    with db.reading() as session:
        rows = session.scalars(select(RegistrationFlag).order_by(RegistrationFlag.id)).all()
        return [
            {c.key: getattr(r, c.key) for c in RegistrationFlag.__table__.columns} for r in rows
        ]


def stored_text(db: Database) -> str:
    """Return everything the registration tables hold, as one string (to search for content)."""
    parts: list[str] = []
    with db.reading() as session:
        for model in (RegistrationDigest, RegistrationFlag):
            for row in session.execute(select(model.__table__)).all():
                parts.extend(str(value) for value in row)
    return "\n".join(parts)
