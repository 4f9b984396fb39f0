"""Content-Type: each adapter reads the media types it declares, in UTF-8, and nothing else."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from adapters.kit.contract import check_content_type
from adapters.registry import AdapterRegistry
from gateway.errors import ConfigurationError, Problem, UnsupportedMediaTypeError


def test_each_built_in_adapter_declares_what_it_reads(progres: Any, opencrvs: Any) -> None:
    assert progres.media_types == frozenset({"application/json"})
    assert opencrvs.media_types == frozenset({"application/json", "application/fhir+json"})


@pytest.mark.parametrize(
    ("adapter", "value"),
    [
        ("progres", "application/json"),
        ("progres", "application/json; charset=utf-8"),
        ("progres", "Application/JSON;charset=UTF-8"),
        ("progres", 'application/json ; charset="utf-8" '),
        ("progres", "application/json;"),
        ("opencrvs", "application/fhir+json"),
        ("opencrvs", "application/fhir+json; fhirVersion=3.0; charset=utf-8"),
        ("opencrvs", "application/json"),
    ],
)
def test_a_media_type_the_adapter_reads_is_accepted(
    registry: AdapterRegistry, adapter: str, value: str
) -> None:
    check_content_type(registry.get(adapter), value)


@pytest.mark.parametrize(
    ("adapter", "value", "said"),
    [
        ("progres", None, "Content-Type is missing; progres reads application/json"),
        ("progres", "", "Content-Type is missing; progres reads application/json"),
        ("progres", "  ", "Content-Type is missing; progres reads application/json"),
        ("progres", "text/plain", "progres reads application/json, not this media type"),
        ("progres", "application/xml", "progres reads application/json, not this media type"),
        (
            "progres",
            "application/fhir+json",
            "progres reads application/json, not this media type",
        ),
        ("progres", "application/json-seq", "progres reads application/json, not this media type"),
        ("progres", "application/json; charset=iso-8859-1", "progres reads UTF-8 only"),
        ("progres", "application/json; charset=utf-16", "progres reads UTF-8 only"),
        ("progres", "application/json; charset=utf-8; charset=latin1", "reads UTF-8 only"),
        ("opencrvs", "application/fhir+xml", "opencrvs reads application/fhir+json or applic"),
        ("progres", "application/", "Content-Type is malformed"),
        ("progres", "json", "Content-Type is malformed"),
        ("progres", "application/json; charset", "Content-Type is malformed"),
        ("progres", "application/json, text/plain", "Content-Type is malformed"),
        ("progres", 'application/json; charset="utf-8', "Content-Type is malformed"),
        ("progres", "application/json\x00", "Content-Type is malformed"),
    ],
)
def test_anything_else_is_refused_with_415(
    registry: AdapterRegistry, adapter: str, value: str | None, said: str
) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        check_content_type(registry.get(adapter), value)

    error = caught.value
    assert (error.status, error.reason) == (415, "unsupported_media_type")
    [problem] = error.problems
    assert problem.location == "Content-Type"
    assert said in problem.message


@pytest.mark.parametrize(
    "value", ["text/x-secret", "x-secret", "application/json; charset=x-secret"]
)
def test_the_header_is_never_echoed(progres: Any, value: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        check_content_type(progres, value)
    assert "secret" not in repr(caught.value.problems) + caught.value.message


def test_the_refusal_names_what_is_read() -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        check_content_type(SimpleNamespace(name="x", media_types=frozenset({"a/b", "c/d"})), "e/f")  # type: ignore[arg-type]
    assert caught.value.problems == [
        Problem("Content-Type", "x reads a/b or c/d, not this media type")
    ]


def test_an_adapter_that_declares_no_media_types_stops_start_up(progres: Any) -> None:
    def without_media_types() -> Any:
        return SimpleNamespace(
            name="progres",
            parses=progres.parses,
            renders=progres.renders,
            parse=progres.parse,
            render=progres.render,
        )

    with pytest.raises(ConfigurationError, match="does not satisfy the Adapter contract"):
        AdapterRegistry.from_factories({"progres": without_media_types})
