"""What the policy engine is asked and what it answers: plain immutable data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from gateway.canonical import (
    Consent,
    DataCategory,
    Envelope,
    FamilyLink,
    Identifier,
    LegalStatus,
    Person,
)

Stage = Literal["origin", "rules", "agreement", "consent", "children", "approval", "default"]
Outcome = Literal["allow", "deny", "info"]


@dataclass(frozen=True)
class SystemInfo:
    """A system the gateway talks to, and the state that controls it.

    `jurisdiction` is the controlling state, not where the system stands: an embassy of X
    anywhere is X; UN systems use the ICAO code "UNO". None means unknown, which is denied.
    Groups (registration-authority, civil-registry, ...) come from the policy's g lines.
    """

    id: str
    jurisdiction: str | None


@dataclass(frozen=True)
class SubjectFacts:
    """One person an exchange is about, as far as the policy needs to know them.

    `risk_countries` is what the message states merged with what the gateway remembered, so
    a message that omits them is still blocked; the engine adds what the subject inherits
    from parents in the same message (`ref`, `family_links`). The identifier is kept out of
    repr.
    """

    pseudonym: str
    subject: Identifier | None = field(repr=False)
    risk_countries: frozenset[str]
    ref: str | None = None
    family_links: tuple[FamilyLink, ...] = ()
    birth_date: dt.date | None = field(default=None, repr=False)
    legal_status: LegalStatus | None = None
    nationalities: frozenset[str] = frozenset()  # as stated in this message

    @classmethod
    def of(
        cls, person: Person, pseudonym: str, subject: Identifier, remembered: frozenset[str]
    ) -> SubjectFacts:
        """Return what the policy needs of a person read from a message, with what the
        gateway remembered of their risk countries."""
        return cls(
            pseudonym=pseudonym,
            subject=subject,
            risk_countries=person.risk_countries() | remembered,
            ref=person.ref,
            family_links=tuple(person.family_links),
            birth_date=None if person.birth_date is None else person.birth_date.date,
            legal_status=person.legal_status,
            nationalities=frozenset(person.nationalities),
        )


@dataclass(frozen=True)
class PolicyRequest:
    """Everything the engine needs to decide one exchange; consents are filtered by it."""

    envelope: Envelope
    source: SystemInfo
    destination: SystemInfo
    subjects: tuple[SubjectFacts, ...]
    consents: tuple[Consent, ...] = field(repr=False)
    payload_categories: frozenset[DataCategory]
    host_jurisdiction: str
    now: dt.datetime

    def __post_init__(self) -> None:
        # Why: the guard checks `destination.jurisdiction`; if it described another system
        # than the envelope's, the check would protect the wrong transfer.
        if self.envelope.source != self.source.id:
            raise ValueError("envelope source and source system differ")
        if self.envelope.destination != self.destination.id:
            raise ValueError("envelope destination and destination system differ")
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")


@dataclass(frozen=True)
class RuleFired:
    """One rule that fired while deciding; details never hold names or identifiers."""

    stage: Stage
    rule: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class Decision:
    """The answer: allowed or not, why, which categories may go, and the whole trace."""

    allowed: bool
    reasons: tuple[str, ...]
    categories: frozenset[DataCategory]
    policy_version: str
    trace: tuple[RuleFired, ...]
    rule: str | None
    # Each subject's risk countries as decided on, inheritance included, in request order:
    # what the gateway remembers of them from now on. Kept out of repr, like the subjects.
    risk_countries: tuple[frozenset[str], ...] = field(default=(), repr=False)
    # An allowed exchange that must wait for the DPO's approval: why, in a short text without
    # personal data (e.g. "sensitive categories: specific_needs"); None when none is needed.
    approval: str | None = None
    # The agreement version the decision relied on ("id@v2"), when one was found.
    agreement: str | None = None
    # The consents an allowed exchange relied on: their withdrawal is told to its recipient.
    consent_ids: tuple[str, ...] = field(default=(), repr=False)


def categories_text(categories: Iterable[DataCategory]) -> str:
    """Return categories pipe-separated, in declaration order, as the policy file writes them."""
    return _text(frozenset(categories))


@cache  # at most one entry per subset of a dozen categories; every decision writes several
def _text(chosen: frozenset[DataCategory]) -> str:
    return "|".join(c.value for c in DataCategory if c in chosen) or "(none)"
