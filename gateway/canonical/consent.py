"""Consent: a person's permission to share some categories with one recipient for one purpose."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from gateway.canonical.categories import DataCategory
from gateway.canonical.person import Canonical, Identifier
from gateway.canonical.text import Text


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

    def is_active(self, at: dt.datetime) -> bool:
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            return False
        return self.expires_at is None or at < self.expires_at
