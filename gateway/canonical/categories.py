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
    HEALTH = "health"  # medical conditions and care: sensitive
    BIOMETRICS = "biometrics"  # fingerprints, iris, face: sensitive
    # The asylum claim: feared countries and protection grounds. It leaves only with the
    # person's explicit consent naming the recipient, never to a country of origin.
    PROTECTION = "protection"


class CategoryWithheldError(ValueError):
    """A payload cannot be sent without a category the decision withheld (it is denied)."""


def needs(allowed: frozenset[DataCategory], needed: set[DataCategory], what: str) -> None:
    """Refuse to minimise a payload to less than it cannot go without (`what` names it)."""
    if not needed <= allowed:
        *first, last = sorted(needed)
        names = f"{', '.join(first)} and {last}" if first else last
        noun = "categories" if first else "category"
        raise CategoryWithheldError(f"a {what} cannot be sent without the {names} {noun}")


SENSITIVE_CATEGORIES = frozenset(
    {
        DataCategory.SPECIFIC_NEEDS,
        DataCategory.HEALTH,
        DataCategory.BIOMETRICS,
        DataCategory.PROTECTION,
    }
)
"""Categories whose every transfer waits for the DPO's approval."""
