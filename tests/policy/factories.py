"""Builders for policy requests: a Jordanian host, UNHCR, a national CRVS, a Syrian embassy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from gateway.canonical import Consent, DataCategory, Envelope, Identifier, LegalBasis
from gateway.policy import PolicyRequest, SubjectFacts, SystemInfo
from tests.fixtures.policies import shipped

HOST = "JOR"
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

SYSTEMS = {
    "unhcr-progres": SystemInfo("unhcr-progres", "UNO"),
    "crvs-national": SystemInfo("crvs-national", "JOR"),
    # Stands in Amman, but the state that controls it is Syria.
    "embassy-syr": SystemInfo("embassy-syr", "SYR"),
    "crvs-turkey": SystemInfo("crvs-turkey", "TUR"),
    "immigration-x": SystemInfo("immigration-x", "DEU"),
}

NOTIFICATION_CATEGORIES = frozenset(
    {
        DataCategory.IDENTITY,
        DataCategory.NATIONALITY,
        DataCategory.IDENTIFIERS,
        DataCategory.FAMILY,
        DataCategory.BIRTH,
    }
)
NOTIFICATION_RULE = (
    "p, registration-authority, civil-registry, birth-notification, birth-registration, "
    "consent, identity|nationality|identifiers|family|birth"
)
CONFIRMATION_RULE = (
    "p, civil-registry, registration-authority, birth-registration-confirmation, "
    "birth-registration, public-interest, identifiers|birth"
)


OPEN_AGREEMENT = """
[[agreement]]
id = "open-for-tests"
version = 1
title = "Every test system, every category and basis, for birth registration"
parties = ["unhcr-progres", "crvs-national", "embassy-syr", "crvs-turkey", "immigration-x"]
purposes = ["birth-registration"]
categories = ["identity", "nationality", "identifiers", "family", "birth", "legal_status",
  "specific_needs", "health", "biometrics", "protection"]
legal_bases = ["consent", "vital-interests", "public-interest", "legal-obligation",
  "legitimate-interests", "contract"]
valid_from = 2020-01-01
onward_transfer = "forbidden"
"""
"""An agreement that covers whatever the rules allow between the test systems: for tests of
the rules or guards alone."""


def identifier(value: str = "PRG-0001") -> Identifier:
    return Identifier(scheme="progres-individual", value=value)


def subject(
    pseudonym: str = "pseudo-1",
    value: str | None = "PRG-0001",
    risk: Iterable[str] = ("SYR",),
) -> SubjectFacts:
    return SubjectFacts(
        pseudonym=pseudonym,
        subject=identifier(value) if value is not None else None,
        risk_countries=frozenset(risk),
    )


def consent(
    value: str = "PRG-0001",
    *,
    recipient: str = "crvs-national",
    purpose: str = "birth-registration",
    categories: Iterable[DataCategory] = NOTIFICATION_CATEGORIES,
    granted_at: dt.datetime = NOW - 30 * DAY,
    expires_at: dt.datetime | None = None,
    withdrawn_at: dt.datetime | None = None,
) -> Consent:
    return Consent(
        id=f"consent-{value}-{recipient}-{granted_at.date()}",
        subject=identifier(value),
        recipient=recipient,
        purpose=purpose,
        categories=frozenset(categories),
        granted_at=granted_at,
        expires_at=expires_at,
        withdrawn_at=withdrawn_at,
    )


def request(
    *,
    source: str = "unhcr-progres",
    destination: str = "crvs-national",
    message_type: str = "birth-notification",
    purpose: str = "birth-registration",
    basis: LegalBasis = LegalBasis.CONSENT,
    subjects: Iterable[SubjectFacts] | None = None,
    consents: Iterable[Consent] | None = None,
    payload: Iterable[DataCategory] = NOTIFICATION_CATEGORIES,
    host: str = HOST,
    jurisdiction: str | None = "from-systems",
    agreement: str | None = None,
    best_interests: str | None = None,
) -> PolicyRequest:
    """Build a request; by default a consented birth notification from UNHCR to the CRVS."""
    dest = SYSTEMS.get(destination, SystemInfo(destination, None))
    if jurisdiction != "from-systems":
        dest = SystemInfo(destination, jurisdiction)
    return PolicyRequest(
        envelope=Envelope(
            source=source,
            destination=destination,
            message_type=message_type,
            purpose=purpose,
            legal_basis=basis,
            agreement=agreement,
            best_interests=best_interests,
            idempotency_key="exchange-0001",
        ),
        source=SYSTEMS.get(source, SystemInfo(source, None)),
        destination=dest,
        subjects=tuple(subjects) if subjects is not None else (subject(),),
        consents=tuple(consents) if consents is not None else (consent(recipient=destination),),
        payload_categories=frozenset(payload),
        host_jurisdiction=host,
        now=NOW,
    )


def policy_dir(
    tmp_path: Path,
    policy: str | bytes | None = None,
    model: str | None = None,
    agreements: str | None = None,
) -> Path:
    """Write a policy directory: the shipped files unless replaced."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "agreements.toml").write_bytes(
        agreements.encode() if agreements is not None else shipped("agreements.toml")
    )
    (tmp_path / "model.conf").write_bytes(
        model.encode() if model is not None else shipped("model.conf")
    )
    data = policy if policy is not None else shipped("default.csv")
    (tmp_path / "default.csv").write_bytes(data.encode() if isinstance(data, str) else data)
    return tmp_path
