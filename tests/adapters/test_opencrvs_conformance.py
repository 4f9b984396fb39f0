"""The compiled notification schema against the reference STU3 validator, proven not assumed.

Rendering checks each bundle against schemas/birth-notification.schema.json, not against
fhir.resources' STU3 models. That is safe only while

1. every birth renders to a bundle that the STU3 models, the compiled schema and the OpenCRVS
   profile all accept (generated births, below);
2. the schema is no looser than STU3: whatever STU3 rejects in a fully populated bundle, the
   schema rejects too (mutations of the start-up probe's bundle, below).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pycountry
import pytest
from fhir.resources.STU3.coding import Coding
from fhir.resources.STU3.meta import Meta
from fhir.resources.STU3.patient import Patient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from adapters.kit.jsonschema_problems import load_schema
from adapters.kit.mapping import CodeList, MappingSet, load_mapping_set
from adapters.opencrvs import OpenCrvsAdapter, schema
from adapters.opencrvs.natives import BIRTH_NOTIFICATION_NATIVES, NATIONALITY_URL, parse_native
from adapters.opencrvs.probe import probe_birth, probe_births
from adapters.opencrvs.profile import check_birth_notification
from adapters.opencrvs.render import build_bundle, notification_problems, render
from adapters.opencrvs.resources import Writer
from adapters.opencrvs.stu3 import stu3_problems
from gateway.canonical import BirthDate, BirthEvent, Identifier, Person, PersonName, Sex
from gateway.canonical.countries import icao_special_codes
from gateway.canonical.text import control_character
from gateway.errors import ConfigurationError, GatewayError, Problem

BN = "birth-notification"
COUNTRIES = sorted({c.alpha_3 for c in pycountry.countries} | set(icao_special_codes()))
# Every character Python calls whitespace, and some that only other engines do (U+FEFF is
# whitespace to ECMA-262) or that look like it (zero-width space, Mongolian vowel separator).
ODD_SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()] + [
    "\ufeff",
    "\u200b",
    "\u180e",
]
SCHEMA = load_schema("adapters.opencrvs.schemas", BN)


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    return load_mapping_set("adapters.opencrvs", "opencrvs")


@pytest.fixture(scope="module")
def full_bundle(mappings: MappingSet) -> dict[str, Any]:
    """Return the start-up probe's bundle: every element the spec maps, with both parents."""
    return build_bundle(mappings, BN, probe_birth(["progres-individual"]))


# -- 1. generated births -------------------------------------------------------------------

# Canonical text holds no control characters (gateway/canonical/text.py), so none is drawn.
characters = st.one_of(st.characters(codec="utf-8"), st.sampled_from(ODD_SPACES)).filter(
    lambda c: control_character(c) is None
)
texts = st.text(characters, max_size=12)
names = st.builds(
    PersonName,
    given=st.lists(texts, min_size=1, max_size=3),
    family=st.none() | texts,
)
identifiers = st.builds(
    Identifier,
    scheme=st.sampled_from(["progres-individual", "scheme-without-a-system"]),
    value=texts.filter(bool),
)
birth_dates = st.none() | st.builds(BirthDate, date=st.dates(), estimated=st.booleans())


def people(ref: str) -> st.SearchStrategy[Person]:
    return st.builds(
        Person,
        ref=st.just(ref),
        names=st.lists(names, max_size=2),
        sex=st.sampled_from(Sex),
        birth_date=birth_dates,
        nationalities=st.lists(st.sampled_from(COUNTRIES), max_size=3),
        identifiers=st.lists(identifiers, max_size=3),
    )


@st.composite
def births(draw: st.DrawFn) -> BirthEvent:
    mother, father = draw(
        st.tuples(st.none() | people("mother"), st.none() | people("father")).filter(any)
    )
    return BirthEvent(
        child=draw(people("child")),
        mother=mother,
        father=father,
        date=draw(st.dates()),
        place=draw(st.none() | st.text(characters, max_size=200)),
        country=draw(st.sampled_from(COUNTRIES)),
        multiple_birth=draw(st.booleans()),
    )


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(birth=births())
def test_every_generated_birth_renders_to_a_bundle_all_validators_accept(
    mappings: MappingSet, opencrvs: OpenCrvsAdapter, birth: BirthEvent
) -> None:
    bundle = build_bundle(mappings, BN, birth)
    assert stu3_problems(bundle) == []
    assert schema.problems(BN, bundle) == []
    assert check_birth_notification(bundle) == []
    assert json.loads(opencrvs.render(BN, birth).body) == bundle


# -- 2. and 3. mutations -------------------------------------------------------------------

Path = tuple[str | int, ...]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _nodes(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, value
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        yield from _nodes(child, (*path, key))


def _replacements(value: Any) -> Iterator[tuple[str, Any]]:
    """Yield (what, replacement) for one node: empty, blank, wrong type, impossible."""
    if isinstance(value, dict):
        yield "an unknown key added", {**value, "unknownElement": "x"}
        yield "an empty object", {}
        yield "an array for the object", [value]
    elif isinstance(value, list):
        yield "an empty array", []
        yield "an object for the array", value[0] if isinstance(value[0], dict) else {"x": 1}
        yield "a string for the array", "x"
    elif isinstance(value, bool):
        yield "a string for the boolean", "true"
        yield "a number for the boolean", 1
    elif isinstance(value, str):
        yield "an empty string", ""
        yield "a blank string", "  "
        yield "a no-break space", "\u00a0"
        yield "an ideographic space inside", f"{value}\u3000{value}"
        yield "a trailing newline", f"{value}\n"
        yield "a number for the string", 5
        yield "a boolean for the string", True
        yield "null", None
        if DATE.match(value):
            yield "an impossible date", "2025-13-40" + value[10:]
            yield "a day that never was", "2025-02-29" + value[10:]
            yield "a year 0", "0000" + value[4:]


def _shape(doc: dict[str, Any], path: Path) -> tuple[str, ...]:
    """Name an element position: list items as '*', entries by their resource type."""
    shape = ["*" if isinstance(key, int) else key for key in path]
    if len(path) > 1 and path[0] == "entry":
        shape[1] = doc["entry"][path[1]]["resource"]["resourceType"]
    return tuple(shape)


def _with(doc: dict[str, Any], path: Path, value: Any, delete: bool) -> dict[str, Any]:
    """Return a copy of the bundle with the node at `path` replaced or deleted."""
    mutated: dict[str, Any] = copy.deepcopy(value if not path else doc)
    parent: Any = mutated
    for key in path[:-1]:
        parent = parent[key]
    if path and delete:
        del parent[path[-1]]
    elif path:
        parent[path[-1]] = value
    return mutated


def mutations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (what, mutated copy) once per element position (the same in every Patient).

    Every node gets each of its replacements above, every member of an object its deletion.
    """
    seen: set[tuple[tuple[str, ...], str]] = set()
    for path, value in _nodes(doc):
        shape = _shape(doc, path)
        candidates = [(what, False, v) for what, v in _replacements(value)]
        if path and isinstance(path[-1], str):
            candidates.append(("deleted", True, None))
        for what, delete, replacement in candidates:
            if (shape, what) in seen or (not path and not isinstance(replacement, dict)):
                continue
            seen.add((shape, what))
            yield f"/{'/'.join(map(str, path))} {what}", _with(doc, path, replacement, delete)


def test_the_compiled_schema_is_no_looser_than_stu3(full_bundle: dict[str, Any]) -> None:
    assert stu3_problems(full_bundle) == [] and schema.problems(BN, full_bundle) == []
    looser, rejected_by_stu3 = [], 0
    for what, mutated in mutations(full_bundle):
        if stu3_problems(mutated):
            rejected_by_stu3 += 1
            if not schema.problems(BN, mutated):
                looser.append(what)
    assert not looser, "the compiled schema accepts what STU3 rejects: " + "; ".join(looser)
    assert rejected_by_stu3 > 300  # the mutations really do test something


def _element(name: str) -> Any:
    """Return a validator of one $defs entry of the compiled schema."""
    sub = {"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"}
    return Draft202012Validator(sub, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _stu3_accepts(model: type[Any], data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True


def test_the_schema_knows_the_calendar_exactly_as_stu3_does() -> None:
    date, instant = _element("date"), _element("instant")
    wrong = []
    for year in ["0000", "0001", "0004", "0100", "0400", "1900", "2000", "2023", "2024", "2100"]:
        for month, day in itertools.product(range(14), range(33)):
            day_ = f"{year}-{month:02d}-{day:02d}"
            stu3 = _stu3_accepts(Patient, {"resourceType": "Patient", "birthDate": day_})
            if date.is_valid(day_) != stu3:
                wrong.append(day_)
            at = f"{day_}T00:00:00Z"
            stu3 = _stu3_accepts(Meta, {"lastUpdated": at})
            if instant.is_valid(at) != stu3:
                wrong.append(at)
    assert not wrong, "the schema and STU3 disagree on " + ", ".join(wrong)


def test_whitespace_means_no_less_to_the_schema_than_to_stu3() -> None:
    string, code = _element("string"), _element("code")
    suspects = {*ODD_SPACES, *map(chr, range(0x21)), *map(chr, range(0x7F, 0xA1)), "a", "\u00e9"}
    wrong = []
    for c, text in itertools.product(sorted(suspects), ["X", "aXb", "Xa", "aX", "aXXb"]):
        value = text.replace("X", c)
        if string.is_valid(value) and not _stu3_accepts(Coding, {"display": value}):
            wrong.append(f"string {value!r}")
        if code.is_valid(value) and not _stu3_accepts(Coding, {"code": value}):
            wrong.append(f"code {value!r}")
    assert not wrong, "whitespace is read differently: " + ", ".join(wrong)


# -- the run-time check and the start-up probe ---------------------------------------------


def test_the_run_time_check_lists_every_problem(full_bundle: dict[str, Any]) -> None:
    broken = copy.deepcopy(full_bundle)
    composition, task, child = (broken["entry"][i]["resource"] for i in range(3))
    del composition["title"]
    task["focus"]["reference"] = "urn:uuid:elsewhere"
    child["gender"] = "f"
    child["birthDate"] = "2023-02-29"
    child["name"][0]["given"][1] = ""
    child["deceasedBoolean"] = False
    assert notification_problems(broken) == [
        Problem("/entry/0/resource", "'title' is a required property"),
        Problem("/entry/2/resource", "fails the 'additionalProperties' rule"),
        Problem("/entry/2/resource/birthDate", "fails the 'pattern' rule"),
        Problem("/entry/2/resource/gender", "fails the 'enum' rule"),
        Problem("/entry/2/resource/name/0/given/1", "violates minLength 1"),
        Problem("/entry/1/resource/focus", "Task focus is not the Composition"),
    ]


def _moved(mappings: MappingSet, moved: dict[str, str]) -> MappingSet:
    """Return the shipped specs with some canonical fields sent to other (known) elements."""
    spec = mappings.spec(BN)
    fields = [
        f.model_copy(update={"native": moved.get(f.canonical, f.native)}) for f in spec.fields
    ]
    specs = {**mappings.specs, BN: spec.model_copy(update={"fields": fields})}
    return MappingSet(mappings.adapter, specs, mappings.codelists)


def _swapped(mappings: MappingSet) -> MappingSet:
    """Return the shipped specs with sex and birth date sent to each other's element."""
    swap = {"person.sex": "Patient.birthDate", "person.birth_date.date": "Patient.gender"}
    return _moved(mappings, swap)


def test_render_refuses_a_bundle_the_run_time_check_rejects(
    mappings: MappingSet, birth: BirthEvent
) -> None:
    # The adapter refuses this spec at load (below), so render with the Writer it would keep.
    swapped = _swapped(mappings)
    with pytest.raises(GatewayError) as caught:
        render(Writer(swapped, swapped.spec(BN)), birth)
    assert caught.value.status == 500
    assert "/entry/2/resource/birthDate" in {p.location for p in caught.value.problems}


def test_a_spec_that_writes_invalid_stu3_fails_at_load(mappings: MappingSet) -> None:
    with pytest.raises(ConfigurationError, match="may not send") as caught:
        OpenCrvsAdapter(_swapped(mappings))
    found = {
        (p.location, p.message.split(":")[0])
        for p in caught.value.problems
        if p.location == "/entry/2/resource/birthDate"
    }
    assert found == {
        ("/entry/2/resource/birthDate", "STU3"),
        ("/entry/2/resource/birthDate", "compiled schema"),
    }


def test_a_spec_that_cannot_render_fails_at_load(mappings: MappingSet) -> None:
    # Sex written inside the names list: not even a bundle comes out.
    with pytest.raises(ConfigurationError, match="cannot render a birth"):
        OpenCrvsAdapter(_moved(mappings, {"person.sex": "Patient.name.given"}))


def test_a_code_list_outside_the_compiled_profile_fails_at_load(mappings: MappingSet) -> None:
    # STU3's models do not check bindings: "F" is a valid STU3 code, but not a FHIR gender.
    letters = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
    sex = CodeList(name="sex", version="2", canonical=list(letters), systems={"opencrvs": letters})
    lettered = MappingSet(mappings.adapter, mappings.specs, {**mappings.codelists, "sex": sex})
    with pytest.raises(ConfigurationError) as caught:
        OpenCrvsAdapter(lettered)
    enum = "compiled schema: fails the 'enum' rule"
    assert {(p.location, p.message) for p in caught.value.problems} == {
        *((f"/entry/{i}/resource/gender", f"{enum} (probe: twins)") for i in (2, 4, 6)),
        *((f"/entry/{i}/resource/gender", f"{enum} (probe: father only)") for i in (2, 5)),
    }


def test_a_code_list_with_one_bad_code_fails_at_load_even_if_the_twins_never_use_it(
    mappings: MappingSet,
) -> None:
    codes = {"female": "female", "male": "male", "other": "other", "unknown": "not-known"}
    sex = CodeList(name="sex", version="2", canonical=list(codes), systems={"opencrvs": codes})
    changed = MappingSet(mappings.adapter, mappings.specs, {**mappings.codelists, "sex": sex})
    with pytest.raises(ConfigurationError) as caught:
        OpenCrvsAdapter(changed)
    assert {(p.location, p.message) for p in caught.value.problems} == {
        ("/entry/2/resource/gender", "compiled schema: fails the 'enum' rule (probe: father only)")
    }


def test_the_probes_use_every_sex_code_and_both_informants() -> None:
    probes = probe_births(["progres-individual"]).values()
    assert {person.sex for birth in probes for person in birth.subjects()} == set(Sex)
    assert {birth.mother is None for birth in probes} == {True, False}


def test_the_probe_writes_every_element_the_spec_can_map(full_bundle: dict[str, Any]) -> None:
    written = {
        (entry["resource"]["resourceType"], tuple(k for k in path if isinstance(k, str)))
        for entry in full_bundle["entry"]
        for path, _ in _nodes(entry["resource"])
    }
    for name in BIRTH_NOTIFICATION_NATIVES:
        native = parse_native(name)
        assert (native.resource, native.path) in written, f"the probe does not write {name}"
    extensions = full_bundle["entry"][2]["resource"]["extension"]
    assert {e["url"] for e in extensions} == {NATIONALITY_URL}
