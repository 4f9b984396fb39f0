"""Canonical payloads: what one exchange carries, whatever the wire format."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from pydantic import Field, model_validator

from gateway.canonical.categories import DataCategory, needs
from gateway.canonical.countries import Country
from gateway.canonical.person import Canonical, Identifier, Person
from gateway.canonical.text import Text


class Payload(Protocol):
    """What the pipeline needs of any canonical payload, so it never branches on its type."""

    def subjects(self) -> list[Person]:
        """Return the identified people this payload is about."""
        ...

    def categories(self) -> frozenset[DataCategory]:
        """Return the data categories this payload carries."""
        ...

    def minimised(self, allowed: frozenset[DataCategory]) -> Payload:
        """Return a copy holding only the allowed categories."""
        ...


class BirthEvent(Canonical):
    """A live birth, with the child and the parents known to the sender."""

    child: Person
    mother: Person | None = None
    father: Person | None = None
    date: dt.date
    place: Text | None = Field(default=None, max_length=200)
    country: Country
    multiple_birth: bool = False

    @model_validator(mode="after")
    def _child_needs_a_parent(self) -> BirthEvent:
        if self.mother is None and self.father is None:
            raise ValueError("a birth names at least one parent")
        return self

    def subjects(self) -> list[Person]:
        return [p for p in (self.child, self.mother, self.father) if p is not None]

    def categories(self) -> frozenset[DataCategory]:
        found = {DataCategory.BIRTH}
        for person in self.subjects():
            found |= person.categories()
        return frozenset(found)

    def minimised(self, allowed: frozenset[DataCategory]) -> BirthEvent:
        needs(allowed, {DataCategory.BIRTH}, "birth event")
        return self.model_copy(
            update={
                "child": self.child.minimised(allowed),
                "mother": self.mother.minimised(allowed) if self.mother else None,
                "father": self.father.minimised(allowed) if self.father else None,
            }
        )


class BirthRegistration(Canonical):
    """The civil registry's answer: the birth is registered under this number."""

    child: Person
    registration_number: Text = Field(min_length=1, max_length=64)
    tracking_id: Text | None = Field(default=None, max_length=64)
    registered_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _child_is_identified(self) -> BirthRegistration:
        if not self.child.identifiers:
            raise ValueError("a registration must name the child's identifier to be linked back")
        return self

    def subjects(self) -> list[Person]:
        return [self.child]

    def categories(self) -> frozenset[DataCategory]:
        return self.child.categories() | {DataCategory.BIRTH}

    def minimised(self, allowed: frozenset[DataCategory]) -> BirthRegistration:
        needs(allowed, {DataCategory.BIRTH, DataCategory.IDENTIFIERS}, "birth registration")
        return self.model_copy(update={"child": self.child.minimised(allowed)})


def identifier_of(person: Person, scheme: str) -> Identifier | None:
    """Return the person's identifier in one scheme, if they have one."""
    return next((i for i in person.identifiers if i.scheme == scheme), None)
