"""Aggregate statistics: counts of people, never a count under k, never a row about anyone.

Suppression: a combination of values shared by fewer than k people (GATEWAY_STATISTICS_MIN_CELL,
5 by default) is left out of the answer, exactly as a combination nobody has, so an answer
does not even say that it exists. No total or margin is answered beside the cells: a total
less the cells it sums would give back the cells left out. So nothing in an answer depends on
a withheld cell, which is what the tests check (tests/statistics/test_suppression.py). "How
many X are there?" is a query without dimensions: one cell, or none if under k.

What suppression within one answer cannot stop is subtraction between answers: the count of
a filter, less the counts of a finer query, may give a small group (docs/statistics.md). That
is why only the administrator, the data protection officer and the systems of the policy
group `statistics-recipient` may ask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from gateway.audit.service import Reader
from gateway.errors import ForbiddenError
from gateway.statistics import repository
from gateway.statistics.schemas import (
    AGE_BANDS,
    NO_SPECIFIC_NEED,
    UNKNOWN,
    Cell,
    Dimension,
    StatisticsAnswer,
    StatisticsQuery,
)
from gateway.store.db import Database

STATISTICS_RECIPIENT = "statistics-recipient"
"""The policy group of the systems that may ask for statistics."""
FORBIDDEN = (
    "statistics need the administrator, the data protection officer, or a system of the "
    f"policy group {STATISTICS_RECIPIENT}"
)


def publish(
    counts: Mapping[tuple[str, ...], int], min_cell: int
) -> list[tuple[tuple[str, ...], int]]:
    """Return the combinations counted at least `min_cell` times, in order; nothing else."""
    return sorted((values, count) for values, count in counts.items() if count >= min_cell)


def notes(query: StatisticsQuery, min_cell: int) -> list[str]:
    """Say how to read an answer to this query."""
    said = [
        f"Only combinations of at least {min_cell} people are listed: one not listed has "
        "fewer, perhaps none. No total is given, since it would reveal them.",
    ]
    asked = set(query.dimensions)
    if "specific_need" in asked:
        said.append(
            "A person counts once for each of their specific needs, and under "
            f"'{NO_SPECIFIC_NEED}' if they have none: counts by specific need add up to more "
            "than the people counted."
        )
    if "age_band" in asked:
        said.append(
            f"Age bands ({', '.join(AGE_BANDS)}) are ages in whole years on "
            f"{query.reference_date}; only the month of birth is kept, and a birthday counts "
            f"from the first of its month. '{UNKNOWN}': no date of birth, or born after that "
            "date."
        )
    if "nationality" in asked or query.nationality:
        said.append(
            "Nationality: the first nationality; else XXA if stateless; else the country of "
            "origin; else XXX (unspecified), as ICAO 9303 codes them."
        )
    if "location" in asked or query.location:
        said.append("Location: the registration authority's system that registered the person.")
    if "period" in asked or query.period_from or query.period_to:
        said.append("Period: the month the gateway first saw the person (YYYY-MM, UTC).")
    return said


class Statistics:
    """Answer statistics queries from the statistical register."""

    def __init__(
        self,
        db: Database,
        min_cell: int,
        clock: Callable[[], dt.datetime],
        groups_of: Callable[[str], frozenset[str]],
    ) -> None:
        self._db = db
        self.min_cell = min_cell
        self._clock = clock
        self._groups_of = groups_of

    def may_ask(self, who: Reader) -> bool:
        """Tell whether this reader may ask: admin, DPO, or a statistics recipient."""
        if who.admin or who.dpo:
            return True
        return who.system_id is not None and STATISTICS_RECIPIENT in self._groups_of(who.system_id)

    def query(self, who: Reader, query: StatisticsQuery) -> StatisticsAnswer:
        """Count the register as asked; withhold every combination under k."""
        if not self.may_ask(who):
            raise ForbiddenError(FORBIDDEN)
        if query.reference_date is None:
            query = query.model_copy(update={"reference_date": self._clock().date()})
        assert query.reference_date is not None
        with self._db.reading() as session:
            counted = repository.counts(
                session,
                query.dimensions,
                query.reference_date,
                nationality=query.nationality,
                location=query.location,
                first_from=query.period_from,
                first_to=query.period_to,
            )
        dimensions: list[Dimension] = query.dimensions
        cells = [
            Cell(values=dict(zip(dimensions, values, strict=True)), count=count)
            for values, count in publish(counted, self.min_cell)
        ]
        return StatisticsAnswer(
            query=query, min_cell=self.min_cell, cells=cells, notes=notes(query, self.min_cell)
        )
