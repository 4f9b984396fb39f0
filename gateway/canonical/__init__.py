"""Canonical model: the one shape records take inside the gateway."""

from gateway.canonical.categories import DataCategory
from gateway.canonical.consent import Consent
from gateway.canonical.countries import Country, UnknownCountryError, normalise_country
from gateway.canonical.envelope import Envelope, LegalBasis
from gateway.canonical.events import BirthEvent, BirthRegistration, Payload, identifier_of
from gateway.canonical.person import (
    BirthDate,
    FamilyLink,
    Identifier,
    IdentityDocument,
    LegalStatus,
    Person,
    PersonName,
    Relationship,
    Sex,
)
from gateway.canonical.text import Text

__all__ = [
    "BirthDate",
    "BirthEvent",
    "BirthRegistration",
    "Consent",
    "Country",
    "DataCategory",
    "Envelope",
    "FamilyLink",
    "IdentityDocument",
    "Identifier",
    "LegalBasis",
    "LegalStatus",
    "Payload",
    "Person",
    "PersonName",
    "Relationship",
    "Sex",
    "Text",
    "UnknownCountryError",
    "identifier_of",
    "normalise_country",
]
