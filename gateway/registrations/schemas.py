"""What the registration authority asks and gets back about flags: pseudonyms, never content."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.audit.service import MAX_PAGE
from gateway.canonical import NAME_PATTERN

Strength = Literal["strong", "probable", "possible"]
Evidence = Literal["identifier", "name+dob+sex", "name+year+sex"]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class FlagQuery(BaseModel):
    """Which flags to list, in the order they were raised, a page at a time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    authority: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="only those raised to this registration authority (a system's own, "
        "for a system)",
    )
    exchange_id: str | None = Field(
        default=None, pattern=UUID_PATTERN, description="only those of this registration"
    )
    strength: Strength | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,17}$",
        description="next_cursor of the page before: where the next page starts",
    )


class FlagOut(BaseModel):
    """A registered person who matches one registered before, and how strongly.

    Both persons are named by their exchange, their place in it (0 the registrant, then the
    household in order) and their pseudonym ("unidentified" if they carry no identifier):
    never a name, a date of birth or an identifier.
    """

    model_config = ConfigDict(frozen=True, from_attributes=True)

    exchange_id: str = Field(description="the registration flagged")
    position: int = Field(description="the person in it: 0 the registrant, 1.. the household")
    subject: str = Field(description="the person's pseudonym")
    matched_exchange_id: str = Field(description="the earlier registration matched")
    matched_position: int
    matched_subject: str = Field(description="the matched person's pseudonym")
    strength: Strength
    evidence: Evidence = Field(
        description="identifier: the same identifier in one scheme; name+dob+sex: the same "
        "name, date of birth and sex; name+year+sex: the same name, birth year and sex, one "
        "date being an estimate"
    )
    authority: str = Field(description="the registration authority flagged to")
    flagged_at: dt.datetime


class FlagPage(BaseModel):
    """Flags in the order they were raised, and where the next page starts, if any."""

    flags: list[FlagOut]
    next_cursor: str | None
