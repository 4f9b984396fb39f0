"""Canonical model: the one shape records take inside the gateway."""

from gateway.canonical.categories import DataCategory
from gateway.canonical.consent import (
    CONSENT_WITHDRAWAL,
    Consent,
    ConsentWithdrawal,
    GrantedBy,
    GuardianRelationship,
)
from gateway.canonical.countries import (
    AmbiguousCountryError,
    Countries,
    Country,
    UnknownCountryError,
    country_codes,
    normalise_country,
)
from gateway.canonical.envelope import NAME_PATTERN, Envelope, LegalBasis
from gateway.canonical.events import BirthEvent, BirthRegistration, Payload, identifier_of
from gateway.canonical.identifiers import normalise_identifier
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
from gateway.canonical.request import SPECIFIC_REQUEST, IndividualRecord, SpecificRequest
from gateway.canonical.text import Text

__all__ = [
    "CONSENT_WITHDRAWAL",
    "NAME_PATTERN",
    "SPECIFIC_REQUEST",
    "AmbiguousCountryError",
    "BirthDate",
    "BirthEvent",
    "BirthRegistration",
    "Consent",
    "ConsentWithdrawal",
    "Countries",
    "Country",
    "DataCategory",
    "Envelope",
    "FamilyLink",
    "GrantedBy",
    "GuardianRelationship",
    "IdentityDocument",
    "IndividualRecord",
    "Identifier",
    "LegalBasis",
    "LegalStatus",
    "Payload",
    "Person",
    "PersonName",
    "Relationship",
    "Sex",
    "SpecificRequest",
    "Text",
    "UnknownCountryError",
    "country_codes",
    "identifier_of",
    "normalise_country",
    "normalise_identifier",
]
