"""JSON Schema validation that reports every problem, without echoing personal data.

One validator, jsonschema-rs (Draft 2020-12), both decides and lists, so the two cannot
disagree. It decides on the whole body, in microseconds, stopping at the first error.

Its listing is not lazy: every error is built before the first is returned (a body of 340,000
empty individuals took 89 s and 2.2 GB). So a rejected body is listed from a copy whose lists
are cut short: each to one item more than the schema's largest maxItems (an over-long list
still breaks its maxItems), all together to about KEPT_ITEMS, and none short of the schema's
largest minItems. Cutting invents no problem, since `load_schema` refuses the keywords whose
verdict could turn when items go (`_cut_hazards`); it may hide some. Items past a list's
maxItems are surplus and not listed (its maxItems problem says to drop them, as before); where
other items went unchecked, one problem at "/" says so rather than guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
from pydantic import ValidationError

from gateway.errors import (
    COUNT_LIMIT,
    ConfigurationError,
    Problem,
    dotted,
    first_problems,
    validation_problems,
)

KEPT_ITEMS = COUNT_LIMIT + 1
"""How many list items a listing copy keeps in all, and of a list when the schema bounds none:
enough to count past COUNT_LIMIT when every item is faulty."""
REJECTED = Problem("/", "does not match the schema")

_OF_SURPLUS = frozenset({"uniqueItems", "unevaluatedItems"})
"""What a list past its maxItems may break through surplus items: its maxItems alone is listed."""

Steps = tuple[str | int, ...]
"""A path into a body or a schema: keys and list indexes."""


def pointer(path: Iterable[str | int]) -> str:
    """Return a JSON Pointer for a path inside a body."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def canonical_problems(exc: ValidationError) -> list[Problem]:
    """Locate problems in the canonical object an adapter built, as 'canonical:a.b'."""
    return validation_problems(exc.errors(), lambda loc: "canonical:" + dotted(loc))


def describe(error: jsonschema_rs.ValidationError) -> str:
    """Describe a schema error without echoing the value, which may be personal data."""
    keyword, facts = error.kind.name, error.kind.as_dict()
    if keyword == "required":
        return f"{facts['property']!r} is a required property"  # a name from the schema
    if keyword == "type":
        types = facts["types"]
        return f"must be of type {types[0] if len(types) == 1 else types}"
    if keyword == "const":
        return f"must be {facts['expected_value']!r}"
    if keyword == "format":
        return f"is not a valid {facts['format']}"
    if keyword in {"minLength", "maxLength", "minItems", "maxItems", "maxProperties"}:
        return f"violates {keyword} {facts['limit']}"
    if keyword in {"minimum", "maximum"}:
        return f"is out of range ({keyword} {facts['limit']})"
    return f"fails the {keyword!r} rule"


class SchemaCheck:
    """A compiled schema: decides on a whole body, lists problems from a copy with cut lists."""

    def __init__(self, schema: dict[str, Any]) -> None:
        try:
            self._validator = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=True, offline=True
            )
        except (ValueError, jsonschema_rs.ReferencingError) as exc:  # ValidationError included
            raise ConfigurationError(f"not a valid JSON Schema: {exc}") from exc
        self.schema = schema
        if hazards := sorted({pointer(path) for path in _cut_hazards(schema)}):
            raise ConfigurationError(
                "a verdict that cutting a list could turn (contains, a list-valued const or"
                " enum, or a list keyword under not, if or oneOf) at " + ", ".join(hazards)
            )
        nodes = [node for _, node, _ in _subschemas(schema)]
        least = [n["minItems"] for n in nodes if isinstance(n.get("minItems"), int)]
        most = [n["maxItems"] for n in nodes if isinstance(n.get("maxItems"), int)]
        self.floor = max(least, default=0)
        self.cap = max(max(most, default=KEPT_ITEMS - 1), self.floor) + 1

    def problems(self, doc: Any) -> list[Problem]:
        """Return a body's problems, in a stable order: none exactly when it is valid."""
        if self._validator.is_valid(doc):
            return []
        cutter = _Cutter(self.cap, self.floor)
        errors = list(self._validator.iter_errors(cutter.copy(doc, ())))
        too_long: dict[Steps, int] = {}
        for error in errors:
            if error.kind.name == "maxItems":
                at, limit = tuple(error.instance_path), error.kind.as_dict()["limit"]
                too_long[at] = min(limit, too_long.get(at, limit))
        found = [
            Problem(pointer(error.instance_path), describe(error))
            for error in errors
            if not _surplus(error.instance_path, too_long)
            and not (error.kind.name in _OF_SURPLUS and tuple(error.instance_path) in too_long)
        ]
        if unchecked := [
            kept
            for path, kept in cutter.cut
            if path not in too_long and not _surplus(path, too_long)
        ]:
            found.append(_unchecked(min(unchecked), alone=not found))
        return sorted(first_problems(found) or [REJECTED], key=lambda p: (p.location, p.message))


def _surplus(path: Iterable[str | int], too_long: dict[Steps, int]) -> bool:
    """Say whether a path lies in an item past the maxItems of a list (listed by that alone)."""
    parts = tuple(path)
    for at, part in enumerate(parts):
        if isinstance(part, int) and part >= too_long.get(parts[:at], part + 1):
            return True
    return False


def _unchecked(kept: int, alone: bool) -> Problem:
    """Say honestly that some items were not checked, rather than invent what is wrong."""
    items = f"items of a list beyond the first {kept}" if kept else "the items of a list"
    if alone:
        return Problem("/", f"does not match the schema in {items}")
    return Problem("/", f"{items} were not checked: more may be wrong")


@dataclass
class _Cutter:
    """Copy a body with its lists cut short, and note where (path, items kept).

    Why a budget as well as a cap: nested lists multiply, so a 1 MiB body can hold 500,000
    faulty items in lists none longer than the cap. Once KEPT_ITEMS are spent, lists keep the
    schema's largest minItems (`floor`), so none is cut short of a minItems it met.
    """

    cap: int
    floor: int
    budget: int = KEPT_ITEMS
    cut: list[tuple[Steps, int]] = field(default_factory=list)

    def copy(self, value: Any, path: Steps) -> Any:
        if isinstance(value, dict):
            return {k: self._copy(v, path, k) for k, v in value.items()}
        if not isinstance(value, list):
            return value
        kept = min(len(value), max(self.floor, min(self.cap, self.budget)))
        self.budget = max(0, self.budget - kept)
        if kept < len(value):
            self.cut.append((path, kept))
        return [self._copy(item, path, i) for i, item in enumerate(value[:kept])]

    def _copy(self, value: Any, path: Steps, key: str | int) -> Any:
        return self.copy(value, (*path, key)) if isinstance(value, dict | list) else value


_ONE = ("not", "if", "then", "else", "items", "contains", "additionalProperties")
_ONE_MORE = ("propertyNames", "unevaluatedItems", "unevaluatedProperties")
_SOME = ("allOf", "anyOf", "oneOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "$defs", "dependentSchemas")
_NEGATING = frozenset({"not", "if", "oneOf"})
_ON_LISTS = frozenset(
    {"items", "prefixItems", "contains", "minItems", "maxItems", "uniqueItems", "unevaluatedItems"}
)


def _subschemas(schema: Any) -> Iterator[tuple[Steps, dict[str, Any], bool]]:
    """Yield every subschema with its path and whether a negating keyword is above it.

    Beneath a negating keyword, local $refs are followed too: what they reach is negated there.
    """
    seen: set[str] = set()
    todo: list[tuple[Steps, Any, bool]] = [((), schema, False)]
    while todo:
        path, node, negated = todo.pop()
        if not isinstance(node, dict):
            continue
        yield path, node, negated
        ref = node.get("$ref")
        if negated and isinstance(ref, str) and ref.startswith("#") and ref not in seen:
            seen.add(ref)
            todo.append((_ref_path(ref), _resolve(schema, _ref_path(ref)), True))
        for key in (*_ONE, *_ONE_MORE):
            if key in node:
                todo.append(((*path, key), node[key], negated or key in _NEGATING))
        for key in _SOME:
            for i, child in enumerate(node.get(key, [])):
                todo.append(((*path, key, i), child, negated or key in _NEGATING))
        for key in _NAMED:
            for name, child in node.get(key, {}).items():
                todo.append(((*path, key, name), child, negated))


def _ref_path(ref: str) -> Steps:
    """Return the path a local $ref ('#/$defs/name') points at."""
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/")[1:])


def _resolve(schema: Any, path: Steps) -> Any:
    node = schema
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _cut_hazards(schema: dict[str, Any]) -> Iterator[Steps]:
    """Yield where a verdict could turn when a list loses items, so listing could invent.

    A positive keyword only finds fewer faults in fewer items; `contains` may lose the item it
    needs, a list literal may stop matching, and under not, if or oneOf either may happen.
    """
    for path, node, negated in _subschemas(schema):
        literals = [node.get("const"), *node.get("enum", [])]
        if (
            "contains" in node
            or any(isinstance(v, list) for v in literals)
            or (negated and not _ON_LISTS.isdisjoint(node))
        ):
            yield path


@cache
def _check(package: str, message_type: str) -> SchemaCheck:
    name = f"{message_type}.schema.json"
    schema: dict[str, Any] = json.loads(files(package).joinpath(name).read_text("utf-8"))
    try:
        return SchemaCheck(schema)
    except ConfigurationError as exc:
        raise ConfigurationError(f"schema {package}/{name}: {exc.message}") from exc


def load_schema(package: str, message_type: str) -> dict[str, Any]:
    """Load and check `<message_type>.schema.json` from an adapter's schemas package."""
    return _check(package, message_type).schema


def schema_problems(package: str, message_type: str, doc: Any) -> list[Problem]:
    """Return a body's schema violations, in a stable order: none exactly when it is valid.

    At most `first_problems` many are returned (so a GatewayError knows when its count is a
    lower bound).
    """
    return _check(package, message_type).problems(doc)
