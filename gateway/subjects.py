"""Subjects: the people an exchange is about, as pseudonyms, and the risk countries remembered.

Once the gateway has seen a person's risk countries it keeps them, so that a later message
that omits nationality is still blocked from the country of origin. A person is one person
under every name for them: an identifier is pseudonymised as its issuing scheme compares it
(case, spaces, separators: gateway/canonical/identifiers.py), and identifiers sent together
for one person are linked, so what was remembered under one is found under any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Connection,
    Executable,
    bindparam,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.canonical import Identifier, Person
from gateway.canonical.identifiers import normalise_identifier
from gateway.crypto import Pseudonymiser
from gateway.errors import InvalidInput, Problem
from gateway.store.models import IdentityLink, RememberedRisk, utcnow

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


def pseudonym_of(pseudonymiser: Pseudonymiser, identifier: Identifier) -> str:
    """Return an identifier's pseudonym, the same for every spelling its scheme treats as one."""
    return pseudonymiser.pseudonym(*_normalised(identifier))


def identify(persons: Iterable[Person], pseudonymiser: Pseudonymiser) -> list[Subject]:
    """Pseudonymise each person's identifiers, each once, in the order of their normal forms.

    Each identifier's pseudonym as spelled is kept too, after the normal ones, where it
    differs: that is the pseudonym gateways before identifiers were normalised remembered
    risk and consents under. It is linked to the person's others the first time it is seen,
    so nothing remembered before is forgotten.
    """
    subjects = []
    for person in persons:
        normal = sorted({_normalised(i) for i in person.identifiers})
        spelled = sorted({(i.scheme, i.value) for i in person.identifiers} - set(normal))
        pseudonyms = (pseudonymiser.pseudonym(*pair) for pair in (*normal, *spelled))
        subjects.append(Subject(person.ref, tuple(dict.fromkeys(pseudonyms))))
    return subjects


def _normalised(identifier: Identifier) -> tuple[str, str]:
    try:
        return normalise_identifier(identifier.scheme, identifier.value)
    except ValueError as exc:
        problem = f"an identifier of scheme {identifier.scheme!r} has no significant characters"
        raise InvalidInput("an identifier is empty", [Problem("identifier", problem)]) from exc


@dataclass(frozen=True)
class Recalled:
    """What the store holds of some pseudonyms: each one's person's risk countries and links."""

    risk: Mapping[str, frozenset[str]]  # remembered under the pseudonym or any linked to it
    linked: Mapping[str, frozenset[str]]  # the pseudonyms linked to it, however many links away


def _recall_statement() -> CompoundSelect[str, str, str | None]:
    """(pseudonym, a pseudonym of the same person, a risk country or NULL) for the wanted ones."""
    wanted: BindParameter[list[str]] = bindparam("wanted", expanding=True)
    links = IdentityLink.__table__.c
    linked = (
        select(links.pseudonym.label("start"), links.linked.label("pseudonym"))
        .where(links.pseudonym.in_(wanted))
        .cte("linked", recursive=True)
    )
    linked = linked.union(
        select(linked.c.start, links.linked).join_from(
            linked, IdentityLink, links.pseudonym == linked.c.pseudonym
        )
    )
    risk = RememberedRisk.__table__.c
    return union_all(
        select(risk.pseudonym, risk.pseudonym, risk.country).where(risk.pseudonym.in_(wanted)),
        select(linked.c.start, linked.c.pseudonym, risk.country).join_from(
            linked, RememberedRisk, risk.pseudonym == linked.c.pseudonym, isouter=True
        ),
    )


_RECALL = _recall_statement()  # built once: SQLAlchemy caches its compiled form


def recall(connection: Connection, subjects: Iterable[Subject]) -> Recalled:
    """Return what is remembered of these subjects' pseudonyms, links followed."""
    wanted = sorted({p for s in subjects for p in s.pseudonyms})
    risk: dict[str, set[str]] = {p: set() for p in wanted}
    linked: dict[str, set[str]] = {p: set() for p in wanted}
    if wanted:
        for pseudonym, member, country in connection.execute(_RECALL, {"wanted": wanted}):
            if member != pseudonym:
                linked[pseudonym].add(member)
            if country is not None:
                risk[pseudonym].add(country)
    return Recalled(
        {p: frozenset(c) for p, c in risk.items()}, {p: frozenset(m) for p, m in linked.items()}
    )


def recalled_after(
    recalled: Recalled, subjects: Iterable[Subject], risk: Mapping[str, frozenset[str]]
) -> Recalled:
    """Return what `recall` would read once `remember` kept these subjects' risk and links.

    Each subject's pseudonyms, and every pseudonym linked to any of them, become one person:
    each pseudonym recalled is linked to the others and holds every country any of them held,
    plus what was learnt. Why not read it again: a batch that did so after each exchange
    that taught the guard something paid the square of its size (a bulk import of new
    people, a third of its time).
    """
    risk_of, linked = dict(recalled.risk), dict(recalled.linked)
    for subject in subjects:
        person = set(subject.pseudonyms)
        for pseudonym in subject.pseudonyms:
            person |= linked.get(pseudonym, frozenset())
        countries = set(risk.get(subject.ref, frozenset()))
        for pseudonym in person & risk_of.keys():
            countries |= risk_of[pseudonym]
        for pseudonym in person & risk_of.keys():
            risk_of[pseudonym] = frozenset(countries)
            linked[pseudonym] = frozenset(person - {pseudonym})
    return Recalled(risk_of, linked)


def by_ref(subjects: Iterable[Subject], recalled: Recalled) -> dict[str, frozenset[str]]:
    """Return, per subject ref, what was remembered under any of its pseudonyms."""
    return {s.ref: frozenset(c for p in s.pseudonyms for c in recalled.risk[p]) for s in subjects}


def remember(
    connection: Connection,
    subjects: Iterable[Subject],
    risk: Mapping[str, frozenset[str]],
    recalled: Recalled,
) -> bool:
    """Keep each subject's risk countries under all its pseudonyms, and link its pseudonyms.

    Only what is new is written; a row another exchange wrote meanwhile is left as it is.
    Return whether anything new was written (what was recalled is then out of date).
    """
    subjects = list(subjects)
    now = utcnow()
    risk_rows = [
        {"pseudonym": p, "country": country, "first_seen": now}
        for s in subjects
        for p in s.pseudonyms
        for country in sorted(risk.get(s.ref, frozenset()) - recalled.risk[p])
    ]
    link_rows = [
        row
        for s in subjects
        for other in s.pseudonyms[1:]
        if other not in recalled.linked[s.primary]
        for row in (
            {"pseudonym": s.primary, "linked": other},
            {"pseudonym": other, "linked": s.primary},
        )
    ]
    dialect = connection.dialect.name
    for model, rows in ((RememberedRisk, risk_rows), (IdentityLink, link_rows)):
        if rows:
            connection.execute(_insert_new(model, dialect), rows)
    return bool(risk_rows or link_rows)


@cache
def _insert_new(model: type, dialect: str) -> Executable:
    """Return an INSERT that leaves a row already there as it is (built once per dialect)."""
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return dialect_insert(model).on_conflict_do_nothing()
