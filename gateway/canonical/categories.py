"""Data categories: the unit in which agreements, consent and minimisation speak."""

from enum import StrEnum


class DataCategory(StrEnum):
    """A kind of personal data; a recipient is allowed a set of these, never 'everything'."""

    IDENTITY = "identity"  # names, sex, date of birth
    NATIONALITY = "nationality"  # nationalities, country of origin, residences, stateless
    IDENTIFIERS = "identifiers"  # registration ids and identity documents
    FAMILY = "family"  # family links
    BIRTH = "birth"  # facts of a birth event: date, place, registration number
    LEGAL_STATUS = "legal_status"  # refugee or asylum status
    SPECIFIC_NEEDS = "specific_needs"  # vulnerabilities: sensitive, rarely shared
    PROTECTION = "protection"  # feared countries and protection grounds: never shared
