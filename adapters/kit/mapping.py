"""Mapping specs and code lists: data in each adapter's package, checked when it is built.

An adapter package holds its specs in `mappings/` and its code lists in `codelists/`;
nothing is shared with another adapter, so a third party's package is complete on its own. A
spec says, for one adapter and message type, which canonical field goes to which native
field and through which code list. Everything a spec names is checked at load: a canonical
field the model does not have, a code list that does not exist or misses a canonical code,
or a native field the adapter does not know fails then, never in the middle of an exchange.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from functools import cache, cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.canonical import Person
from gateway.canonical.countries import (
    AmbiguousCountryError,
    UnknownCountryError,
    normalise_country,
)
from gateway.canonical.roots import MAPPING_ROOTS
from gateway.errors import ConfigurationError


def _leaf_type(annotation: Any) -> Any:
    """Strip Optional/list/Annotated wrappers down to the element type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (list, typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


@cache
def canonical_fields() -> dict[str, Any]:
    """Return every mappable canonical path (e.g. 'person.names.given') with its leaf type.

    Persons inside events are mapped once, as 'person.*', whatever role they play.
    """
    paths: dict[str, Any] = {}

    def walk(prefix: str, model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            leaf = _leaf_type(field.annotation)
            if leaf is Person and prefix != "person":
                continue
            if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                walk(f"{prefix}.{name}", leaf)
            else:
                paths[f"{prefix}.{name}"] = leaf

    for root, model in MAPPING_ROOTS.items():
        walk(root, model)
    return paths


Encoder = Callable[[str], str | int]
Decoder = Callable[[str | int], str]


def _same(code: str) -> str:
    return code


def _unknown(system: str) -> Callable[[Any], Any]:
    """Return a translator for a system a code list has no table for: it knows no code."""

    def translate(value: Any) -> Any:
        raise KeyError(system)

    return translate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeList(_Strict):
    """Canonical codes and, per system, the code that system uses for each."""

    name: str
    version: str
    kind: str = Field(default="enumerated", pattern="^(enumerated|country)$")
    canonical: list[str] = Field(default_factory=list)
    systems: dict[str, dict[str, str | int]] = Field(default_factory=dict)

    def encoder(self, system: str) -> Encoder:
        """Return canonical -> native for one system, its table found once: adapters keep it.

        An enumerated list's translator raises KeyError for a code it lacks; a country list's
        writes a code it does not list as it is.
        """
        table = self.systems.get(system)
        if self.kind == "country":
            written = table or {}
            return lambda code: written.get(code, code)
        return _unknown(system) if table is None else table.__getitem__

    def decoder(self, system: str) -> Decoder:
        """Return native -> canonical for one system, its table found once: adapters keep it.

        The translator raises KeyError for a code the list does not know; a country list's also
        reads any country name or code `normalise_country` knows.
        """
        reverse = self._reverse.get(system)
        if self.kind == "country":
            read = reverse or {}

            def country(value: str | int) -> str:
                if value in read:
                    return read[value]
                try:
                    return normalise_country(value)
                except AmbiguousCountryError:
                    # A name two states go by: the canonical model counts it as both in a
                    # list of risk countries and refuses it, clearly, where one is needed.
                    return str(value)
                except UnknownCountryError as exc:
                    raise KeyError(value) from exc

            return country
        return _unknown(system) if reverse is None else reverse.__getitem__

    @cached_property
    def _reverse(self) -> dict[str, dict[str | int, str]]:
        """Return native -> canonical tables, built once (the lists never change)."""
        return {system: {v: k for k, v in table.items()} for system, table in self.systems.items()}

    def check(self) -> list[str]:
        problems = []
        for system, table in self.systems.items():
            if self.kind == "enumerated":
                missing = set(self.canonical) - set(table)
                extra = set(table) - set(self.canonical)
                if missing:
                    problems.append(f"{system} lacks codes for {sorted(missing)}")
                if extra:
                    problems.append(f"{system} maps unknown canonical codes {sorted(extra)}")
            else:
                for code in table:
                    try:
                        normalise_country(code)
                    except UnknownCountryError as exc:
                        problems.append(f"{system}: {exc}")
            if len(set(map(str, table.values()))) != len(table):
                problems.append(f"{system} maps two canonical codes to one native code")
        return problems


class FieldMap(_Strict):
    canonical: str
    native: str
    codelist: str | None = None


class Dropped(_Strict):
    """A native field the spec deliberately leaves unmapped, and why (the coverage report)."""

    native: str
    why: str = Field(min_length=1)


class MappingSpec(_Strict):
    """How one adapter maps one message type; `version` is recorded with every exchange."""

    adapter: str
    message_type: str
    version: str
    fields: list[FieldMap]
    dropped: list[Dropped] = Field(default_factory=list)

    def codelist_of(self, canonical: str) -> str | None:
        return self._by_canonical[canonical].codelist

    @cached_property
    def _by_canonical(self) -> dict[str, FieldMap]:
        return {f.canonical: f for f in self.fields}


class MappingSet:
    """An adapter's checked specs (by message type) and the code lists they use."""

    def __init__(
        self, adapter: str, specs: Mapping[str, MappingSpec], codelists: Mapping[str, CodeList]
    ):
        self.adapter = adapter
        self.specs = dict(specs)
        self.codelists = dict(codelists)

    def spec(self, message_type: str) -> MappingSpec:
        return self.specs[message_type]

    def version(self, message_type: str) -> str:
        return f"{self.adapter}/{message_type}@{self.specs[message_type].version}"

    def decode(self, spec: MappingSpec, canonical: str, value: str | int) -> str:
        """Translate one native code to canonical; KeyError for a code the list lacks."""
        return self.decoder(spec, canonical)(value)

    def encoder(self, spec: MappingSpec, canonical: str) -> Encoder:
        """Return `encode` for one field, code list found once: build it with the adapter."""
        name = spec.codelist_of(canonical)
        return _same if name is None else self.codelists[name].encoder(self.adapter)

    def decoder(self, spec: MappingSpec, canonical: str) -> Decoder:
        """Return `decode` for one field, code list found once: build it with the adapter."""
        name = spec.codelist_of(canonical)
        return str if name is None else self.codelists[name].decoder(self.adapter)

    def check(
        self, native_fields: Mapping[str, Iterable[str]], required: Mapping[str, Iterable[str]]
    ) -> None:
        """Fail with every problem if a spec names unknown fields or codes, or misses some.

        `native_fields[message_type]` is what the adapter can read or write; `required` the
        canonical fields it cannot work without.
        """
        problems: list[str] = []
        known = canonical_fields()
        for message_type in set(native_fields) - set(self.specs):
            problems.append(f"no mapping spec for message type {message_type!r}")
        for message_type, spec in self.specs.items():
            where = f"{self.adapter}/{message_type}"
            natives = set(native_fields.get(message_type, ()))
            if message_type not in native_fields:
                problems.append(f"{where}: adapter does not handle this message type")
            mapped = set()
            for f in spec.fields:
                mapped.add(f.canonical)
                if f.canonical not in known:
                    problems.append(f"{where}: unknown canonical field {f.canonical!r}")
                    continue
                if natives and f.native not in natives:
                    problems.append(f"{where}: unknown native field {f.native!r}")
                leaf = known[f.canonical]
                if f.codelist is None:
                    if isinstance(leaf, type) and issubclass(leaf, Enum):
                        problems.append(f"{where}: {f.canonical} needs a code list")
                    continue
                codelist = self.codelists.get(f.codelist)
                if codelist is None:
                    problems.append(f"{where}: unknown code list {f.codelist!r}")
                    continue
                if isinstance(leaf, type) and issubclass(leaf, Enum):
                    values = {e.value for e in leaf}
                    if set(codelist.canonical) != values:
                        problems.append(
                            f"{where}: code list {f.codelist!r} does not cover {f.canonical}"
                            f" exactly: {sorted(values ^ set(codelist.canonical))}"
                        )
                if codelist.kind == "enumerated" and self.adapter not in codelist.systems:
                    problems.append(
                        f"{where}: code list {f.codelist!r} has no {self.adapter} codes"
                    )
            for needed in set(required.get(message_type, ())) - mapped:
                problems.append(f"{where}: required canonical field {needed!r} is not mapped")
        if problems:
            raise ConfigurationError(
                f"mapping specs for adapter {self.adapter!r} are invalid: " + "; ".join(problems)
            )


def _load_yaml(entry: Traversable) -> Any:
    return yaml.safe_load(entry.read_text(encoding="utf-8"))


def _yaml_files(folder: Traversable) -> list[Traversable]:
    if not folder.is_dir():
        return []
    return sorted((e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)


@cache
def load_codelists(package: str) -> dict[str, CodeList]:
    """Load and check every code list in `<package>/codelists/`."""
    lists: dict[str, CodeList] = {}
    for entry in _yaml_files(files(package).joinpath("codelists")):
        try:
            codelist = CodeList.model_validate(_load_yaml(entry))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"code list {package}/{entry.name} is invalid: {exc}") from exc
        problems = codelist.check()
        if problems:
            raise ConfigurationError(f"code list {codelist.name}: " + "; ".join(problems))
        lists[codelist.name] = codelist
    return lists


def load_mapping_set(package: str, adapter: str) -> MappingSet:
    """Load the specs in `<package>/mappings/` and the code lists beside them.

    The checks against native fields come from the adapter, which calls `MappingSet.check`.
    """
    specs: dict[str, MappingSpec] = {}
    entries = _yaml_files(files(package).joinpath("mappings"))
    if not entries:
        raise ConfigurationError(
            f"adapter {adapter!r} ships no mapping specs in {package}/mappings"
        )
    for entry in entries:
        try:
            spec = MappingSpec.model_validate(_load_yaml(entry))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ConfigurationError(
                f"mapping spec {package}/mappings/{entry.name} is invalid: {exc}"
            ) from exc
        if spec.adapter != adapter:
            raise ConfigurationError(
                f"mapping spec {package}/mappings/{entry.name} names adapter {spec.adapter!r}"
            )
        specs[spec.message_type] = spec
    return MappingSet(adapter, specs, load_codelists(package))
