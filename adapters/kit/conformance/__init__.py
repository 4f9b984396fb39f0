"""The adapter conformance kit: one pytest suite that any adapter runs against itself.

Subclass `AdapterConformance` in a test module and give it an `adapter` fixture; every check
below then runs against that adapter:

    from adapters.kit.conformance import AdapterConformance

    class TestMaternity(AdapterConformance):
        @pytest.fixture(scope="class")
        @classmethod
        def adapter(cls) -> Adapter:
            return MaternityAdapter()

Its samples are found in its own package (see `samples.py` for the layout):
`fixtures/<message-type>/` holds native bodies that must parse, `*.canonical.json` payloads
that must render, and `invalid/` bodies that must be refused. The checks are the functions in
`checks.py`, usable without pytest; each returns what is wrong, and a test fails listing all.
"""

from __future__ import annotations

import pytest

from adapters.kit.conformance import checks
from adapters.kit.conformance.samples import Sample, Samples, load_canonical, package_of
from adapters.kit.contract import Adapter


def _passes(failures: list[str]) -> None:
    """Fail the test with every failure, one per line; never with only the first."""
    if failures:
        pytest.fail(
            f"{len(failures)} conformance failure(s):\n  " + "\n  ".join(failures), pytrace=False
        )


class AdapterConformance:
    """The suite: subclass it (as Test...) and override the `adapter` fixture.

    Override `conformance_package` when the samples and specs live in another package than
    the one defining the adapter's class.
    """

    @pytest.fixture
    def adapter(self) -> Adapter:
        pytest.fail("override the `adapter` fixture to return the adapter under test")

    @pytest.fixture
    def conformance_package(self, adapter: Adapter) -> str:
        return package_of(adapter)

    @pytest.fixture
    def conformance_samples(self, adapter: Adapter, conformance_package: str) -> Samples:
        return Samples.discover(adapter, conformance_package)

    def test_contract_shape(self, adapter: Adapter) -> None:
        """Name, message types, media types, mappings, native fields, optional Protocols."""
        _passes(checks.contract(adapter))

    def test_mapping_specs(self, adapter: Adapter, conformance_package: str) -> None:
        """The shipped specs load, one per message type, naming only fields that exist."""
        _passes(checks.mapping_specs(adapter, conformance_package))

    def test_native_samples_parse(self, adapter: Adapter, conformance_samples: Samples) -> None:
        """Every native sample of a type it parses parses, to a well-behaved payload."""
        _passes(checks.native_samples(adapter, conformance_samples))

    def test_invalid_samples_are_refused(
        self, adapter: Adapter, conformance_samples: Samples
    ) -> None:
        """Every sample in invalid/ is refused, its problems named, its values not echoed."""
        _passes(checks.invalid_samples(adapter, conformance_samples))

    def test_round_trip_keeps_mapped_fields(
        self, adapter: Adapter, conformance_samples: Samples
    ) -> None:
        """Canonical -> native -> canonical loses no mapped field."""
        _passes(checks.round_trips(adapter, conformance_samples))

    def test_rendered_output_matches_schema(
        self, adapter: Adapter, conformance_samples: Samples
    ) -> None:
        """What it renders is valid against its system's own schema."""
        _passes(checks.rendered_schema(adapter, conformance_samples))

    def test_hostile_bodies_are_refused(self, adapter: Adapter) -> None:
        """Deep, huge, malformed, mistyped and (for XML) entity-laden bodies get a small 4xx."""
        _passes(checks.hostile_bodies(adapter))


__all__ = [
    "AdapterConformance",
    "Sample",
    "Samples",
    "checks",
    "load_canonical",
    "package_of",
]
