"""The values a mapping spec carries: read from canonical payloads and from native bodies.

A round trip keeps a mapped field when the values at its canonical path, counted, come back
the same. A body that cannot be parsed back is searched instead: every mapped value the
payload held must appear in it, through the field's code list.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Hashable, Iterator
from enum import Enum
from typing import Any

from pydantic import BaseModel

from adapters.kit.mapping import FieldMap, MappingSet, MappingSpec
from adapters.kit.xml import parse_xml
from gateway.canonical.roots import MAPPING_ROOTS

STRUCTURAL = frozenset({"person.ref", "person.family_links.person_ref"})
"""Paths that name a person inside one message, not facts about them: never compared."""


def instances(value: Any, model: type[BaseModel]) -> Iterator[BaseModel]:
    """Yield every instance of a model inside a value, the value included, depth first."""
    if isinstance(value, model):
        yield value
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from instances(getattr(value, name), model)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from instances(item, model)


def values_at(payload: Any, path: str) -> Counter[Hashable]:
    """Count the values at a canonical path (e.g. 'person.names.given') in a payload."""
    root, *steps = path.split(".")
    model = MAPPING_ROOTS.get(root)
    found: list[Any] = [] if model is None else list(instances(payload, model))
    for step in steps:
        found = [v for item in found for v in _items(getattr(item, step, None))]
    return Counter(_plain(v) for v in found)


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _plain(value: Any) -> Hashable:
    """Return a value as compared: an enum by its code, a timestamp in UTC."""
    if isinstance(value, Enum):
        return value.value  # type: ignore[no-any-return]  # codes are strings
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value  # type: ignore[no-any-return]  # canonical leaves are hashable


def compared_fields(spec: MappingSpec) -> list[FieldMap]:
    """Return the spec's fields a round trip must keep."""
    return [f for f in spec.fields if f.canonical not in STRUCTURAL]


def lost(spec: MappingSpec, sent: Any, back: Any) -> list[str]:
    """Say which mapped fields differ between a payload and the one read back from it."""
    found = []
    for f in compared_fields(spec):
        before, after = values_at(sent, f.canonical), values_at(back, f.canonical)
        if before != after:
            found.append(
                f"{f.canonical} (native {f.native}): sent {_shown(before)}, got {_shown(after)}"
            )
    return found


def _shown(values: Counter[Hashable]) -> str:
    text = repr(sorted(map(str, values.elements())))
    return text if len(text) <= 120 else text[:117] + "..."


def native_leaves(body: bytes, content_type: str) -> list[Any]:
    """Return every scalar a rendered body holds: JSON values, XML text and attributes.

    Any other format is returned whole, as text, to be searched.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.endswith("json"):
        return list(_json_scalars(json.loads(body)))
    if media_type.endswith("xml"):
        root = parse_xml(body, where="rendered body", max_bytes=max(len(body), 1))
        leaves: list[Any] = [t.strip() for t in root.itertext() if t.strip()]
        for element in root.iter():
            leaves.extend(element.attrib.values())
        return leaves
    return [body.decode("utf-8", "replace")]


def _json_scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for child in value.values():
            yield from _json_scalars(child)
    elif isinstance(value, list):
        for child in value:
            yield from _json_scalars(child)
    elif value is not None:
        yield value


def missing(mappings: MappingSet, spec: MappingSpec, payload: Any, leaves: list[Any]) -> list[str]:
    """Say which mapped values of a payload a rendered body does not hold.

    Each value is looked for as the field's code list writes it; a timestamp as any text that
    reads as the same instant; text also inside a longer string (names written together).
    """
    found = []
    for f in compared_fields(spec):
        encode = mappings.encoder(spec, f.canonical)
        for value in set(values_at(payload, f.canonical).elements()):
            if not _held(_encoded(encode, value), leaves):
                found.append(f"{f.canonical} (native {f.native}) value {_short(value)} not written")
    return found


def _encoded(encode: Any, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return encode(value)
        except KeyError:
            return value  # the render would have failed; reported as not written
    return value


def _held(value: Any, leaves: list[Any]) -> bool:
    if isinstance(value, bool):
        return any(leaf is value or str(leaf).lower() == str(value).lower() for leaf in leaves)
    if isinstance(value, dt.datetime):
        return any(_same_instant(value, leaf) for leaf in leaves)
    if isinstance(value, dt.date):
        return any(isinstance(leaf, str) and leaf.startswith(value.isoformat()) for leaf in leaves)
    if isinstance(value, int | float):
        return any(not isinstance(leaf, bool) and str(leaf) == str(value) for leaf in leaves)
    text = str(value)
    return any(isinstance(leaf, str) and text in leaf for leaf in leaves)


def _same_instant(value: dt.datetime, leaf: Any) -> bool:
    if not isinstance(leaf, str):
        return False
    try:
        written = dt.datetime.fromisoformat(leaf)
    except ValueError:
        return False
    if (written.tzinfo is None) != (value.tzinfo is None):
        return False
    return written == value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
