"""Consent: a person's permission to share some categories with one recipient for one purpose.

A consent is granted by the person (`subject`) or, for a child, by a guardian, whose
relationship to the child is recorded (the child's views are recorded too, but only in the
consent registry: gateway/consents.py). When a consent is withdrawn, each recipient that
received data under it is sent a `ConsentWithdrawal` notice through its own adapter.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from gateway.canonical.categories import DataCategory
from gateway.canonical.person import Canonical, Identifier, Person
from gateway.canonical.text import Text

CONSENT_WITHDRAWAL = "consent-withdrawal"
"""The message type of a withdrawal notice, which adapters render like any other."""

GATEWAY_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""The shape of the ids the gateway makes (exchanges, consents): a random UUID, lower case."""


class GrantedBy(StrEnum):
    """Who gave a consent: the person it is about, or a child's guardian."""

    SUBJECT = "subject"
    GUARDIAN = "guardian"


class GuardianRelationship(StrEnum):
    """How the guardian who consents for a child stands to the child."""

    PARENT = "parent"
    LEGAL_GUARDIAN = "legal-guardian"  # appointed by a court or an authority
    FOSTER_PARENT = "foster-parent"  # in a formal foster placement
    CUSTOMARY_CAREGIVER = "customary-caregiver"  # kinship or community care, no formal order


class Consent(Canonical):
    """One grant. Withdrawn or expired consent stops future transfers, never past ones."""

    id: Text
    subject: Identifier
    recipient: Text
    purpose: Text
    categories: frozenset[DataCategory] = Field(min_length=1)
    granted_at: dt.datetime
    expires_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None
    granted_by: GrantedBy = GrantedBy.SUBJECT
    guardian_relationship: GuardianRelationship | None = None

    def is_active(self, at: dt.datetime) -> bool:
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            return False
        return self.expires_at is None or at < self.expires_at


class ConsentWithdrawal(Canonical):
    """A notice to one recipient: the consent it received these exchanges under is withdrawn.

    Why so little: the recipient already holds each exchange's id (every delivery carries it)
    and needs nothing more to find what it received; a name or an identifier here would be
    one more copy of the person's data. So the notice is about nobody the payload names, and
    carries no data category.
    """

    consent_id: Text = Field(pattern=GATEWAY_ID)
    exchange_ids: list[Annotated[Text, Field(pattern=GATEWAY_ID)]] = Field(min_length=1)
    withdrawn_at: AwareDatetime

    def subjects(self) -> list[Person]:
        return []

    def categories(self) -> frozenset[DataCategory]:
        return frozenset()

    def minimised(self, allowed: frozenset[DataCategory]) -> ConsentWithdrawal:
        return self
