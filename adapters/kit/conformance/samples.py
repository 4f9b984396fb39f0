"""An adapter's samples, found by convention in its own package.

    <package>/fixtures/<message-type>/*                  native bodies: each must parse
    <package>/fixtures/<message-type>/*.canonical.json   canonical payloads: each must render
    <package>/fixtures/<message-type>/invalid/*          native bodies it must refuse

`<package>` is the package of the module that defines the adapter's class, where its
`mappings/` and `codelists/` are. A canonical sample is `{"canonical": <root>, "payload":
{...}}`: the root is a name in gateway.canonical.roots.MAPPING_ROOTS ("birth",
"registration", ...), the payload that model's JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from adapters.kit.contract import Adapter
from gateway.canonical import Payload
from gateway.canonical.roots import MAPPING_ROOTS

FIXTURES = "fixtures"
INVALID = "invalid"
CANONICAL_SUFFIX = ".canonical.json"


@dataclass(frozen=True)
class Sample:
    """One sample file: where it is (for messages) and its bytes."""

    name: str
    body: bytes


@dataclass(frozen=True)
class Samples:
    """An adapter's samples by message type."""

    native: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)
    canonical: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)
    invalid: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)

    @classmethod
    def discover(cls, adapter: Adapter, package: str | None = None) -> Samples:
        """Read the samples under `<package>/fixtures/` for every type the adapter handles."""
        return cls.from_folder(adapter, files(package or package_of(adapter)).joinpath(FIXTURES))

    @classmethod
    def from_folder(cls, adapter: Adapter, root: Traversable) -> Samples:
        """Read the samples under a fixtures folder laid out as this module says."""
        native: dict[str, tuple[Sample, ...]] = {}
        canonical: dict[str, tuple[Sample, ...]] = {}
        invalid: dict[str, tuple[Sample, ...]] = {}
        for message_type in sorted(adapter.parses | adapter.renders):
            folder = root.joinpath(message_type)
            found = _files(folder, f"{FIXTURES}/{message_type}")
            native[message_type] = tuple(s for s in found if not _is_canonical(s))
            canonical[message_type] = tuple(s for s in found if _is_canonical(s))
            invalid[message_type] = _files(
                folder.joinpath(INVALID), f"{FIXTURES}/{message_type}/{INVALID}"
            )
        return cls(native, canonical, invalid)


def package_of(adapter: object) -> str:
    """Return the package of the module that defines the adapter's class."""
    module = sys.modules[type(adapter).__module__]
    return module.__package__ or module.__name__


def _is_canonical(sample: Sample) -> bool:
    return sample.name.endswith(CANONICAL_SUFFIX)


def _files(folder: Traversable, where: str) -> tuple[Sample, ...]:
    if not folder.is_dir():
        return ()
    entries = sorted((e for e in folder.iterdir() if e.is_file()), key=lambda e: e.name)
    return tuple(
        Sample(f"{where}/{e.name}", e.read_bytes())
        for e in entries
        if not e.name.startswith(".") and e.name != "README.md"
    )


class SampleError(Exception):
    """A canonical sample that does not load: the sample is wrong, not the adapter."""


def load_canonical(sample: Sample) -> Payload:
    """Return a canonical sample's payload, built by the model its root names."""
    try:
        doc: Any = json.loads(sample.body)
    except ValueError as exc:
        raise SampleError(f"{sample.name} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or set(doc) != {"canonical", "payload"}:
        raise SampleError(f'{sample.name} must be {{"canonical": <root>, "payload": {{...}}}}')
    model: type[BaseModel] | None = MAPPING_ROOTS.get(doc["canonical"])
    if model is None:
        raise SampleError(
            f"{sample.name} names root {doc['canonical']!r}; known: {sorted(MAPPING_ROOTS)}"
        )
    try:
        payload = model.model_validate(doc["payload"])
    except ValidationError as exc:
        raise SampleError(f"{sample.name} is not a valid {model.__name__}: {exc}") from exc
    if not all(callable(getattr(payload, m, None)) for m in ("subjects", "categories")):
        raise SampleError(f"{sample.name}: a {model.__name__} is not a payload")
    return cast(Payload, payload)  # checked for the Payload protocol above
