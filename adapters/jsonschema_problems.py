"""JSON Schema validation that reports every problem, without echoing personal data.

Valid bodies, the hot path, are accepted by jsonschema-rs (microseconds); only a body it
rejects is walked by the Python `jsonschema` validator, which lists every problem in the
words below. Both implement Draft 2020-12, but their regular expressions differ (on what is
whitespace, on what `$` matches), so the shipped schemas steer clear of those differences,
and a body jsonschema-rs rejects stays rejected even if the lister finds nothing.

Listing stops at `first_problems`' bound: the Python validator yields errors lazily, so a
body with 340,000 faulty items costs what its first thousand problems cost, not 30 s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.validators import extend
from pydantic import ValidationError

from gateway.errors import Problem, dotted, first_problems, validation_problems

REJECTED = Problem("/", "does not match the schema")


@cache
def load_schema(package: str, message_type: str) -> dict[str, Any]:
    """Load and check `<message_type>.schema.json` from an adapter's schemas package."""
    text = files(package).joinpath(f"{message_type}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


UNIQUE_ITEMS_LIMIT = 1000
"""The longest array whose uniqueness the lister checks when its schema sets no maxItems."""
_items = Draft202012Validator.VALIDATORS["items"]
_unique_items = Draft202012Validator.VALIDATORS["uniqueItems"]


def _over_limit(instance: Any, schema: Any, default: int | None = None) -> int | None:
    """Return the maxItems an array breaks (listed by that keyword), or None."""
    limit = schema.get("maxItems", default)
    too_long = isinstance(instance, list) and limit is not None and len(instance) > limit
    return limit if too_long else None


def _bounded_items(validator: Any, items: Any, instance: Any, schema: Any) -> Any:
    """Check the items of an array only up to its maxItems.

    Why: a body of 300,000 valid but surplus items would otherwise be walked to the end while
    no problem is found to stop at; maxItems already says there are too many.
    """
    if (limit := _over_limit(instance, schema)) is not None:
        instance = instance[:limit]
    return _items(validator, items, instance, schema)


def _bounded_unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Any:
    """Check uniqueItems only on an array no longer than the schema allows.

    Why: the Python validator compares unhashable items pairwise, so 4,000 objects cost it
    11 s and a body's worth would cost hours. A longer array already breaks maxItems (listed),
    and jsonschema-rs, which decides, checks uniqueness by hashing.
    """
    if _over_limit(instance, schema, UNIQUE_ITEMS_LIMIT) is not None:
        return ()
    return _unique_items(validator, unique, instance, schema)


_Lister = extend(
    Draft202012Validator, {"items": _bounded_items, "uniqueItems": _bounded_unique_items}
)


@cache
def _validator(package: str, message_type: str) -> Any:
    return _Lister(
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
    """Return a body's schema violations, in a stable order; never none for a rejected one.

    At most `first_problems` many are returned (so a GatewayError knows when its count is a
    lower bound). Why fail closed: the validator that decides is jsonschema-rs. Should the
    lister disagree and find nothing, returning no problems would pass a body it rejected.
    """
    fast = _fast_validator(package, message_type)
    if fast.is_valid(doc):
        return []
    found = first_problems(_listed(_validator(package, message_type), doc)) or first_problems(
        Problem(pointer(error.instance_path), f"fails the {error.kind.name!r} rule")
        for error in fast.iter_errors(doc)
    )
    return sorted(found or [REJECTED], key=lambda p: (p.location, p.message))


def _listed(validator: Any, doc: Any) -> Iterator[Problem]:
    for error in validator.iter_errors(doc):
        yield Problem(pointer(error.absolute_path), describe(error))
