"""The exchange envelope: who sends what to whom, why, and under which basis."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from gateway.canonical.person import Canonical

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
"""How systems, groups, message types, purposes and agreements are named, everywhere."""


class LegalBasis(StrEnum):
    """Lawful bases for processing, as data protection frameworks name them."""

    CONSENT = "consent"
    VITAL_INTERESTS = "vital-interests"
    PUBLIC_INTEREST = "public-interest"
    LEGAL_OBLIGATION = "legal-obligation"
    LEGITIMATE_INTERESTS = "legitimate-interests"
    CONTRACT = "contract"


class Envelope(Canonical):
    """Everything about an exchange except the records themselves."""

    source: str = Field(pattern=NAME_PATTERN)
    destination: str = Field(pattern=NAME_PATTERN)
    message_type: str = Field(pattern=NAME_PATTERN)
    purpose: str = Field(pattern=NAME_PATTERN)
    legal_basis: LegalBasis
    agreement: str | None = Field(default=None, pattern=NAME_PATTERN)
    # The reference of a best-interests determination for the children the message is about
    # (the BID's own case number, never its content); needed by the child rules.
    best_interests: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
    )
    idempotency_key: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
