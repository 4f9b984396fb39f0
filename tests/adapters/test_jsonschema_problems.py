"""Schema checks: jsonschema-rs decides and lists, and listing from a cut copy invents nothing."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.kit.jsonschema_problems import (
    KEPT_ITEMS,
    SchemaCheck,
    describe,
    load_schema,
    pointer,
    schema_problems,
)
from adapters.opencrvs import schema as opencrvs_schema
from gateway.errors import COUNT_LIMIT, ConfigurationError, Problem

PACKAGES = ("adapters.progres.schemas", "adapters.opencrvs.schemas")
PROGRES = "adapters.progres.schemas"
BN = "birth-notification"
CONFIRMATION = "birth-registration-confirmation"
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


def test_every_shipped_schema_has_patterns_to_check() -> None:
    assert len(PATTERNS) >= 10


@st.composite
def pattern_and_text(draw: st.DrawFn) -> tuple[str, str]:
    """Draw a shipped pattern and a string near its edges: matches, odd spaces, newlines."""
    pattern = draw(st.sampled_from(PATTERNS))
    core = draw(st.from_regex(pattern) | st.text(st.sampled_from(ODD_SPACES), max_size=3))
    edge = st.sampled_from(["", "\n", "\r\n", "a", *ODD_SPACES])
    return pattern, draw(edge) + core + draw(edge)


# JSON Schema means ECMA-262, which jsonschema-rs follows; Python's re, which readers and the
# conformance tests' reference validator use, differs. A shipped pattern leans on neither.
@cache
def _pattern(pattern: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator({"type": "string", "pattern": pattern})


@settings(max_examples=300, deadline=None, database=None)
@given(case=pattern_and_text())
def test_jsonschema_rs_and_pythons_re_read_every_shipped_pattern_alike(
    case: tuple[str, str],
) -> None:
    pattern, text = case
    assert _pattern(pattern).is_valid(text) == bool(re.search(pattern, text)), (pattern, text)


_DOLLAR = re.compile(r"(?<!\\)\$")
_END = r"(?![\s\S])"  # the end of the string, read alike by both


@settings(max_examples=300, deadline=None, database=None)
@given(case=pattern_and_text())
def test_no_shipped_pattern_leans_on_pythons_dollar(case: tuple[str, str]) -> None:
    # Python's $ also matches before a final newline; ECMA-262's only at the end.
    pattern, text = case
    strict = _DOLLAR.sub(lambda _: _END, pattern)
    assert bool(re.search(pattern, text)) == bool(re.search(strict, text)), (pattern, text)


def test_no_shipped_pattern_uses_a_class_escape_python_reads_otherwise() -> None:
    # \d, \w, \s and \b take in more characters in Python's re than in ECMA-262; [\s\S] is
    # any character in both.
    found = [p for p in PATTERNS if re.search(r"\\[dDwWsSbB]", p.replace(r"[\s\S]", ""))]
    assert found == []


def _paths(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Yield the path of every string and every array in a body."""
    if isinstance(node, str | list):
        yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


SAMPLES = [
    (PROGRES, BN, "progres/birth-notification.json"),
    (
        "adapters.opencrvs.schemas",
        "birth-registration-confirmation",
        "opencrvs/registered-birth.json",
    ),
]


@cache
def _whole(package: str, message_type: str) -> jsonschema_rs.Validator:
    """Return the validator as `schema_problems` builds it, to list a whole body uncut."""
    return jsonschema_rs.Draft202012Validator(
        load_schema(package, message_type), validate_formats=True, offline=True
    )


_UNCHECKED = r"(items of a list beyond the first \d+|the items of a list)"
NOTE = re.compile(  # what is said of items left unchecked, alone or beside other problems
    f"does not match the schema in {_UNCHECKED}|{_UNCHECKED} were not checked: more may be wrong"
)


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data(), case=pattern_and_text())
def test_listing_from_a_cut_copy_invents_no_problem(
    read_fixture: Callable[[str], bytes], data: st.DataObject, case: tuple[str, str]
) -> None:
    package, message_type, sample = data.draw(st.sampled_from(SAMPLES))
    doc = json.loads(read_fixture(sample))
    *parents, last = data.draw(st.sampled_from(sorted(_paths(doc), key=str)))
    node = doc
    for key in parents:
        node = node[key]
    if isinstance(node[last], list):  # repeated and lengthened: duplicates, past maxItems
        extra = data.draw(st.lists(st.sampled_from([{}, "x", 125080007]), max_size=30))
        node[last] = node[last] * data.draw(st.integers(0, 30)) + extra
    else:
        node[last] = case[1]

    problems = schema_problems(package, message_type, doc)

    whole = _whole(package, message_type)
    assert (problems == []) == whole.is_valid(doc), [*parents, last]
    listed = {Problem(pointer(e.instance_path), describe(e)) for e in whole.iter_errors(doc)}
    invented = [p for p in problems if p not in listed and not NOTE.fullmatch(p.message)]
    assert invented == [], [*parents, last]


def test_an_array_past_its_max_items_is_rejected_for_that_alone(
    read_fixture: Callable[[str], bytes],
) -> None:
    doc = json.loads(read_fixture("progres/birth-notification.json"))
    doc["individuals"][1]["progres_specificneeds"] = [125080007] * 21  # duplicates, too many
    assert schema_problems(PROGRES, BN, doc) == [
        Problem("/individuals/1/progres_specificneeds", "violates maxItems 20")
    ]


def test_duplicates_within_max_items_are_listed(read_fixture: Callable[[str], bytes]) -> None:
    doc = json.loads(read_fixture("progres/birth-notification.json"))
    doc["individuals"][1]["progres_specificneeds"] = [125080007, 125080007]
    assert schema_problems(PROGRES, BN, doc) == [
        Problem("/individuals/1/progres_specificneeds", "fails the 'uniqueItems' rule")
    ]


def test_lists_are_kept_one_item_past_the_largest_max_items_never_short_of_a_min_items() -> None:
    assert SchemaCheck(load_schema(PROGRES, BN)).cap == 21
    bounded = SchemaCheck({"properties": {"a": {"maxItems": 3}, "b": {"minItems": 7}}})
    assert (bounded.cap, bounded.floor) == (8, 7)
    assert SchemaCheck({"items": {"type": "integer"}}).cap == KEPT_ITEMS


def test_a_fault_only_in_items_cut_off_is_one_honest_problem() -> None:
    check = SchemaCheck({"type": "array", "items": {"type": "integer"}})
    faulty_last = [0] * KEPT_ITEMS + ["x"]

    assert check.problems(faulty_last) == [
        Problem("/", f"does not match the schema in items of a list beyond the first {KEPT_ITEMS}")
    ]
    assert check.problems(faulty_last[1:]) == [
        Problem(f"/{KEPT_ITEMS - 1}", "must be of type integer")
    ]


def test_items_left_unchecked_are_said_to_be_beside_the_problems_found() -> None:
    check = SchemaCheck({"properties": {"a": {"type": "integer"}, "b": {"items": {"const": 0}}}})

    assert check.problems({"a": "x", "b": [0] * KEPT_ITEMS + [1]}) == [
        Problem(
            "/",
            f"items of a list beyond the first {KEPT_ITEMS} were not checked: more may be wrong",
        ),
        Problem("/a", "must be of type integer"),
    ]


def test_unique_items_needs_no_max_items_and_is_decided_on_the_whole_list() -> None:
    # jsonschema-rs hashes items to find duplicates, so a long list costs it linear time.
    check = SchemaCheck({"type": "array", "uniqueItems": True})
    distinct = [{"n": i} for i in range(50_000)]

    assert check.problems(distinct) == []
    assert check.problems([{"n": 1}, {"n": 1}]) == [Problem("/", "fails the 'uniqueItems' rule")]
    assert check.problems([*distinct, {"n": 0}]) == [
        Problem("/", f"does not match the schema in items of a list beyond the first {KEPT_ITEMS}")
    ]


class Tally(list[Any]):
    """A list that counts the items sliced from it, and fails the test if walked whole."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.read = 0

    def __getitem__(self, at: Any) -> Any:
        got = super().__getitem__(at)
        self.read += len(got) if isinstance(at, slice) else 1
        return got

    def __iter__(self) -> Iterator[Any]:
        raise AssertionError("a reader walked a hostile list to its end")


def test_nested_lists_are_listed_within_one_budget() -> None:
    # 12 entries x 201 names x 201 given names, each faulty: 487,236 errors uncut (15 s).
    given = Tally([1] * 201)
    names = Tally([{"given": given}] * 201)
    entry = {"fullUrl": "u", "resource": {"resourceType": "Patient", "name": names}}
    entries = Tally([entry] * 12)
    doc = {"resourceType": "Bundle", "type": "document", "entry": entries}

    problems = opencrvs_schema.problems(CONFIRMATION, doc)

    assert entries.read + names.read + given.read <= 2 * KEPT_ITEMS
    assert len(problems) <= COUNT_LIMIT
    assert Problem("/entry/0/resource/name", "violates maxItems 10") in problems
    assert Problem("/entry/0/resource/name/0/given", "violates maxItems 10") in problems
    assert any(NOTE.fullmatch(p.message) for p in problems if p.location == "/")


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"contains": {"type": "string"}}, "/"),
        ({"const": [1, 2]}, "/"),
        ({"not": {"items": {"type": "string"}}}, "/not"),
        ({"oneOf": [{"maxItems": 2}, {"type": "string"}]}, "/oneOf/0"),
        (
            {"if": {"$ref": "#/$defs/long"}, "then": {}, "$defs": {"long": {"minItems": 5}}},
            "/$defs/long",
        ),
    ],
    ids=["contains", "list-const", "not", "oneOf", "if-through-ref"],
)
def test_a_verdict_that_cutting_a_list_could_turn_is_refused(
    schema: dict[str, Any], where: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SchemaCheck(schema)
    assert caught.value.message.endswith(f" at {where}")


def test_list_keywords_that_cutting_cannot_turn_are_accepted() -> None:
    SchemaCheck({"anyOf": [{"maxItems": 2}, {"items": {"type": "string"}}], "uniqueItems": True})
    SchemaCheck({"not": {"type": "array"}, "if": {"required": ["a"]}, "then": {"minItems": 1}})


def test_a_schema_jsonschema_rs_cannot_compile_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a valid JSON Schema"):
        SchemaCheck({"type": 5})


def test_a_resource_type_with_a_trailing_newline_is_refused() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient\n"}}],
    }
    assert opencrvs_schema.problems("birth-registration-confirmation", bundle) == [
        Problem("/entry/0/resource/resourceType", "fails the 'pattern' rule")
    ]
