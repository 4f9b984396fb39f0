"""JSON Schema validation that reports every problem, without echoing personal data.

Valid bodies, the hot path, are accepted by jsonschema-rs (microseconds); only a body it
rejects is walked by the Python `jsonschema` validator, which lists every problem in the
words below. Both implement Draft 2020-12, but their regular expressions differ (on what is
whitespace, on what `$` matches), so the shipped schemas steer clear of those differences,
and a body jsonschema-rs rejects stays rejected even if the lister finds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from gateway.errors import Problem, dotted, validation_problems

REJECTED = Problem("/", "does not match the schema")


@cache
def load_schema(package: str, message_type: str) -> dict[str, Any]:
    """Load and check `<message_type>.schema.json` from an adapter's schemas package."""
    text = files(package).joinpath(f"{message_type}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(package: str, message_type: str) -> Any:
    return Draft202012Validator(
        load_schema(package, message_type), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _fast_validator(package: str, message_type: str) -> Any:
    return jsonschema_rs.Draft202012Validator(
        load_schema(package, message_type), validate_formats=True, offline=True
    )


def canonical_problems(exc: ValidationError) -> list[Problem]:
    """Locate problems in the canonical object an adapter built, as 'canonical:a.b'."""
    return validation_problems(exc.errors(), lambda loc: "canonical:" + dotted(loc))


def pointer(path: Iterable[str | int]) -> str:
    """Return a JSON Pointer for a path inside a body."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def describe(error: Any) -> str:
    """Describe a schema error without echoing the value, which may be personal data."""
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        return str(error.message)  # "'<attribute>' is a required property": names, not values
    if keyword == "type":
        return f"must be of type {expected}"
    if keyword == "const":
        return f"must be {expected!r}"
    if keyword == "format":
        return f"is not a valid {expected}"
    if keyword in {"minLength", "maxLength", "minItems", "maxItems", "maxProperties"}:
        return f"violates {keyword} {expected}"
    if keyword in {"minimum", "maximum"}:
        return f"is out of range ({keyword} {expected})"
    return f"fails the {keyword!r} rule"


def schema_problems(package: str, message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order; never none for a rejected one.

    Why fail closed: the validator that decides is jsonschema-rs. Should the lister disagree
    and find nothing, returning no problems would pass a body the decider rejected.
    """
    fast = _fast_validator(package, message_type)
    if fast.is_valid(doc):
        return []
    found = [
        Problem(pointer(error.absolute_path), describe(error))
        for error in _validator(package, message_type).iter_errors(doc)
    ] or [
        Problem(pointer(error.instance_path), f"fails the {error.kind.name!r} rule")
        for error in fast.iter_errors(doc)
    ]
    return sorted(found or [REJECTED], key=lambda p: (p.location, p.message))
