"""Registration: one individual, and their household, as a registration authority holds them."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from gateway.canonical.categories import DataCategory, needs
from gateway.canonical.person import Canonical, Person
from gateway.canonical.text import Text

REGISTRATION = "individual-registration"
"""The message type of a registration, which adapters parse and render like any other."""


class Registration(Canonical):
    """One individual registered by a registration authority (proGres, a legacy export)."""

    person: Person
    household: list[Person] = Field(default_factory=list)  # linked by person.family_links
    registered_on: dt.date
    office: Text | None = Field(default=None, max_length=64)  # the registering office's code

    @model_validator(mode="after")
    def _refs_are_unique(self) -> Registration:
        # Why: family links point at refs; two persons under one ref make a link ambiguous.
        refs = [p.ref for p in self.subjects()]
        if len(set(refs)) != len(refs):
            raise ValueError("each person in a registration has its own ref")
        return self

    def subjects(self) -> list[Person]:
        return [self.person, *self.household]

    def categories(self) -> frozenset[DataCategory]:
        found: set[DataCategory] = set()
        for person in self.subjects():
            found |= person.categories()
        return frozenset(found)

    def minimised(self, allowed: frozenset[DataCategory]) -> Registration:
        needs(allowed, {DataCategory.IDENTITY}, "registration")
        return self.model_copy(
            update={
                "person": self.person.minimised(allowed),
                "household": [p.minimised(allowed) for p in self.household],
            }
        )
