"""Subjects: the people an exchange is about, as pseudonyms, and the risk countries remembered.

Once the gateway has seen a person's risk countries it keeps them under every pseudonym the
person is known by, so that a later message that omits nationality (or arrives through a
different identifier) is still blocked from the country of origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.canonical import Person
from gateway.crypto import Pseudonymiser
from gateway.store.models import RememberedRisk, utcnow

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


# Built once: building a statement costs more than running it.
_REMEMBERED = select(RememberedRisk.pseudonym, RememberedRisk.country).where(
    RememberedRisk.pseudonym.in_(bindparam("wanted", expanding=True))
)


def recall(connection: Connection, subjects: Iterable[Subject]) -> dict[str, frozenset[str]]:
    """Return the risk countries remembered under each pseudonym of these subjects."""
    wanted = {p for s in subjects for p in s.pseudonyms}
    found: dict[str, set[str]] = {p: set() for p in wanted}
    if wanted:
        rows = connection.execute(_REMEMBERED, {"wanted": list(wanted)})
        for pseudonym, country in rows:
            found[pseudonym].add(country)
    return {p: frozenset(countries) for p, countries in found.items()}


def by_ref(
    subjects: Iterable[Subject], recalled: Mapping[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Return, per subject ref, what was remembered under any of its pseudonyms."""
    return {s.ref: frozenset(c for p in s.pseudonyms for c in recalled[p]) for s in subjects}


def remember(
    connection: Connection,
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
    if not rows:
        return
    dialect = connection.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    connection.execute(insert(RememberedRisk).values(rows).on_conflict_do_nothing())
