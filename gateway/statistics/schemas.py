"""A statistics query and its answer, as the API and the command line speak them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Self, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gateway.canonical import NAME_PATTERN, Country

Dimension = Literal["nationality", "sex", "age_band", "specific_need", "location", "period"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
MAX_DIMENSIONS = 4
"""More would cut the population into cells so small that nearly all are withheld."""
MAX_FILTER_VALUES = 50
EARLIEST_REFERENCE_YEAR = 1900

AGE_BANDS = {"0-4": 0, "5-11": 5, "12-17": 12, "18-59": 18, "60+": 60}
"""UNHCR's age bands, each by the age in whole years it starts at."""
UNKNOWN = "unknown"
NO_SPECIFIC_NEED = "none"
STATELESS = "XXA"
"""ICAO 9303: a stateless person (1954 Convention)."""
UNSPECIFIED = "XXX"
"""ICAO 9303: a person of unspecified nationality."""

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _distinct(dimensions: list[Dimension]) -> list[Dimension]:
    repeated = sorted({d for d in dimensions if dimensions.count(d) > 1})
    if repeated:
        raise ValueError(f"given more than once: {', '.join(repeated)}")
    return dimensions


def _iso_date(value: object) -> object:
    """Refuse anything but YYYY-MM-DD or a date (pydantic would read a number as a Unix time)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


def _recent(day: dt.date) -> dt.date:
    if day.year < EARLIEST_REFERENCE_YEAR:
        raise ValueError(f"is before {EARLIEST_REFERENCE_YEAR}")
    return day


Month = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        description="a month, YYYY-MM",
        examples=["2026-01"],
    ),
]
SystemId = Annotated[str, Field(pattern=NAME_PATTERN)]
ReferenceDate = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_recent)]


class StatisticsQuery(BaseModel):
    """What to count: the dimensions to count by, and which people to count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dimensions: Annotated[list[Dimension], AfterValidator(_distinct)] = Field(
        default_factory=list,
        max_length=MAX_DIMENSIONS,
        description="what to count by, each at most once; none gives one count, of everyone "
        "the filters leave",
    )
    nationality: list[Country] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_FILTER_VALUES,
        description="only people of these nationalities (ISO 3166-1 alpha-3, or ICAO 9303 "
        "codes: XXA stateless, XXX unspecified), as the nationality dimension counts them",
    )
    location: list[SystemId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_FILTER_VALUES,
        description="only people registered by these systems",
    )
    period_from: Month | None = Field(
        default=None, description="only people first seen in this month or later"
    )
    period_to: Month | None = Field(
        default=None, description="only people first seen in this month or earlier"
    )
    reference_date: ReferenceDate | None = Field(
        default=None,
        description=f"the date ages are counted at (YYYY-MM-DD, from {EARLIEST_REFERENCE_YEAR});"
        " today if not given",
    )

    @model_validator(mode="after")
    def _runs_forward(self) -> Self:
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ValueError("period_from must not be after period_to")
        return self


class Cell(BaseModel):
    """How many people share one value of each dimension asked for."""

    model_config = ConfigDict(frozen=True)

    values: dict[Dimension, str] = Field(description="a value of each dimension asked for")
    count: int = Field(ge=1, description="never under the answer's min_cell")


class StatisticsAnswer(BaseModel):
    """The counts of a query: only cells of at least `min_cell` people, and no totals."""

    model_config = ConfigDict(frozen=True)

    query: StatisticsQuery = Field(description="the query, its reference date filled in")
    min_cell: int = Field(description="the smallest count ever answered (k)")
    cells: list[Cell]
    notes: list[str] = Field(description="how to read the counts")
