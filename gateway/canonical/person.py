"""A person as the gateway sees them, whatever system they came from."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.canonical.categories import DataCategory
from gateway.canonical.countries import Countries, Country
from gateway.canonical.text import Text


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Relationship(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    CHILD = "child"
    SPOUSE = "spouse"
    SIBLING = "sibling"
    GUARDIAN = "guardian"
    OTHER = "other"


class LegalStatus(StrEnum):
    ASYLUM_SEEKER = "asylum_seeker"
    REFUGEE = "refugee"
    STATELESS = "stateless"
    # The claim was finally rejected, no appeal is possible and no protection referral is
    # open: what the asylum authority attests before a return (see gateway/policy/exceptions).
    FINALLY_REJECTED = "finally_rejected"
    OTHER = "other"


class Canonical(BaseModel):
    """Base of every canonical type: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonName(Canonical):
    given: list[Text] = Field(min_length=1)
    family: Text | None = None


class BirthDate(Canonical):
    """A date of birth; registration often records an estimate, and says so."""

    date: dt.date
    estimated: bool = False


class Identifier(Canonical):
    """An identifier a system gave the person, e.g. scheme 'progres-individual'."""

    scheme: Text = Field(min_length=1, max_length=64)
    value: Text = Field(min_length=1, max_length=128)


class IdentityDocument(Canonical):
    type: Text = Field(min_length=1, max_length=64)
    number: Text = Field(min_length=1, max_length=64)
    issuing_country: Country | None = None
    expiry: dt.date | None = None


class FamilyLink(Canonical):
    """A link from this person to another person in the same message, by local reference."""

    relationship: Relationship
    person_ref: Text


class Person(Canonical):
    """A person; `ref` names them inside one message so that family links can point at them."""

    ref: Text = Field(min_length=1, max_length=64)
    names: list[PersonName] = Field(default_factory=list)
    sex: Sex = Sex.UNKNOWN
    birth_date: BirthDate | None = None
    nationalities: Countries = Field(default_factory=list)
    country_of_origin: Country | None = None
    former_habitual_residences: Countries = Field(default_factory=list)
    feared_countries: Countries = Field(default_factory=list)
    stateless: bool = False
    identifiers: list[Identifier] = Field(default_factory=list)
    documents: list[IdentityDocument] = Field(default_factory=list)
    family_links: list[FamilyLink] = Field(default_factory=list)
    specific_needs: list[Text] = Field(default_factory=list)
    legal_status: LegalStatus | None = None

    def risk_countries(self) -> frozenset[str]:
        """Return the countries this person must never be reported to, as far as stated."""
        stated = [*self.nationalities, *self.former_habitual_residences, *self.feared_countries]
        if self.country_of_origin:
            stated.append(self.country_of_origin)
        return frozenset(stated)

    def minimised(self, allowed: frozenset[DataCategory]) -> Person:
        """Return a copy holding only the fields of the allowed categories."""
        dropped: dict[str, Any] = {
            field: _empty(field)
            for field, category in PERSON_FIELD_CATEGORIES.items()
            if category not in allowed
        }
        return self.model_copy(update=dropped)

    def categories(self) -> frozenset[DataCategory]:
        """Return the categories this person carries data in."""
        return frozenset(
            category
            for field, category in PERSON_FIELD_CATEGORIES.items()
            if getattr(self, field) != _DEFAULTS[field]  # compared, never handed out
        )


PERSON_FIELD_CATEGORIES: dict[str, DataCategory] = {
    "names": DataCategory.IDENTITY,
    "sex": DataCategory.IDENTITY,
    "birth_date": DataCategory.IDENTITY,
    "nationalities": DataCategory.NATIONALITY,
    "country_of_origin": DataCategory.NATIONALITY,
    "former_habitual_residences": DataCategory.NATIONALITY,
    "stateless": DataCategory.NATIONALITY,
    "feared_countries": DataCategory.PROTECTION,
    "identifiers": DataCategory.IDENTIFIERS,
    "documents": DataCategory.IDENTIFIERS,
    "family_links": DataCategory.FAMILY,
    "specific_needs": DataCategory.SPECIFIC_NEEDS,
    "legal_status": DataCategory.LEGAL_STATUS,
}
"""Which category each person field belongs to; `ref` is structural and always kept."""


_DEFAULTS = {
    name: Person.model_fields[name].get_default(call_default_factory=True)
    for name in PERSON_FIELD_CATEGORIES
}


def _empty(field: str) -> Any:
    """Return a fresh empty value of a person field (a new list, never a shared one)."""
    default = _DEFAULTS[field]
    return list(default) if isinstance(default, list) else default
