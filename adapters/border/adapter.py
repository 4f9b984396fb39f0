"""The border adapter: a border-management / immigration-control system's referrals, as JSON.

A border or immigration officer's system refers the persons met at a border point to the
authorities of the National Reference Guide (docs/border-referrals.md); the same shape is
what an authority's system receives when it speaks this dialect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from adapters.border import schema
from adapters.border.parse import ReferralFields, parse_referral
from adapters.border.render import ReferralWriter
from adapters.kit.contract import Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from gateway.canonical import Payload
from gateway.canonical.referral import REFERRAL, Referral
from gateway.errors import ConfigurationError, Problem

NAME = "border"
MEDIA_TYPE = "application/json"
REQUIRED = {
    REFERRAL: [
        "referral.id",
        "referral.kind",
        "referral.urgency",
        "referral.referred_on",
        "person.names.given",
        "person.sex",
    ]
}
"""The canonical fields a referral cannot be read or written without."""


class BorderAdapter:
    """Read a border system's referrals; write referrals in its shape to whoever speaks it."""

    name = NAME
    parses = frozenset({REFERRAL})
    renders = frozenset({REFERRAL})
    media_types = frozenset({MEDIA_TYPE})

    def __init__(
        self, mappings: MappingSet | None = None, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.border", self.name)
        scopes = schema.scopes()
        self.native_fields = {REFERRAL: frozenset().union(*scopes.values())}
        mappings.check(self.native_fields, REQUIRED)
        if misplaced := schema.misplaced(mappings.spec(REFERRAL), scopes):
            raise ConfigurationError(
                f"mapping specs for adapter {self.name!r} are invalid: " + "; ".join(misplaced)
            )
        self.mappings = mappings
        # Built once: attribute names and code list tables are the same for every exchange.
        self._fields = ReferralFields(mappings)
        self._writer = ReferralWriter(mappings)
        self._today = today

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse a border referral; ParseError lists every problem found."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_referral(self._fields, load_object(body), self._today())

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a canonical Referral as a border referral."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        if not isinstance(payload, Referral):
            raise TypeError(f"{message_type} renders a Referral, not {type(payload).__name__}")
        return Rendered(self._writer.render(payload), MEDIA_TYPE)

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]:
        """Return what is wrong with a rendered body against the border system's schema."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "check")
        return schema.rendered_problems(body)
