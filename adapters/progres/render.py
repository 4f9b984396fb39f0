"""Write canonical payloads as proGres messages: a registration as an update of the newborn's
record, a consent withdrawal as a notice naming no individual.

Shapes (attribute names come from the mapping specs; see adapters/progres/mappings/):

    {"progres_individualid": "KKM-25-001234", "progres_birthcertificatenumber": "...",
     "progres_civilregistrationtrackingid": "...", "progres_birthregistrationdate": "..."}

    {"progres_consentid": "05be38c0-...", "progres_exchangeids": ["6f1c2a9e-..."],
     "progres_consentwithdrawaldate": "2026-12-01T18:26:13.864Z"}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.kit.mapping import MappingSet
from adapters.progres import schema
from adapters.progres.parse import SCHEME
from adapters.progres.schema import CONFIRMATION, WITHDRAWAL
from gateway.canonical import BirthRegistration, ConsentWithdrawal, identifier_of
from gateway.canonical.json import canonical_json
from gateway.errors import GatewayError, InvalidInput, Problem


def _instant(value: dt.datetime) -> str:
    """Format a timestamp as ISO 8601, in UTC with a Z when its zone is known."""
    if value.tzinfo is None:
        return value.isoformat(timespec="milliseconds")
    utc = value.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def render_confirmation(mappings: MappingSet, registration: BirthRegistration) -> bytes:
    """Return the update body; its bytes depend only on the registration (sorted keys)."""
    spec = mappings.spec(CONFIRMATION)
    natives = {f.canonical: f.native for f in spec.fields}
    identifier = identifier_of(registration.child, SCHEME)
    if identifier is None:
        # Why not a default: without the proGres id the update would land on nobody, or on
        # the wrong individual; proGres is only told about births it notified.
        problem = Problem("child.identifiers", f"the child has no {SCHEME} identifier")
        raise InvalidInput("registration cannot be linked to a proGres individual", [problem])
    body: dict[str, Any] = {
        natives["person.identifiers.value"]: identifier.value,
        natives["registration.registration_number"]: registration.registration_number,
    }
    if registration.tracking_id and "registration.tracking_id" in natives:
        body[natives["registration.tracking_id"]] = registration.tracking_id
    if registration.registered_at and "registration.registered_at" in natives:
        body[natives["registration.registered_at"]] = _instant(registration.registered_at)
    found = schema.problems(CONFIRMATION, body)
    if found:  # a bug in this module or its spec, never the sender's fault
        raise GatewayError(f"rendered proGres {CONFIRMATION} breaks its schema", found)
    return canonical_json(body)


def render_withdrawal(mappings: MappingSet, withdrawal: ConsentWithdrawal) -> bytes:
    """Return the notice's body; its bytes depend only on the withdrawal (sorted keys)."""
    natives = {f.canonical: f.native for f in mappings.spec(WITHDRAWAL).fields}
    body: dict[str, Any] = {
        natives["withdrawal.consent_id"]: withdrawal.consent_id,
        natives["withdrawal.exchange_ids"]: list(withdrawal.exchange_ids),
        natives["withdrawal.withdrawn_at"]: _instant(withdrawal.withdrawn_at),
    }
    found = schema.problems(WITHDRAWAL, body)
    if found:  # a bug in this module or its spec, never the caller's fault
        raise GatewayError(f"rendered proGres {WITHDRAWAL} breaks its schema", found)
    return canonical_json(body)
