"""Referral: a person referred to an authority or service, and why, in codes.

Why codes and never narrative: a referral crosses organisations (UNHCR, a child-protection
agency, a border authority); a free-text account of a person's story is the most sensitive
thing they own and cannot be minimised, so it never enters the canonical model. Reasons are
short snake_case codes each adapter maps through its own code list.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from gateway.canonical.categories import DataCategory, needs
from gateway.canonical.person import Canonical, Person
from gateway.canonical.text import Text

REFERRAL = "referral"
"""The message type of a referral, which adapters parse and render like any other."""

REASON_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
"""The shape of a reason code: lower-case snake_case, never a sentence."""

KNOWN_REASONS = frozenset(
    {
        "fear_of_return",
        "unaccompanied_child",
        "separated_child",
        "trafficking_indicators",
        "urgent_medical",
    }
)
"""Reason codes the shipped code lists use; adapters may map others of the same shape."""


class ReferralKind(StrEnum):
    """Where a referral goes: the service that takes the person's case."""

    ASYLUM = "asylum"
    CHILD_PROTECTION = "child_protection"
    ANTI_TRAFFICKING = "anti_trafficking"
    UNHCR = "unhcr"
    SPECIFIC_NEEDS = "specific_needs"
    EMERGENCY = "emergency"


class Urgency(StrEnum):
    ROUTINE = "routine"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


ReasonCode = Annotated[Text, Field(pattern=REASON_PATTERN)]


class Referral(Canonical):
    """A person referred to an authority or service, and why (codes, never free narrative)."""

    id: Text = Field(min_length=1, max_length=64)  # the sender's referral reference
    person: Person
    kind: ReferralKind
    urgency: Urgency = Urgency.ROUTINE
    reasons: list[ReasonCode] = Field(default_factory=list, max_length=32)
    referred_on: dt.date
    from_office: Text | None = Field(default=None, max_length=64)
    to_authority: Text | None = Field(default=None, max_length=64)  # National Reference Guide id

    @property
    def is_emergency(self) -> bool:
        """Tell whether this referral is an emergency, by its kind or its urgency."""
        return self.kind is ReferralKind.EMERGENCY or self.urgency is Urgency.EMERGENCY

    @model_validator(mode="after")
    def _person_is_findable(self) -> Referral:
        # Why: a service cannot act on a referral it cannot tie to a person; only an
        # emergency goes with whatever is known, names and identifiers may come later.
        if not self.is_emergency and not (self.person.names or self.person.identifiers):
            raise ValueError("a referral that is not an emergency names or identifies the person")
        return self

    def subjects(self) -> list[Person]:
        return [self.person]

    def categories(self) -> frozenset[DataCategory]:
        found = set(self.person.categories())
        if self.kind is ReferralKind.ASYLUM:
            found.add(DataCategory.PROTECTION)
        if self.reasons:
            found.add(DataCategory.SPECIFIC_NEEDS)
        return frozenset(found)

    def minimised(self, allowed: frozenset[DataCategory]) -> Referral:
        # Why: the kind cannot be dropped, and an asylum referral says the person seeks
        # protection; without that category it must not go at all.
        if self.kind is ReferralKind.ASYLUM:
            needs(allowed, {DataCategory.PROTECTION}, "asylum referral")
        reasons = self.reasons if DataCategory.SPECIFIC_NEEDS in allowed else []
        return self.model_copy(
            update={"person": self.person.minimised(allowed), "reasons": list(reasons)}
        )
