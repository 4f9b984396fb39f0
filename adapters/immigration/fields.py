"""Where each canonical field lives in an immigration message, resolved once from its spec.

A native name is an element path below the root element, an attribute written `@name`
(`person/birthDate/@estimated`). The reader finds values by these paths and notes every
problem at the element it came from; it never repeats a value in a problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from adapters.immigration.schema import ROOTS, tag
from adapters.kit.mapping import Decoder, Encoder, MappingSet
from gateway.errors import Problem

TRUE, FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})  # xs:boolean's spellings


@dataclass(frozen=True)
class Native:
    """One native field: the element path (Clark notation, for lxml's find) and attribute."""

    path: str  # as the spec writes it
    element: str  # "" for the root element itself
    attribute: str | None


def native(path: str) -> Native:
    """Resolve a spec's native name into the element lxml finds and the attribute it reads."""
    steps = path.split("/")
    attribute = steps.pop()[1:] if steps[-1].startswith("@") else None
    return Native(path, "/".join(tag(step) for step in steps), attribute)


class Fields:
    """One message type's spec resolved once, with the adapter: natives and translators."""

    def __init__(self, mappings: MappingSet, message_type: str) -> None:
        spec = mappings.spec(message_type)
        self.root = ROOTS[message_type]
        self.natives = {f.canonical: native(f.native) for f in spec.fields}
        self.decoders: dict[str, Decoder] = {
            f.canonical: mappings.decoder(spec, f.canonical) for f in spec.fields
        }
        self.encoders: dict[str, Encoder] = {
            f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields
        }

    def where(self, canonical: str) -> str:
        """Return the element path a canonical field is read from, for a problem."""
        found = self.natives.get(canonical)
        return f"/{self.root}" if found is None else f"/{self.root}/{found.path}"


class Reader:
    """Read one validated message: the XSD has checked shapes, this checks meaning."""

    def __init__(self, fields: Fields, root: Any) -> None:
        self.fields = fields
        self.root = root
        self.problems: list[Problem] = []
        self.elements = _index(root)

    def elements_at(self, found: Native) -> list[Any]:
        """Return the elements at a native's element path, in document order."""
        return self.elements.get(found.element, [])

    def add(self, canonical: str, message: str, index: int | None = None) -> None:
        """Note a problem at the element of a canonical field (the index-th, if a list)."""
        where = self.fields.where(canonical)
        self.problems.append(Problem(where if index is None else f"{where}[{index + 1}]", message))

    def _values(self, canonical: str) -> list[str]:
        found = self.fields.natives.get(canonical)
        if found is None:
            return []
        elements = self.elements_at(found)
        if found.attribute is not None:
            return [e.get(found.attribute) for e in elements if e.get(found.attribute)]
        return [(e.text or "").strip() for e in elements]

    def text(self, canonical: str) -> str | None:
        """Return the one value of a canonical field, or None when absent."""
        values = self._values(canonical)
        return values[0] if values else None

    def texts(self, canonical: str) -> list[str]:
        """Return every value of a canonical field (a repeated element)."""
        return self._values(canonical)

    def code(self, canonical: str) -> str | None:
        """Return a coded field's canonical code; a code its list lacks is a problem."""
        codes = self._decoded(canonical, self.texts(canonical)[:1], listed=False)
        return codes[0] if codes else None

    def codes(self, canonical: str) -> list[str]:
        """Return every canonical code of a repeated coded field."""
        return self._decoded(canonical, self.texts(canonical), listed=True)

    def _decoded(self, canonical: str, values: list[str], *, listed: bool) -> list[str]:
        decode = self.fields.decoders.get(canonical, str)
        found = []
        for index, value in enumerate(values):
            try:
                found.append(decode(value))
            except KeyError:
                self.add(canonical, "value is not a known code", index if listed else None)
        return found

    def flag(self, canonical: str) -> bool | None:
        """Return a boolean field (the XSD has checked its spelling)."""
        value = self.text(canonical)
        return None if value is None else value in TRUE

    def date(self, canonical: str) -> dt.date | None:
        """Return a date field; the XSD checked its form, this checks it is a calendar day."""
        value = self.text(canonical)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.add(canonical, "value is not a calendar date")
            return None

    def pairs(self, value: str, attribute: str) -> Iterable[tuple[str, str | None]]:
        """Yield (text, attribute) of each element a repeated field with an attribute is in."""
        found, named = self.fields.natives.get(value), self.fields.natives.get(attribute)
        if found is None:
            return
        for element in self.elements_at(found):
            if named is not None and named.element == found.element and named.attribute:
                yield (element.text or "").strip(), element.get(named.attribute)
            else:
                yield (element.text or "").strip(), None


def _index(root: Any) -> dict[str, list[Any]]:
    """Map each element path (Clark notation, as `Native.element`) to its elements, in one walk.

    Why: lxml's find compiles a namespaced path on every call; one walk of a validated
    message (a few dozen elements, nested a few levels) is cheaper than twenty finds.
    """
    found: dict[str, list[Any]] = {"": [root]}

    def walk(element: Any, prefix: str) -> None:
        for child in element:
            path = prefix + child.tag
            found.setdefault(path, []).append(child)
            walk(child, path + "/")

    walk(root, "")
    return found
