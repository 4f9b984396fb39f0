"""Ask proGres about one individual: the lookup behind a specific request.

proGres v4 runs on Dynamics 365, whose Web API exposes an operation's own logic as a custom
action, called with a POST. The gateway calls the unbound action `progres_LookupIndividual`
with the proGres id the request names (never in the URL, which proxies log):

    POST {endpoint}/api/data/v9.2/progres_LookupIndividual
    {"IndividualId": "KKM-25-001234"}

    200 {"@odata.context": "...", "Individual": {"progres_individualid": "KKM-25-001234", ...}}
    404 {"error": {"code": "0x80040217", "message": "..."}}

The individual's attributes are those of a birth notification's individuals, read through the
same spec and code lists (parse.read_individual); `schemas/specific-request.schema.json`
checks the answer. 404 means "no such individual" only with Dynamics's "object does not
exist" code (0x80040217): a 404 without it is an endpoint that does not serve the lookup,
which must never pass for "not registered".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from adapters.kit.contract import FetchRequest
from adapters.kit.jsonbody import load_object
from adapters.kit.jsonschema_problems import canonical_problems
from adapters.progres import schema
from adapters.progres.parse import SCHEME, SpecFields, read_individual
from gateway.canonical import SPECIFIC_REQUEST, Identifier, IndividualRecord, Person
from gateway.canonical.identifiers import scheme_key
from gateway.canonical.json import canonical_json
from gateway.canonical.request import SUBJECT_REF
from gateway.errors import InvalidInput, ParseError, Problem, TransportError

LOOKUP_PATH = "api/data/v9.2/progres_LookupIndividual"
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "OData-Version": "4.0",
    "OData-MaxVersion": "4.0",
}
INDIVIDUAL = "Individual"
DOES_NOT_EXIST = "0x80040217"
"""Dynamics's error code for "the object does not exist"."""


def lookup_request(identifiers: Sequence[Identifier]) -> FetchRequest:
    """Return the lookup of the individual whose proGres id the identifiers hold."""
    progres = [i for i in identifiers if scheme_key(i.scheme) == SCHEME]
    if not progres:
        problem = Problem(
            "body.subject.identifiers",
            f"name the person by a {SCHEME} identifier: proGres is asked by it",
        )
        raise InvalidInput("proGres cannot be asked about this person", [problem])
    body = canonical_json({"IndividualId": progres[0].value.strip()})
    return FetchRequest(LOOKUP_PATH, body, HEADERS)


def read_lookup(
    fields: SpecFields,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    today: dt.date,
) -> IndividualRecord | None:
    """Read proGres's answer: the individual, None if it holds none, or raise saying why not."""
    if status == 404:
        if _does_not_exist(body):
            return None
        raise TransportError("proGres does not serve the individual lookup at this endpoint")
    if status != 200:
        raise TransportError(f"proGres answered the individual lookup with status {status}")
    doc = load_object(body)
    found = schema.problems(SPECIFIC_REQUEST, doc)
    record = doc.get(INDIVIDUAL)
    data, problems = read_individual(
        fields, record if isinstance(record, dict) else {}, [INDIVIDUAL], today
    )
    if found or problems:
        raise ParseError("invalid proGres individual lookup", [*found, *problems])
    # Only what the person is: the lookup's answer names nobody else, so no family links.
    data.update(ref=SUBJECT_REF, family_links=[])
    try:
        return IndividualRecord(person=Person.model_validate(data))
    except ValidationError as exc:
        raise ParseError("invalid proGres individual lookup", canonical_problems(exc)) from exc


def _does_not_exist(body: bytes) -> bool:
    try:
        doc: dict[str, Any] = load_object(body)
    except ParseError:
        return False
    error = doc.get("error")
    return isinstance(error, dict) and error.get("code") == DOES_NOT_EXIST
