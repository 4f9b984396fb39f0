"""The exchange envelope: who sends what to whom, why, and under which basis."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from gateway.canonical.person import Canonical

_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"


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

    source: str = Field(pattern=_NAME)
    destination: str = Field(pattern=_NAME)
    message_type: str = Field(pattern=_NAME)
    purpose: str = Field(pattern=_NAME)
    legal_basis: LegalBasis
    agreement: str | None = Field(default=None, pattern=_NAME)
    idempotency_key: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
