"""The legacy export's JSON Schema: what a row must look like, and which columns exist.

The schema's properties are the export's columns, so they are the native fields a mapping
spec may name: a spec naming any other column fails when the adapter is built.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from adapters.kit.jsonschema_problems import load_schema, pointer, schema_problems
from gateway.canonical.registration import REGISTRATION
from gateway.errors import Problem

PACKAGE = "adapters.legacy.schemas"
MAX_UNKNOWN_LISTED = 10
"""How many unknown columns a row's problems name: a header of a million columns names ten."""


@cache
def columns() -> frozenset[str]:
    """Return the export's column names (the schema's properties), read once."""
    return frozenset(load_schema(PACKAGE, REGISTRATION)["properties"])


def problems(doc: dict[str, Any]) -> list[Problem]:
    """Return every problem of a row: unknown columns first, then schema violations.

    Why unknown columns are listed here: the schema would only say the row "fails the
    additionalProperties rule"; a column name is the export's structure, not a value, so it
    is named (cut to 64 characters), and at most MAX_UNKNOWN_LISTED of them.
    """
    known = columns()
    unknown = [name for name in doc if name not in known]
    found = [
        Problem(pointer([name[:64]]), "is not a column of the legacy export")
        for name in unknown[:MAX_UNKNOWN_LISTED]
    ]
    if len(unknown) > MAX_UNKNOWN_LISTED:
        found.append(Problem("/", f"{len(unknown)} unknown columns in all"))
    if unknown:
        doc = {name: value for name, value in doc.items() if name in known}
    return found + schema_problems(PACKAGE, REGISTRATION, doc)
