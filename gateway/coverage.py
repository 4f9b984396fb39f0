"""The mapping coverage report: what each adapter does with each native field it knows.

For every adapter and message type: the native fields its spec maps (to which canonical
field, through which code list), those it drops on purpose and why (the spec's `dropped`),
and those the adapter knows (`native_fields`) that the spec neither maps nor drops. Why the
last list: a field nobody decided about is how data gets lost silently, or sent silently
once someone maps it without asking whether it should travel.

Pure over the registry: it reads each adapter's specs and native fields, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from adapters.kit.contract import Adapter
from adapters.registry import AdapterRegistry


@dataclass(frozen=True)
class MappedField:
    native: str
    canonical: str
    codelist: str | None


@dataclass(frozen=True)
class DroppedField:
    native: str
    why: str


@dataclass(frozen=True)
class TypeCoverage:
    """One adapter's fields for one message type, decided and undecided."""

    adapter: str
    message_type: str
    directions: tuple[str, ...]  # "parse", "render", "fetch", as it handles the type
    version: str | None  # 'adapter/message-type@version', None without a spec
    native_fields: int
    mapped: tuple[MappedField, ...]
    dropped: tuple[DroppedField, ...]
    unaccounted: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["directions"] = list(self.directions)
        return found


def coverage(registry: AdapterRegistry, name: str | None = None) -> list[TypeCoverage]:
    """Report every adapter's message types, or one adapter's (UnknownSystemError if none)."""
    names = [name] if name is not None else registry.names()
    return [
        type_coverage(adapter, message_type)
        for adapter in (registry.get(n) for n in names)
        for message_type in sorted(_handled(adapter))
    ]


def _handled(adapter: Adapter) -> frozenset[str]:
    """Return the message types an adapter parses, renders or fetches."""
    fetches: frozenset[str] = getattr(adapter, "fetches", frozenset())
    return adapter.parses | adapter.renders | fetches


def type_coverage(adapter: Adapter, message_type: str) -> TypeCoverage:
    """Report one adapter's fields for one message type."""
    directions = tuple(
        verb
        for verb, types in (
            ("parse", adapter.parses),
            ("render", adapter.renders),
            ("fetch", getattr(adapter, "fetches", frozenset())),
        )
        if message_type in types
    )
    known = adapter.native_fields.get(message_type, frozenset())
    spec = adapter.mappings.specs.get(message_type)
    if spec is None:
        return TypeCoverage(
            adapter.name, message_type, directions, None, len(known), (), (), tuple(sorted(known))
        )
    mapped = tuple(
        sorted(
            (MappedField(f.native, f.canonical, f.codelist) for f in spec.fields),
            key=lambda m: (m.native, m.canonical),
        )
    )
    dropped = tuple(sorted((DroppedField(d.native, d.why) for d in spec.dropped), key=_native))
    decided = {m.native for m in mapped} | {d.native for d in dropped}
    return TypeCoverage(
        adapter=adapter.name,
        message_type=message_type,
        directions=directions,
        version=adapter.mappings.version(message_type),
        native_fields=len(known),
        mapped=mapped,
        dropped=dropped,
        unaccounted=tuple(sorted(known - decided)),
    )


def _native(field: DroppedField) -> str:
    return field.native


def as_lines(report: Sequence[TypeCoverage]) -> list[str]:
    """Write the report for a person at a terminal: one block per adapter and message type."""
    lines: list[str] = []
    for entry in report:
        mapped_natives = len({m.native for m in entry.mapped})
        lines += [
            f"{entry.adapter} {entry.message_type} ({', '.join(entry.directions)})"
            f" {entry.version or 'no mapping spec'}",
            f"  {entry.native_fields} native fields: {mapped_natives} mapped,"
            f" {len(entry.dropped)} dropped, {len(entry.unaccounted)} unaccounted",
        ]
        natives = [m.native for m in entry.mapped] + [d.native for d in entry.dropped]
        width = max(map(len, natives), default=0)
        if entry.mapped:
            lines.append("  mapped:")
        for m in entry.mapped:
            via = f"  (code list {m.codelist})" if m.codelist else ""
            lines.append(f"    {m.native:<{width}}  -> {m.canonical}{via}")
        if entry.dropped:
            lines.append("  dropped:")
        lines += [f"    {d.native:<{width}}  {d.why}" for d in entry.dropped]
        if entry.unaccounted:
            lines.append("  unaccounted (neither mapped nor dropped):")
            lines += [f"    {native}" for native in entry.unaccounted]
    return lines
