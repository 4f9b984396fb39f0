"""Populations for the statistics tests, written straight into the statistical register."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete

from gateway.statistics import repository
from gateway.statistics.schemas import AGE_BANDS, NO_SPECIFIC_NEED, StatisticsQuery
from gateway.store.db import Database
from gateway.store.models import StatisticalSubject


@dataclass(frozen=True)
class Someone:
    """One person's row in the register, but for the key."""

    nationality: str = "SSD"
    sex: str = "female"
    birth_month: str | None = "1990-01"
    specific_needs: tuple[str, ...] = ()
    location: str = "unhcr-progres"
    first_seen: str = "2026-01"
    last_seen: str = field(default="2026-01")

    def row(self, key: str) -> dict[str, object]:
        return {
            "key": key,
            "nationality": self.nationality,
            "sex": self.sex,
            "birth_month": self.birth_month,
            "specific_needs": json.dumps(sorted(set(self.specific_needs))),
            "location": self.location,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


def populate(db: Database, people: Iterable[Someone]) -> None:
    """Make the register hold exactly these people."""
    rows = [person.row(f"k{i}") for i, person in enumerate(people)]
    with db.transaction() as connection:
        connection.execute(delete(StatisticalSubject))
        if rows:
            connection.execute(repository.upsert(connection.dialect.name), rows)


def age_band(birth_month: str | None, on: dt.date) -> str:
    """The band of docs/statistics.md, worked out by hand: the birthday on the 1st."""
    if birth_month is None:
        return "unknown"
    year, month = (int(part) for part in birth_month.split("-"))
    if (year, month) > (on.year, on.month):
        return "unknown"
    age = on.year - year - (1 if on.month < month else 0)
    return next(band for band, start in reversed(AGE_BANDS.items()) if age >= start)


def true_counts(people: Sequence[Someone], query: StatisticsQuery) -> Counter[tuple[str, ...]]:
    """Count as the query asks, with nothing withheld: what the answer is checked against."""
    assert query.reference_date is not None
    found: Counter[tuple[str, ...]] = Counter()
    for person in people:
        if query.nationality is not None and person.nationality not in query.nationality:
            continue
        if query.location is not None and person.location not in query.location:
            continue
        if query.period_from is not None and person.first_seen < query.period_from:
            continue
        if query.period_to is not None and person.first_seen > query.period_to:
            continue
        for values in combinations(person, query):
            found[values] += 1
    return found


def combinations(person: Someone, query: StatisticsQuery) -> list[tuple[str, ...]]:
    """Every cell a person counts in: one, or one per specific need."""
    assert query.reference_date is not None
    needs = sorted(set(person.specific_needs)) or [NO_SPECIFIC_NEED]
    cells: list[tuple[str, ...]] = [()]
    for dimension in query.dimensions:
        values = {
            "nationality": [person.nationality],
            "sex": [person.sex],
            "age_band": [age_band(person.birth_month, query.reference_date)],
            "specific_need": needs,
            "location": [person.location],
            "period": [person.first_seen],
        }[dimension]
        cells = [(*cell, value) for cell in cells for value in values]
    return cells
