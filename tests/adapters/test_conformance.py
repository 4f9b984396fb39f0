"""Every installed adapter and the worked example pass the conformance kit; the kit can fail.

The suite runs against each adapter in the entry-point group, so a new adapter is checked
as soon as it is installed, plus the example package (examples/adapter-example), which a
`make install` installs. Known gaps are strict xfails: each says what is missing, and
turns into a failure the day it is fixed, so it is struck off then.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

import pytest

from adapters.kit.conformance import AdapterConformance, Samples, checks
from adapters.kit.contract import Adapter, AdapterFactory, Rendered
from adapters.kit.mapping import Dropped, MappingSet, load_mapping_set
from adapters.registry import GROUP, AdapterRegistry
from gateway.canonical import BirthEvent, Payload
from gateway.errors import ParseError, Problem

EXAMPLE = "maternity"
EXAMPLE_PACKAGE = "hub_adapter_example"
INSTALLED = {ep.name: ep for ep in entry_points(group=GROUP)}
ADAPTERS = sorted(set(INSTALLED) | {EXAMPLE})

KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("opencrvs", "test_round_trip_keeps_mapped_fields"): "no canonical samples yet; and the"
    " renderer writes father and child links as sections, not RelatedPerson.relationship,"
    " and Consent.dateTime to the second",
}
"""(adapter, check) -> what is missing. Strike an entry off when its adapter passes."""


def _factory(name: str) -> AdapterFactory:
    if name in INSTALLED:
        factory: AdapterFactory = INSTALLED[name].load()
        return factory
    try:
        from hub_adapter_example import MaternityAdapter
    except ImportError:
        pytest.fail("the example is not installed: pip install -e examples/adapter-example")
    return MaternityAdapter


class TestEveryAdapter(AdapterConformance):
    @pytest.fixture(scope="class", params=ADAPTERS)
    @classmethod
    def adapter(cls, request: pytest.FixtureRequest) -> Adapter:
        name: str = request.param
        return AdapterRegistry.from_factories({name: _factory(name)}).get(name)

    @pytest.fixture(autouse=True)
    def _known_gap(self, request: pytest.FixtureRequest) -> None:
        gap = (request.node.callspec.params["adapter"], request.node.originalname)
        if gap in KNOWN_GAPS:
            request.applymarker(pytest.mark.xfail(reason=KNOWN_GAPS[gap], strict=True))


# The kit can fail: each check below meets the example adapter broken in one way.


@pytest.fixture(scope="module")
def example() -> Any:
    return _factory(EXAMPLE)()


@pytest.fixture(scope="module")
def samples(example: Any) -> Samples:
    return Samples.discover(example)


def test_the_example_is_found_through_its_entry_point() -> None:
    assert EXAMPLE in INSTALLED, "pip install -e examples/adapter-example"
    assert INSTALLED[EXAMPLE].value == f"{EXAMPLE_PACKAGE}:MaternityAdapter"


def test_a_renderer_that_drops_a_mapped_field_fails_the_round_trip(example: Any) -> None:
    class Forgetful(type(example)):  # type: ignore[misc]
        def render(self, message_type: str, payload: Payload) -> Rendered:
            rendered: Rendered = super().render(message_type, payload)
            doc = json.loads(rendered.body)
            doc.get("mother", {}).pop("family_name", None)
            return replace(rendered, body=json.dumps(doc).encode())

    failures = checks.round_trips(Forgetful(), Samples.discover(example))

    assert any("person.names.family" in f for f in failures), failures


def test_a_render_only_type_that_omits_a_value_fails(example: Any) -> None:
    class NoTracking(type(example)):  # type: ignore[misc]
        def render(self, message_type: str, payload: Payload) -> Rendered:
            rendered: Rendered = super().render(message_type, payload)
            doc = json.loads(rendered.body)
            doc.pop("tracking_id", None)
            return replace(rendered, body=json.dumps(doc).encode())

    failures = checks.round_trips(NoTracking(), Samples.discover(example))

    assert any("registration.tracking_id (native tracking_id)" in f for f in failures), failures


def test_a_parser_that_echoes_or_recurses_fails_the_hostile_bodies(example: Any) -> None:
    class Naive(type(example)):  # type: ignore[misc]
        def parse(self, message_type: str, body: bytes) -> Payload:
            doc = json.loads(body)  # no depth, size or duplicate-key guard
            raise ParseError("bad notice", [Problem("/", f"cannot read {doc!r:.200}")])

    failures = checks.hostile_bodies(Naive())

    assert any("deep object nesting: raised RecursionError" in f for f in failures), failures
    assert any("malformed UTF-8: raised UnicodeDecodeError" in f for f in failures), failures
    assert any("fields as strings: the refusal repeats" in f for f in failures), failures


def test_a_schema_check_that_passes_anything_fails(example: Any, samples: Samples) -> None:
    class Lenient(type(example)):  # type: ignore[misc]
        def check_rendered(self, message_type: str, body: bytes) -> list[Problem]:
            return []

    failures = checks.rendered_schema(Lenient(), samples)

    assert any("passes a body that is no message" in f for f in failures), failures


def test_a_field_both_mapped_and_dropped_fails_the_specs() -> None:
    shipped = load_mapping_set(EXAMPLE_PACKAGE, EXAMPLE)
    spec = shipped.spec("birth-notification")
    edited = spec.model_copy(update={"dropped": [*spec.dropped, Dropped(native="sex", why="x")]})
    mappings = MappingSet(EXAMPLE, {**shipped.specs, spec.message_type: edited}, shipped.codelists)

    failures = checks.mapping_specs(_factory(EXAMPLE)(mappings), EXAMPLE_PACKAGE)

    assert "birth-notification spec: 'sex' is both mapped and dropped" in failures


def test_a_sample_that_does_not_parse_is_named(example: Any) -> None:
    found = Samples.discover(example)
    broken = replace(
        found.native["birth-notification"][0],
        name="fixtures/x/broken.json",
        body=b'{"newborn": {}}',
    )
    samples = replace(found, native={"birth-notification": (broken,)})

    failures = checks.native_samples(example, samples)

    assert failures and failures[0].startswith("fixtures/x/broken.json: refused"), failures


def test_canonical_samples_name_a_payload_root(example: Any) -> None:
    sample = replace(
        Samples.discover(example).canonical["birth-registration-confirmation"][0],
        body=b'{"canonical": "person", "payload": {"ref": "a"}}',
    )
    samples = Samples(canonical={"birth-registration-confirmation": (sample,)})

    failures = checks.round_trips(example, samples)

    assert any("a Person is not a payload" in f for f in failures), failures


def test_an_example_event_survives_its_own_round_trip(example: Any, samples: Samples) -> None:
    sample = samples.native["birth-notification"][0]
    event = example.parse("birth-notification", sample.body)

    back = example.parse("birth-notification", example.render("birth-notification", event).body)

    assert isinstance(event, BirthEvent) and back == event
