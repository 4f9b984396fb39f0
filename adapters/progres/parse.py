"""Read a proGres birth notification into a canonical BirthEvent, listing every problem.

Shape (attribute names come from the mapping spec; see adapters/progres/mappings/):

    {"progres_dateofbirth": "2025-03-02", "progres_countryofbirth": {<lookup>}, ...,
     "individuals": [{"progres_individualid": ..., "progres_birthrole": <relationship>, ...}]}

Every individual plays one role in the birth, coded with the relationship option set: the
newborn is `child`, the parents `mother` and `father`. The parser links them both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from adapters.kit.jsonschema_problems import canonical_problems, pointer
from adapters.kit.mapping import MappingSet
from adapters.progres import schema
from adapters.progres.schema import BIRTH_NOTIFICATION, DOCUMENTS, INDIVIDUALS
from gateway.canonical import BirthEvent, Relationship
from gateway.errors import ConfigurationError, ParseError, Problem

SCHEME = "progres-individual"
# Keys inside a Dynamics lookup object: wire structure, like the schema, not mapped fields.
LOOKUP_NAME = "Name"
LOOKUP_ISO = "progres_isocode"
# Why a day of slack: proGres stamps local dates and Kakuma is UTC+3, so a birth just after
# midnight there may be dated "tomorrow" by a server clock that is still on UTC.
FUTURE_SLACK = dt.timedelta(days=1)
Built = TypeVar("Built", bound=BaseModel)
EARLIEST_BIRTH = dt.date(1890, 1, 1)
"""A floor that holds whatever the clock says: no one alive was born before it, so an earlier
date of birth is a typing slip or a placeholder (1800-01-01, 0001-01-01)."""
MAX_AGE = 130
"""Years: no one has been documented older than 122, so an older person is a wrong date."""
# Lists the reader decodes item by item; each must be bounded by the schema (item_limits).
LIST_FIELDS = (
    "person.nationalities",
    "person.former_habitual_residences",
    "person.feared_countries",
    "person.specific_needs",
)
# Roles as plain strings: the code list decodes to these, and Enum.value is slow to read.
CHILD, MOTHER, FATHER = (
    Relationship.CHILD.value,
    Relationship.MOTHER.value,
    Relationship.FATHER.value,
)
PARENTS = (MOTHER, FATHER)
ROLES = (CHILD, *PARENTS)
PARENT_AGES = {MOTHER: (10, 60), FATHER: (12, 90)}
"""Plausible ages, in whole years, of each parent at the child's birth.

Why these bounds: the youngest documented mothers were 5 to 9, but a record saying a girl
under 10 gave birth is far likelier a wrong date (a child's date copied onto the parent) than
a fact, and the gateway must not forward a wrong identity; births to mothers over 60 come only
from assisted reproduction, rare in a camp. Fathers are rarely under 12 and have been recorded
into their nineties. A record outside these bounds is refused with a problem saying which
parent and date, for the registering agency to check.
"""

Path = Sequence[str | int]


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None  # the schema's date format reports it


class SpecFields:
    """A message type's spec resolved once, with the adapter: each canonical field's
    attribute and the code list translator that reads it (every type's individuals are read
    by the one reader below)."""

    def __init__(self, mappings: MappingSet, message_type: str = BIRTH_NOTIFICATION) -> None:
        spec = mappings.spec(message_type)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.decoders = {f.canonical: mappings.decoder(spec, f.canonical) for f in spec.fields}
        self.limits = schema.item_limits(message_type)
        lists = [
            *([INDIVIDUALS] if message_type == BIRTH_NOTIFICATION else []),
            DOCUMENTS,
            *(self.natives[f] for f in LIST_FIELDS if f in self.natives),
        ]
        if unbounded := [name for name in lists if name not in self.limits]:
            raise ConfigurationError(
                f"progres {message_type}: lists without maxItems in the schema: {unbounded}"
            )


class Reader:
    """Decode one notification defensively; the schema reports shapes, this reports meaning."""

    def __init__(self, fields: SpecFields, today: dt.date) -> None:
        self.natives = fields.natives
        self.decoders = fields.decoders
        self.limits = fields.limits
        self.today = today
        self.latest = today + FUTURE_SLACK
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str) -> None:
        """Note a problem at a path in the body."""
        self.problems.append(Problem(pointer(path), message))

    def items(self, record: dict[str, Any], native: str) -> list[Any]:
        """Return a list attribute's items, no more than the schema allows (it lists the rest)."""
        values = record.get(native)
        return values[: self.limits[native]] if isinstance(values, list) else []

    def raw(self, record: dict[str, Any], canonical: str) -> Any:
        """Return the value of the attribute the spec maps a canonical field to."""
        native = self.natives.get(canonical)
        return None if native is None else record.get(native)

    def code(self, record: dict[str, Any], base: Path, canonical: str) -> str | None:
        """Decode the option-set attribute a canonical field maps to."""
        native = self.natives.get(canonical)
        return None if native is None else self._code(record.get(native), canonical, *base, native)

    def _code(self, value: Any, canonical: str, *where: str | int) -> str | None:
        """Decode an option-set value through the field's code list; `where` is its path."""
        if not isinstance(value, int) or isinstance(value, bool):
            return None  # absent or mistyped: the schema reports it
        try:
            return self.decoders[canonical](value)
        except KeyError:
            self.add(where, f"unknown option-set value {value}")
            return None

    def codes(self, record: dict[str, Any], base: Path, canonical: str) -> list[str]:
        """Decode a list of option-set values."""
        native = self.natives.get(canonical)
        if native is None:
            return []
        values = self.items(record, native)
        found = (self._code(v, canonical, *base, native, i) for i, v in enumerate(values))
        return [code for code in found if code]

    def country(self, record: dict[str, Any], base: Path, canonical: str) -> str | None:
        """Decode the country lookup a canonical field maps to."""
        native = self.natives.get(canonical)
        return (
            None if native is None else self._country(record.get(native), canonical, *base, native)
        )

    def _country(self, lookup: Any, canonical: str, *where: str | int) -> str | None:
        """Decode a country lookup; its ISO code, when present, outranks the display name."""
        if not isinstance(lookup, dict):
            return None
        decode = self.decoders[canonical]
        iso_raw, name_raw = lookup.get(LOOKUP_ISO), lookup.get(LOOKUP_NAME)
        iso = name = None
        if isinstance(iso_raw, str):
            try:
                iso = decode(iso_raw)
            except KeyError:
                self.add([*where, LOOKUP_ISO], "unknown country code")
                return None
        if isinstance(name_raw, str):
            try:
                name = decode(name_raw)
            except KeyError:
                if iso is None:
                    self.add([*where, LOOKUP_NAME], "unknown country")
        if iso and name and iso != name:
            self.add(where, f"{LOOKUP_NAME} and {LOOKUP_ISO} name different countries")
            return None
        return iso or name

    def countries(self, record: dict[str, Any], base: Path, canonical: str) -> list[str]:
        """Decode a list of country lookups, dropping repeats."""
        native = self.natives.get(canonical)
        if native is None:
            return []
        found: list[str] = []
        for i, lookup in enumerate(self.items(record, native)):
            if (code := self._country(lookup, canonical, *base, native, i)) and code not in found:
                found.append(code)
        return found

    def date(self, record: dict[str, Any], base: Path, canonical: str) -> dt.date | None:
        """Read a date (of birth, of registration); one in the future, or implausibly long
        ago, is a problem."""
        native = self.natives.get(canonical)
        found = None if native is None else _date(record.get(native))
        if native is None or found is None:
            return found
        if found > self.latest:
            self.add([*base, native], "date is in the future")
        elif found < EARLIEST_BIRTH:
            self.add([*base, native], f"date is before {EARLIEST_BIRTH.year}")
        elif _years(found, self.today) > MAX_AGE:
            self.add([*base, native], f"date is more than {MAX_AGE} years ago")
        return found

    def document(self, record: dict[str, Any], base: Path) -> dict[str, Any]:
        """Return the canonical fields of one identity document."""
        found = {
            "type": _text(self.raw(record, "person.documents.type")),
            "number": _text(self.raw(record, "person.documents.number")),
            "issuing_country": self.country(record, base, "person.documents.issuing_country"),
            "expiry": _date(self.raw(record, "person.documents.expiry")),
        }
        return {k: v for k, v in found.items() if v is not None}

    def person(self, record: dict[str, Any], base: Path) -> tuple[str | None, dict[str, Any]]:
        """Return an individual's role in the birth and their canonical fields."""
        raw = self.raw
        role = self.code(record, base, "person.family_links.relationship")
        ref = raw(record, "person.ref")
        data: dict[str, Any] = {"ref": ref if isinstance(ref, str) else None}
        if identifier := _text(raw(record, "person.identifiers.value")):
            data["identifiers"] = [{"scheme": SCHEME, "value": identifier}]
        if given := _text(raw(record, "person.names.given")):
            family = _text(raw(record, "person.names.family"))
            data["names"] = [{"given": [given], "family": family}]
        if sex := self.code(record, base, "person.sex"):
            data["sex"] = sex
        if legal_status := self.code(record, base, "person.legal_status"):
            data["legal_status"] = legal_status
        if born := self.date(record, base, "person.birth_date.date"):
            data["birth_date"] = {
                "date": born,
                "estimated": raw(record, "person.birth_date.estimated") is True,
            }
        for field in ("nationalities", "former_habitual_residences", "feared_countries"):
            data[field] = self.countries(record, base, f"person.{field}")
        data["country_of_origin"] = self.country(record, base, "person.country_of_origin")
        data["stateless"] = raw(record, "person.stateless") is True
        data["specific_needs"] = self.codes(record, base, "person.specific_needs")
        data["documents"] = [
            self.document(d, [*base, DOCUMENTS, i])
            for i, d in enumerate(self.items(record, DOCUMENTS))
            if isinstance(d, dict)
        ]
        return role, data

    def event(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Return the canonical fields of the birth, with its people linked by role."""
        data: dict[str, Any] = {
            "date": self.date(doc, [], "birth.date"),
            "place": _text(self.raw(doc, "birth.place")),
            "country": self.country(doc, [], "birth.country"),
            "multiple_birth": self.raw(doc, "birth.multiple_birth") is True,
        }
        if not isinstance(doc.get(INDIVIDUALS), list):
            return data  # the schema reports it
        roles: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for i, record in enumerate(self.items(doc, INDIVIDUALS)):
            if isinstance(record, dict):
                role, person = self.person(record, [INDIVIDUALS, i])
                if role is not None:
                    roles.setdefault(role, []).append((i, person))
        self._check_roles(roles, [INDIVIDUALS])
        if len(roles.get(CHILD, [])) != 1:
            return data
        [(child_index, child)] = roles[CHILD]
        if "birth_date" not in child and data["date"]:
            child["birth_date"] = {"date": data["date"]}
        data["child"] = child
        links = []
        for parent_role in PARENTS:
            if len(roles.get(parent_role, [])) == 1:
                [(index, parent)] = roles[parent_role]
                data[parent_role] = parent
                links.append({"relationship": parent_role, "person_ref": parent["ref"]})
                parent["family_links"] = [{"relationship": CHILD, "person_ref": child["ref"]}]
                self._check_parent_age(child, parent, parent_role, [INDIVIDUALS, index])
        child["family_links"] = links
        self._check_child_date(child, data["date"], child_index)
        return {k: v for k, v in data.items() if v is not None}

    def _check_roles(self, roles: dict[str, list[tuple[int, dict[str, Any]]]], path: Path) -> None:
        role_field = self.natives.get("person.family_links.relationship", "role")
        for role, people in roles.items():
            if role not in ROLES:
                for index, _ in people:
                    self.add([*path, index, role_field], f"role {role!r} takes no part in a birth")
            elif len(people) > 1:
                self.add(path, f"more than one individual is the {role}")
        if not roles.get(CHILD):
            self.add(path, "no individual is the child")
        if not any(roles.get(parent) for parent in PARENTS):
            self.add(path, "missing parent: no individual is the mother or the father")
        refs = [p["ref"] for people in roles.values() for _, p in people if p["ref"] is not None]
        if len(refs) != len(set(refs)):
            self.add(path, "two individuals share one individual id")

    def _check_parent_age(
        self, child: dict[str, Any], parent: dict[str, Any], role: str, path: Path
    ) -> None:
        child_born, parent_born = child.get("birth_date"), parent.get("birth_date")
        if not (child_born and parent_born):
            return
        field = self.natives.get("person.birth_date.date", "birth_date")
        youngest, oldest = PARENT_AGES[role]
        if child_born["date"] <= parent_born["date"]:
            self.add([*path, field], f"the child is not born after the {role}")
        elif not youngest <= _years(parent_born["date"], child_born["date"]) <= oldest:
            message = f"the {role}'s age at the child's birth is outside {youngest}-{oldest} years"
            self.add([*path, field], message)

    def _check_child_date(self, child: dict[str, Any], date: dt.date | None, index: int) -> None:
        born = child.get("birth_date")
        if date and born and born["date"] != date:
            field = self.natives.get("person.birth_date.date", "birth_date")
            self.add(
                [INDIVIDUALS, index, field], "the child's date of birth differs from the birth's"
            )


def _years(born: dt.date, on: dt.date) -> int:
    """Return a person's age in whole years on a day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def read_individual(
    fields: SpecFields, record: dict[str, Any], base: Path, today: dt.date
) -> tuple[dict[str, Any], list[Problem]]:
    """Read one individual record's canonical person fields, as a notification's are read.

    For an individual fetched on its own (adapters/progres/fetch.py): the same attributes
    of the same entity, decoded through the same spec and code lists.
    """
    reader = Reader(fields, today)
    _, data = reader.person(record, base)
    return data, reader.problems


def parse_birth_notification(
    fields: SpecFields, doc: dict[str, Any], today: Callable[[], dt.date]
) -> BirthEvent:
    """Validate a decoded notification against its schema and meaning; build the event."""
    reader = Reader(fields, today())
    found = schema.problems(BIRTH_NOTIFICATION, doc)
    data = reader.event(doc)
    return built(BirthEvent, BIRTH_NOTIFICATION, data, found + reader.problems)


def built(
    model: type[Built], message_type: str, data: dict[str, Any], found: list[Problem]
) -> Built:
    """Build a canonical payload from what was read, or fail listing every problem found."""
    if found:
        raise ParseError(f"invalid proGres {message_type}", found)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ParseError(f"invalid proGres {message_type}", canonical_problems(exc)) from exc
