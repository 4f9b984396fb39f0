"""Subjects: the people an exchange is about, as pseudonyms, and the risk countries remembered.

Once the gateway has seen a person's risk countries it keeps them under every pseudonym the
person is known by, so that a later message that omits nationality (or arrives through a
different identifier) is still blocked from the country of origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.canonical import Person
from gateway.crypto import Pseudonymiser
from gateway.store.models import RememberedRisk, UtcDateTime, utcnow
from gateway.store.prepared import Statement, Transaction

UNIDENTIFIED = "unidentified"


@dataclass(frozen=True)
class Subject:
    """A person in one message: its local ref and the pseudonyms of all its identifiers."""

    ref: str
    pseudonyms: tuple[str, ...]

    @property
    def primary(self) -> str:
        """Return the pseudonym the audit record uses for this person."""
        return self.pseudonyms[0] if self.pseudonyms else UNIDENTIFIED


def identify(persons: Iterable[Person], pseudonymiser: Pseudonymiser) -> list[Subject]:
    """Pseudonymise each person's identifiers, in a stable order."""
    return [
        Subject(
            ref=person.ref,
            pseudonyms=tuple(
                pseudonymiser.pseudonym(i.scheme, i.value)
                for i in sorted(person.identifiers, key=lambda i: (i.scheme, i.value))
            ),
        )
        for person in persons
    ]


_REMEMBERED = Statement(
    select(RememberedRisk.pseudonym, RememberedRisk.country).where(
        RememberedRisk.pseudonym.in_(bindparam("wanted", expanding=True))
    )
)
_REMEMBER = Statement(
    lambda dialect: (
        (pg_insert if dialect == "postgresql" else sqlite_insert)(RememberedRisk)
        .values(
            pseudonym=bindparam("pseudonym"),
            country=bindparam("country"),
            first_seen=bindparam("first_seen", type_=UtcDateTime()),
        )
        .on_conflict_do_nothing()
    )
)


def recall(tx: Transaction, subjects: Iterable[Subject]) -> dict[str, frozenset[str]]:
    """Return the risk countries remembered under each pseudonym of these subjects."""
    wanted = sorted({p for s in subjects for p in s.pseudonyms})
    found: dict[str, set[str]] = {p: set() for p in wanted}
    if wanted:
        for row in tx.rows(_REMEMBERED, {"wanted": wanted}):
            found[row.pseudonym].add(row.country)
    return {p: frozenset(countries) for p, countries in found.items()}


def by_ref(
    subjects: Iterable[Subject], recalled: Mapping[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Return, per subject ref, what was remembered under any of its pseudonyms."""
    return {s.ref: frozenset(c for p in s.pseudonyms for c in recalled[p]) for s in subjects}


def remember(
    tx: Transaction,
    subjects: Iterable[Subject],
    risk: Mapping[str, frozenset[str]],
    recalled: Mapping[str, frozenset[str]],
) -> None:
    """Keep each subject's risk countries under all its pseudonyms; write only what is new."""
    rows = [
        {"pseudonym": p, "country": country, "first_seen": utcnow()}
        for s in subjects
        for p in s.pseudonyms
        for country in sorted(risk.get(s.ref, frozenset()) - recalled.get(p, frozenset()))
    ]
    if rows:
        tx.execute_many(_REMEMBER, rows)
