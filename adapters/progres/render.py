"""Write a canonical BirthRegistration as a proGres update of the newborn's record.

Shape (attribute names come from the mapping spec; see mappings/progres/):

    {"progres_individualid": "KKM-25-001234", "progres_birthcertificatenumber": "...",
     "progres_civilregistrationtrackingid": "...", "progres_birthregistrationdate": "..."}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.mapping import MappingSet
from adapters.progres import schema
from adapters.progres.parse import SCHEME
from adapters.progres.schema import CONFIRMATION
from gateway.canonical import BirthRegistration, identifier_of
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
