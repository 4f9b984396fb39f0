"""Schema checks: jsonschema-rs decides, Python jsonschema lists, and no rejected body passes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from adapters.jsonschema_problems import load_schema, schema_problems
from adapters.opencrvs import schema as opencrvs_schema
from gateway.demo.flow import demo_data
from gateway.errors import Problem

PACKAGES = ("adapters.progres.schemas", "adapters.opencrvs.schemas")
# Every character Python calls whitespace, and some that only other engines do (U+FEFF is
# whitespace to ECMA-262) or that look like it.
ODD_SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()] + [
    "\ufeff",
    "\u200b",
    "\u180e",
]


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for child in node.values():
            yield from _patterns(child)
    elif isinstance(node, list):
        for child in node:
            yield from _patterns(child)


def _shipped_patterns() -> list[str]:
    found = set()
    for package in PACKAGES:
        for entry in files(package).iterdir():
            if entry.name.endswith(".schema.json"):
                message_type = entry.name.removesuffix(".schema.json")
                found.update(_patterns(load_schema(package, message_type)))
    return sorted(found)


PATTERNS = _shipped_patterns()


@cache
def _verdicts(pattern: str) -> tuple[Any, Any]:
    schema = {"type": "string", "pattern": pattern}
    return jsonschema_rs.Draft202012Validator(schema), Draft202012Validator(schema)


def test_every_shipped_schema_has_patterns_to_check() -> None:
    assert len(PATTERNS) >= 10


@st.composite
def pattern_and_text(draw: st.DrawFn) -> tuple[str, str]:
    """Draw a shipped pattern and a string near its edges: matches, odd spaces, newlines."""
    pattern = draw(st.sampled_from(PATTERNS))
    core = draw(st.from_regex(pattern) | st.text(st.sampled_from(ODD_SPACES), max_size=3))
    edge = st.sampled_from(["", "\n", "\r\n", "a", *ODD_SPACES])
    return pattern, draw(edge) + core + draw(edge)


@settings(max_examples=300, deadline=None, database=None)
@given(case=pattern_and_text())
def test_the_two_validators_read_every_shipped_pattern_alike(case: tuple[str, str]) -> None:
    pattern, text = case
    decides, lists = _verdicts(pattern)
    assert decides.is_valid(text) == lists.is_valid(text), (pattern, text)


def _string_paths(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, str):
        yield path
    elif isinstance(node, dict):
        for key, child in node.items():
            yield from _string_paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _string_paths(child, (*path, index))


# Why whole bodies too: jsonschema-rs was seen to read one pattern differently inside a large
# schema than alone, so the shipped schemas are also checked as they are used.
SAMPLES = [
    ("adapters.progres.schemas", "birth-notification", "progres-birth-notification.json"),
    (
        "adapters.opencrvs.schemas",
        "birth-registration-confirmation",
        "opencrvs-registered-birth.json",
    ),
]


@cache
def _validators(package: str, message_type: str) -> tuple[Any, Any]:
    schema = load_schema(package, message_type)
    return (
        jsonschema_rs.Draft202012Validator(schema, validate_formats=True, offline=True),
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER),
    )


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data(), case=pattern_and_text())
def test_the_two_validators_agree_on_whole_bodies(
    data: st.DataObject, case: tuple[str, str]
) -> None:
    package, message_type, sample = data.draw(st.sampled_from(SAMPLES))
    doc = json.loads(demo_data(sample))
    *parents, last = data.draw(st.sampled_from(sorted(_string_paths(doc), key=str)))
    node = doc
    for key in parents:
        node = node[key]
    node[last] = case[1]
    decides, lists = _validators(package, message_type)
    assert decides.is_valid(doc) == lists.is_valid(doc), ([*parents, last], case[1])


def test_a_body_the_deciding_validator_rejects_is_never_passed() -> None:
    # The lister's $ matches before the final newline and finds nothing wrong.
    package, message_type = "tests.adapters.schemas", "engines-disagree"
    assert Draft202012Validator(load_schema(package, message_type)).is_valid({"code": "AB\n"})

    assert schema_problems(package, message_type, {"code": "AB\n"}) == [
        Problem("/code", "fails the 'pattern' rule")
    ]
    assert schema_problems(package, message_type, {"code": "AB"}) == []


def test_a_resource_type_with_a_trailing_newline_is_refused() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient\n"}}],
    }
    assert opencrvs_schema.problems("birth-registration-confirmation", bundle) == [
        Problem("/entry/0/resource/resourceType", "fails the 'pattern' rule")
    ]
