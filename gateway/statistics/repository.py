"""The statistical register in the store: one row per person, written with the exchange's record.

Who is counted: the people of every exchange allowed from a system of the policy group
`registration-authority` (the authority that registers them). A denied exchange adds no one,
and a civil registry's answer about a child changes nothing: it says less than the
registration did, and the latest facts win.

One row per person, however many identifiers they were known by: a person's row is kept
under the smallest of every pseudonym linked to theirs (gateway/subjects.py); when a new
link makes another the smallest, the rows under the others are merged into it (the earliest
month first seen kept) and removed. The key is a keyed hash of that pseudonym under a key of
the register's own, so the register cannot be joined to the exchange records, which name
pseudonyms, without the gateway's secret.

A row holds what statistics count and nothing else: nationality, sex, month of birth,
specific-need codes, the registering system, and the months first and last seen.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Executable, bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from gateway.canonical import Payload, Person
from gateway.canonical.json import canonical_json
from gateway.crypto import Pseudonymiser
from gateway.statistics.schemas import (
    AGE_BANDS,
    NO_SPECIFIC_NEED,
    STATELESS,
    UNKNOWN,
    UNSPECIFIED,
    Dimension,
)
from gateway.store.group import Write
from gateway.store.models import StatisticalSubject
from gateway.subjects import Recalled, Subject

REGISTRATION_AUTHORITY = "registration-authority"
"""The policy group whose allowed exchanges fill the register."""
KEY_SCHEME = "statistical-register"

_register = StatisticalSubject.__table__.c
_FACTS = ("nationality", "sex", "birth_month", "specific_needs", "location", "last_seen")
_other = aliased(StatisticalSubject)
MERGE = (  # the kept row takes the earliest first month of the two
    update(StatisticalSubject)
    .where(StatisticalSubject.key == bindparam("b_keep"))
    .values(
        first_seen=select(func.min(_other.first_seen))
        .where(_other.key.in_([bindparam("b_keep"), bindparam("b_gone")]))
        .scalar_subquery()
    )
)
REMOVE = delete(StatisticalSubject).where(StatisticalSubject.key == bindparam("b_gone"))


@cache
def upsert(dialect: str) -> Executable:
    """Return the INSERT that writes a person's latest facts and keeps their first month."""
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = dialect_insert(StatisticalSubject)
    return statement.on_conflict_do_update(
        index_elements=[_register.key],
        set_={name: statement.excluded[name] for name in _FACTS},
    )


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def nationality_of(person: Person) -> str:
    """The first nationality; else XXA if stateless; else the country of origin; else XXX."""
    if person.nationalities:
        return person.nationalities[0]
    if person.stateless:
        return STATELESS
    return person.country_of_origin or UNSPECIFIED


def facts(person: Person, location: str) -> dict[str, Any]:
    """Return the register's columns for a person, but for the key and the months seen."""
    return {
        "nationality": nationality_of(person),
        "sex": person.sex.value,
        "birth_month": None if person.birth_date is None else month_of(person.birth_date.date),
        "specific_needs": canonical_json(sorted(set(person.specific_needs))).decode(),
        "location": location,
    }


class StatisticalRegister:
    """Turn an allowed exchange's people into the register's rows (written by its batch)."""

    def __init__(
        self, keyer: Pseudonymiser, groups_of: Callable[[str], frozenset[str]], dialect: str
    ) -> None:
        self._keyer = keyer
        # The rule set never changes once loaded: a source's groups are looked up once.
        self._counted = cache(lambda source: REGISTRATION_AUTHORITY in groups_of(source))
        self._upsert = upsert(dialect)

    def key(self, pseudonym: str) -> str:
        """Return the register's key for a person kept under this pseudonym."""
        return self._keyer.pseudonym(KEY_SCHEME, pseudonym)

    def writes(
        self,
        source: str,
        payload: Payload,
        subjects: Iterable[Subject],
        recall: Callable[[], Recalled],
        at: dt.datetime,
    ) -> list[Write]:
        """Return the rows an exchange allowed from `source` writes (none if not counted).

        The payload is as the source sent it, not as minimised for the destination: a civil
        registry gets no specific needs, and statistics count them. `recall` tells what the
        store links to every subject's pseudonyms (asked only if the source counts). A person
        with no identifier cannot be told from another, and is not counted.
        """
        if not self._counted(source):
            return []
        month = month_of(at.astimezone(dt.UTC))
        linked = recall().linked
        by_ref = {person.ref: person for person in payload.subjects()}
        rows: list[dict[str, Any]] = []
        merged: list[dict[str, str]] = []
        for subject in subjects:
            same = {*subject.pseudonyms}
            same.update(q for p in subject.pseudonyms for q in linked.get(p, ()))
            if not same:
                continue
            kept, *others = sorted(same)
            key = self.key(kept)
            seen = {"first_seen": month, "last_seen": month}
            rows.append({"key": key, **facts(by_ref[subject.ref], source), **seen})
            merged.extend({"b_keep": key, "b_gone": self.key(other)} for other in others)
        found: list[Write] = [(self._upsert, rows)] if rows else []
        if merged:
            found += [(MERGE, merged), (REMOVE, [{"b_gone": m["b_gone"]} for m in merged])]
        return found


def _age_band(birth_month: ColumnElement[str | None], reference: dt.date) -> ColumnElement[str]:
    """The age band at `reference`, counting a birthday as reached on the 1st of its month.

    Age >= a exactly when the month of birth is at or before the reference month a years
    earlier; months compare as text (YYYY-MM).
    """

    def reached(age: int) -> str:
        return f"{reference.year - age:04d}-{reference.month:02d}"

    oldest_first = sorted(AGE_BANDS.items(), key=lambda band: -band[1])
    return case(
        (birth_month.is_(None), UNKNOWN),
        (birth_month > reached(0), UNKNOWN),  # born after the reference month
        *((birth_month <= reached(age), band) for band, age in oldest_first[:-1]),
        else_=oldest_first[-1][0],
    )


def counts(
    session: Session,
    dimensions: Sequence[Dimension],
    reference: dt.date,
    *,
    nationality: Iterable[str] | None = None,
    location: Iterable[str] | None = None,
    first_from: str | None = None,
    first_to: str | None = None,
) -> Counter[tuple[str, ...]]:
    """Count the people the filters leave by each combination of the dimensions' values.

    A person with several specific needs counts once under each, and under "none" with none.
    Combinations nobody has are left out.
    """
    columns: Mapping[Dimension, ColumnElement[Any]] = {
        "nationality": _register.nationality,
        "sex": _register.sex,
        "age_band": _age_band(_register.birth_month, reference),
        "specific_need": _register.specific_needs,
        "location": _register.location,
        "period": _register.first_seen,
    }
    conditions: list[ColumnElement[bool]] = []
    if nationality is not None:
        conditions.append(_register.nationality.in_(sorted(set(nationality))))
    if location is not None:
        conditions.append(_register.location.in_(sorted(set(location))))
    if first_from is not None:
        conditions.append(_register.first_seen >= first_from)
    if first_to is not None:
        conditions.append(_register.first_seen <= first_to)
    # Grouped outside a subquery: PostgreSQL does not see two bound CASEs as one expression.
    people = (
        select(_register.key, *(columns[d].label(d) for d in dimensions))
        .where(*conditions)
        .subquery()
    )
    grouped = [people.c[d] for d in dimensions]
    statement = select(*grouped, func.count()).select_from(people).group_by(*grouped)
    found: Counter[tuple[str, ...]] = Counter()
    need = dimensions.index("specific_need") if "specific_need" in dimensions else None
    for *values, count in session.execute(statement):
        if need is None:
            found[tuple(values)] += count
            continue
        for code in json.loads(values[need]) or [NO_SPECIFIC_NEED]:
            found[(*values[:need], str(code), *values[need + 1 :])] += count
    return +found  # no zero count: the one row of an empty population without dimensions
