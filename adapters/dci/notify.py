"""Read a DCI civil registry's notification of a registered live birth (`notify`).

The registry calls the notify URL the gateway gave it when subscribing (gateway/dci/), with one
event per message: a LiveBirth and the child's CRVS_Person record, whose BRN identifier is the
registration number. It becomes a canonical BirthRegistration, which walks the exchange road
like the OpenCRVS confirmation does, to the system that linked the child (proGres): the
record must therefore carry an identifier that system knows the child by.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from adapters.dci import schema
from adapters.dci.envelope import LIVE_BIRTH
from adapters.dci.record import RecordReader
from adapters.kit.jsonschema_problems import canonical_problems
from gateway.canonical import BirthRegistration
from gateway.errors import ParseError, Problem

CONFIRMATION = "birth-registration-confirmation"
_EVENT = "/message/notify_event/0/data"


def parse_notify(reader: RecordReader, doc: dict[str, Any]) -> BirthRegistration:
    """Validate a notify message and return the registration it announces."""
    found = schema.problems(CONFIRMATION, doc)
    if found:
        raise ParseError(f"invalid DCI notify ({CONFIRMATION})", found)
    data = doc["message"]["notify_event"][0]["data"]
    problems: list[Problem] = []
    if data["reg_event_type"] != LIVE_BIRTH:
        problems.append(Problem(f"{_EVENT}/reg_event_type", f"the gateway reads {LIVE_BIRTH} only"))
    records = data["reg_records"]
    record, where = (
        (records[0], f"{_EVENT}/reg_records/0")
        if isinstance(records, list)
        else (
            records,
            f"{_EVENT}/reg_records",
        )
    )
    child, found = reader.person(record, "child", where)
    problems += found
    number = reader.selected(record, "registration.registration_number")
    if number is None:
        native = reader.natives["registration.registration_number"]
        problems.append(Problem(f"{where}/identifier", f"no birth registration number ({native})"))
    if not child["identifiers"]:
        problems.append(Problem(f"{where}/identifier", "the child has no identifier to link back"))
    if problems:
        raise ParseError(f"invalid DCI notify ({CONFIRMATION})", problems)
    try:
        return BirthRegistration.model_validate({"child": child, "registration_number": number})
    except ValidationError as exc:
        raise ParseError(f"invalid DCI notify ({CONFIRMATION})", canonical_problems(exc)) from exc
