"""Hostile bodies cost what their first few items cost, and their answers stay small.

A 996 KiB body holding 340,000 empty individuals once yielded 1,360,003 problems, a 115 MiB
answer and half a minute of CPU. The readers now take no more items than the schema allows,
the schema's problems are listed from a copy cut to what the schema allows, and an error
lists at most MAX_PROBLEMS.

Bounded work is shown without a clock: the long lists here are `Guarded`, which fails the test
when anything walks them past GUARD items (the schemas allow at most 200).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, SupportsIndex

import pytest

from adapters.kit.mapping import load_mapping_set
from adapters.opencrvs.natives import natives_of
from adapters.opencrvs.parse import parse_confirmation
from adapters.progres.parse import SpecFields, parse_birth_notification
from gateway.demo.flow import demo_data
from gateway.errors import COUNT_LIMIT, MAX_PROBLEMS, ParseError, Problem

BN = "birth-notification"
CONFIRMATION = "birth-registration-confirmation"
GUARD = 1000
MANY = 300_000


class Guarded(list[Any]):
    """A long list that fails the test if read past its first GUARD items, or walked whole."""

    def __iter__(self) -> Iterator[Any]:
        raise AssertionError("a reader walked a hostile list to its end")

    def __getitem__(self, at: Any) -> Any:
        stop = at.stop if isinstance(at, slice) else int(at) + 1
        if stop is None or stop > GUARD:
            raise AssertionError(f"a reader read a hostile list past item {GUARD}")
        return super().__getitem__(at)

    def __reversed__(self) -> Iterator[Any]:
        raise AssertionError("a reader walked a hostile list to its end")

    def index(self, *args: Any) -> int:
        raise AssertionError("a reader searched a hostile list")

    def count(self, value: Any) -> int:
        raise AssertionError("a reader counted a hostile list")

    def __contains__(self, value: object) -> bool:
        raise AssertionError("a reader searched a hostile list")

    def __mul__(self, n: SupportsIndex) -> list[Any]:
        raise AssertionError("a reader copied a hostile list")


def _notification() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(demo_data("progres-birth-notification.json"))
    return doc


def _registered() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(demo_data("opencrvs-registered-birth.json"))
    return doc


def _parse_progres(doc: dict[str, Any]) -> ParseError:
    fields = SpecFields(load_mapping_set("adapters.progres", "progres"))
    with pytest.raises(ParseError) as caught:
        parse_birth_notification(fields, doc, lambda: dt.date(2025, 3, 10))
    return caught.value


def _parse_opencrvs(doc: dict[str, Any]) -> ParseError:
    mappings = load_mapping_set("adapters.opencrvs", "opencrvs")
    with pytest.raises(ParseError) as caught:
        parse_confirmation(mappings, natives_of(mappings.spec(CONFIRMATION)), doc)
    return caught.value


def _assert_small(error: ParseError) -> None:
    assert 0 < len(error.problems) <= MAX_PROBLEMS
    assert len(error.problems) <= error.problem_count <= COUNT_LIMIT


def test_340000_empty_individuals_are_read_no_further_than_the_schema_allows() -> None:
    doc = {"progres_dateofbirth": "2025-03-02", "individuals": Guarded([{}] * 340_000)}

    error = _parse_progres(doc)

    _assert_small(error)
    assert Problem("/individuals", "violates maxItems 3") in error.problems
    assert {p.location for p in error.problems} <= {
        "/",
        "/individuals",
        "/individuals/0",
        "/individuals/1",
        "/individuals/2",
    }


def test_the_340000_individual_body_gets_a_small_answer(progres: Any) -> None:
    body = (
        b'{"progres_dateofbirth": "2025-03-02", "individuals": ['
        + b", ".join([b"{}"] * 340_000)
        + b"]}"
    )
    assert len(body) > 990 * 1024

    with pytest.raises(ParseError) as caught:
        progres.parse(BN, body)

    _assert_small(caught.value)
    assert caught.value.problem_count_exact
    assert len(caught.value.problems) == caught.value.problem_count
    assert Problem("/individuals", "violates maxItems 3") in caught.value.problems


@pytest.mark.parametrize(
    ("attribute", "item"),
    [
        ("progres_specificneeds", {"a": 1}),  # unhashable: uniqueItems compared them pairwise
        ("progres_specificneeds", 125080001),
        ("progres_nationality", {"Name": "Kenya"}),
        ("progres_documents", {}),
    ],
    ids=["specific-needs-objects", "specific-needs", "nationalities", "documents"],
)
def test_a_long_list_inside_an_individual_is_read_no_further(attribute: str, item: Any) -> None:
    doc = _notification()
    doc["individuals"][0][attribute] = Guarded([item] * MANY)

    error = _parse_progres(doc)

    _assert_small(error)
    assert any(p.location == f"/individuals/0/{attribute}" for p in error.problems)


def test_300000_bundle_entries_are_read_no_further_than_the_schema_allows() -> None:
    doc = {"resourceType": "Bundle", "type": "document", "entry": Guarded([{}] * MANY)}

    error = _parse_opencrvs(doc)

    _assert_small(error)
    assert Problem("/entry", "violates maxItems 200") in error.problems


def _patient(doc: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient")


def _task(doc: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Task")


@pytest.mark.parametrize(
    "where",
    [
        "sections",
        "section-entries",
        "codings",
        "patient-names",
        "given-names",
        "family-names",
        "patient-identifiers",
        "task-identifiers",
    ],
)
def test_a_long_list_inside_a_bundle_is_read_no_further(where: str) -> None:
    doc = _registered()
    composition, patient = doc["entry"][0]["resource"], _patient(doc)
    hostile = {
        "sections": lambda: composition.update(section=Guarded([{}] * MANY)),
        "section-entries": lambda: composition["section"][0].update(entry=Guarded([{}] * MANY)),
        "codings": lambda: composition["type"].update(coding=Guarded([{}] * MANY)),
        "patient-names": lambda: patient.update(name=Guarded([{"given": ["A"]}] * MANY)),
        "given-names": lambda: patient.update(name=[{"given": Guarded(["A"] * MANY)}]),
        "family-names": lambda: patient.update(name=[{"family": Guarded(["A"] * MANY)}]),
        "patient-identifiers": lambda: patient.update(identifier=Guarded([{}] * MANY)),
        "task-identifiers": lambda: _task(doc).update(identifier=Guarded([{}] * MANY)),
    }
    hostile[where]()

    error = _parse_opencrvs(doc)

    _assert_small(error)
    assert any("maxItems" in p.message for p in error.problems)


def test_a_body_full_of_keys_is_a_few_problems(progres: Any) -> None:
    # As many distinct keys as fit in the 1 MiB body limit (a million cannot); decoding is linear.
    keys = b",".join(b'"k%d":0' % i for i in range(95_000))
    body = b'{"progres_dateofbirth": "2025-03-02", ' + keys + b"}"
    assert len(body) <= 1024 * 1024

    with pytest.raises(ParseError) as caught:
        progres.parse(BN, body)

    assert Problem("/", "violates maxProperties 200") in caught.value.problems
    assert caught.value.problem_count == len(caught.value.problems) <= 3


def test_more_problems_than_are_counted_make_a_lower_bound(progres: Any) -> None:
    # Every one of 150,000 strings holds a control character: counting stops at the limit.
    body = b'{"x": [' + b",".join([b'"\\u0001"'] * 150_000) + b"]}"

    with pytest.raises(ParseError) as caught:
        progres.parse(BN, body)

    error = caught.value
    assert len(error.problems) == MAX_PROBLEMS
    assert error.problem_count == COUNT_LIMIT and not error.problem_count_exact
    assert error.problems[:2] == [
        Problem("/x/0", "string holds control character U+0001"),
        Problem("/x/1", "string holds control character U+0001"),
    ]
