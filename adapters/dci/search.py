"""Ask a DCI civil registry about one person by birth registration number (sync search).

    POST {endpoint}/registry/sync/search
    {"header": {"action": "search", ...}, "message": {"transaction_id": ..., "search_request":
      [{"reference_id": ..., "search_criteria": {"query_type": "idtype-value",
        "query": {"type": "BRN", "value": "..."}}}]}}

    200 {"header": {"action": "on-search", ...}, "message": {"search_response":
      [{"status": "succ", "data": {"reg_records": [<CRVS_Person>]}}]}}

"No record" is a successful search that found none (`succ` with no record); a search the
registry refused (`rjct`) or has not done (`rcvd`, `pdng`), or any other status code, is a
failure to ask, never a person reported as unregistered. The number is in the body, never the
URL, which proxies log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from adapters.dci import schema
from adapters.dci.envelope import CIVIL_REGISTRY, HEADERS, LOCALE, PERSON_RECORD, new_id
from adapters.dci.envelope import request_body as envelope_body
from adapters.dci.record import RecordReader
from adapters.kit.contract import FetchRequest
from adapters.kit.jsonbody import load_object
from adapters.kit.jsonschema_problems import canonical_problems
from gateway.canonical import SPECIFIC_REQUEST, Identifier, IndividualRecord, Person
from gateway.canonical.identifiers import scheme_key
from gateway.canonical.request import SUBJECT_REF
from gateway.errors import InvalidInput, ParseError, Problem, TransportError

SEARCH_PATH = "registry/sync/search"
SCHEME = "brn"
ID_TYPE_VALUE = "idtype-value"
_RECORD = "/message/search_response/0/data/reg_records/0"


def search_request(
    identifiers: Sequence[Identifier],
    id_type: str,
    sender_id: str,
    receiver_id: str,
    now: dt.datetime,
) -> FetchRequest:
    """Return the sync search for the person the identifiers' birth registration number names."""
    numbers = [i for i in identifiers if scheme_key(i.scheme) == SCHEME]
    if not numbers:
        problem = Problem(
            "body.subject.identifiers",
            f"name the person by a {SCHEME} identifier: the civil registry is searched by it",
        )
        raise InvalidInput("the civil registry cannot be asked about this person", [problem])
    criteria = {
        "version": "1.0.0",
        "reg_type": CIVIL_REGISTRY,
        "reg_record_type": PERSON_RECORD,
        "query_type": ID_TYPE_VALUE,
        "query": {"type": id_type, "value": numbers[0].value.strip()},
    }
    message = {
        "transaction_id": new_id(),
        "search_request": [
            {
                "reference_id": new_id(),
                "timestamp": now.isoformat(),
                "search_criteria": criteria,
                "locale": LOCALE,
            }
        ],
    }
    body = envelope_body("search", message, sender_id, receiver_id, now)
    return FetchRequest(SEARCH_PATH, body, HEADERS)


def read_search(reader: RecordReader, status: int, body: bytes) -> IndividualRecord | None:
    """Read the registry's answer: the person, None if it holds none, or raise saying why not."""
    if status != 200:
        raise TransportError(f"the civil registry answered the search with status {status}")
    doc = load_object(body)
    found = schema.problems(SPECIFIC_REQUEST, doc)
    if found:
        raise ParseError("invalid DCI search answer", found)
    [result] = doc["message"]["search_response"]
    if result["status"] != "succ":
        raise TransportError(f"the civil registry did not do the search ({result['status']})")
    records: list[dict[str, Any]] = result.get("data", {}).get("reg_records", [])
    if not records:
        return None
    data, problems = reader.person(records[0], SUBJECT_REF, _RECORD)
    if problems:
        raise ParseError("invalid DCI search answer", problems)
    try:
        return IndividualRecord(person=Person.model_validate(data))
    except ValidationError as exc:
        raise ParseError("invalid DCI search answer", canonical_problems(exc)) from exc
