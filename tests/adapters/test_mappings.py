"""Every shipped mapping spec and code list loads; broken ones fail when an adapter is built."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import pytest

from adapters.kit.contract import Adapter
from adapters.kit.mapping import (
    CodeList,
    FieldMap,
    MappingSet,
    MappingSpec,
    load_codelists,
    load_mapping_set,
)
from adapters.opencrvs import OpenCrvsAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import installed_adapters
from gateway.canonical import LegalStatus, Relationship, Sex
from gateway.errors import ConfigurationError

FACTORIES: dict[str, Callable[[MappingSet], Adapter]] = {
    "progres": ProgresAdapter,
    "opencrvs": OpenCrvsAdapter,
}
SHIPPED_LISTS = {
    "sex",
    "relationship",
    "country",
    "specific-needs",
    "legal-status",
    "identifier-scheme",
}


def shipped_lists(adapter: str = "progres") -> dict[str, CodeList]:
    return load_codelists(f"adapters.{adapter}")


def test_every_code_list_loads_and_passes_its_checks() -> None:
    lists = {**shipped_lists("progres"), **shipped_lists("opencrvs")}
    assert SHIPPED_LISTS <= set(lists)
    for codelist in [*shipped_lists("progres").values(), *shipped_lists("opencrvs").values()]:
        assert codelist.check() == []
        assert codelist.version


@pytest.mark.parametrize(
    ("name", "enum"),
    [("sex", Sex), ("relationship", Relationship), ("legal-status", LegalStatus)],
)
def test_enumerated_lists_cover_their_canonical_enum_exactly(name: str, enum: type[Enum]) -> None:
    assert set(shipped_lists()[name].canonical) == {e.value for e in enum}


def test_code_lists_translate_both_ways_through_a_spec() -> None:
    progres = load_mapping_set("adapters.progres", "progres")
    notification = progres.spec("birth-notification")
    assert progres.encoder(notification, "person.sex")("female") == 125080000
    assert progres.decoder(notification, "person.sex")(125080001) == "male"
    assert progres.decode(notification, "person.sex", 125080002) == "other"
    with pytest.raises(KeyError):
        progres.decoder(notification, "person.sex")(999)
    to_canonical = progres.decoder(notification, "person.country_of_origin")
    assert to_canonical("Republic of South Sudan") == "SSD"
    with pytest.raises(KeyError):
        to_canonical("Atlantis")

    opencrvs = load_mapping_set("adapters.opencrvs", "opencrvs")
    bundle = opencrvs.spec("birth-notification")
    assert opencrvs.encoder(bundle, "person.sex")("unknown") == "unknown"
    assert opencrvs.encoder(bundle, "birth.country")("SSD") == "SSD"
    assert opencrvs.encoder(bundle, "birth.place")("Kakuma") == "Kakuma"  # no code list


def test_a_code_list_without_a_table_for_a_system_knows_no_code() -> None:
    sex = shipped_lists()["sex"]
    with pytest.raises(KeyError):
        sex.encoder("nobody")("female")
    with pytest.raises(KeyError):
        sex.decoder("nobody")("female")


@pytest.mark.parametrize("adapter", sorted(FACTORIES))
def test_every_shipped_spec_loads_and_builds_its_adapter(adapter: str) -> None:
    mappings = load_mapping_set(f"adapters.{adapter}", adapter)
    built = FACTORIES[adapter](mappings)
    assert set(mappings.specs) == set(built.parses) | set(built.renders)
    for message_type, spec in mappings.specs.items():
        assert spec.adapter == adapter and spec.version
        assert mappings.version(message_type) == f"{adapter}/{message_type}@{spec.version}"


def test_installed_adapters_finds_both_built_ins_through_entry_points() -> None:
    registry = installed_adapters()
    assert {"progres", "opencrvs"} <= set(registry.names())
    assert isinstance(registry.get("progres"), ProgresAdapter)
    assert isinstance(registry.get("opencrvs"), OpenCrvsAdapter)


def _edited(
    adapter: str,
    message_type: str,
    edit: Callable[[list[FieldMap]], list[FieldMap]],
    codelists: dict[str, CodeList] | None = None,
) -> MappingSet:
    shipped = load_mapping_set(f"adapters.{adapter}", adapter)
    spec = shipped.spec(message_type)
    specs = {**shipped.specs, message_type: spec.model_copy(update={"fields": edit(spec.fields)})}
    return MappingSet(adapter, specs, codelists or shipped.codelists)


def _replace(canonical: str, **changes: str | None) -> Callable[[list[FieldMap]], list[FieldMap]]:
    def edit(fields: list[FieldMap]) -> list[FieldMap]:
        return [f.model_copy(update=changes) if f.canonical == canonical else f for f in fields]

    return edit


def _add(field: FieldMap) -> Callable[[list[FieldMap]], list[FieldMap]]:
    return lambda fields: [*fields, field]


def _drop(canonical: str) -> Callable[[list[FieldMap]], list[FieldMap]]:
    return lambda fields: [f for f in fields if f.canonical != canonical]


BROKEN = [
    pytest.param(
        "progres",
        "birth-notification",
        _add(FieldMap(canonical="person.shoe_size", native="progres_givenname")),
        "unknown canonical field 'person.shoe_size'",
        id="progres-unknown-canonical",
    ),
    pytest.param(
        "progres",
        "birth-notification",
        _replace("person.names.given", native="progres_firstname"),
        "unknown native field 'progres_firstname'",
        id="progres-unknown-native",
    ),
    pytest.param(
        "progres",
        "birth-notification",
        _replace("person.sex", codelist="gender"),
        "unknown code list 'gender'",
        id="progres-unknown-codelist",
    ),
    pytest.param(
        "progres",
        "birth-notification",
        _replace("birth.place", native="progres_givenname"),
        "'progres_givenname' is not an attribute of birth",
        id="progres-attribute-of-wrong-record",
    ),
    pytest.param(
        "progres",
        "birth-notification",
        _drop("person.sex"),
        "required canonical field 'person.sex' is not mapped",
        id="progres-required-missing",
    ),
    pytest.param(
        "progres",
        "birth-registration-confirmation",
        _replace("registration.tracking_id", native="progres_trackingnumber"),
        "unknown native field 'progres_trackingnumber'",
        id="progres-confirmation-unknown-native",
    ),
    pytest.param(
        "opencrvs",
        "birth-notification",
        _replace("person.sex", native="Patient.sex"),
        "unknown native field 'Patient.sex'",
        id="opencrvs-unknown-native",
    ),
    pytest.param(
        "opencrvs",
        "birth-notification",
        _add(FieldMap(canonical="birth.weight", native="Observation.valueQuantity")),
        "unknown canonical field 'birth.weight'",
        id="opencrvs-unknown-canonical",
    ),
    pytest.param(
        "opencrvs",
        "birth-registration-confirmation",
        _replace("registration.registration_number", native="Task.identifier[not a uri]"),
        "unknown native field",
        id="opencrvs-bad-selector",
    ),
]


@pytest.mark.parametrize(("adapter", "message_type", "edit", "expected"), BROKEN)
def test_a_broken_spec_fails_when_the_adapter_is_built(
    adapter: str,
    message_type: str,
    edit: Callable[[list[FieldMap]], list[FieldMap]],
    expected: str,
) -> None:
    with pytest.raises(ConfigurationError, match=expected.replace("[", r"\[")):
        FACTORIES[adapter](_edited(adapter, message_type, edit))


@pytest.mark.parametrize("adapter", sorted(FACTORIES))
def test_a_sex_code_list_missing_a_canonical_value_fails(adapter: str) -> None:
    shipped = shipped_lists(adapter)["sex"]
    short = shipped.model_copy(
        update={
            "canonical": ["female", "male", "other"],
            "systems": {
                s: {k: v for k, v in t.items() if k != "unknown"}
                for s, t in shipped.systems.items()
            },
        }
    )
    assert short.check() == []  # consistent by itself, yet it misses Sex.UNKNOWN
    lists = {**shipped_lists(adapter), "sex": short}
    mappings = MappingSet(adapter, load_mapping_set(f"adapters.{adapter}", adapter).specs, lists)
    with pytest.raises(ConfigurationError, match="does not cover person.sex exactly.*unknown"):
        FACTORIES[adapter](mappings)


def test_a_code_list_without_the_adapters_system_fails() -> None:
    lists = {**shipped_lists("progres"), "sex": shipped_lists("opencrvs")["sex"]}
    shipped = load_mapping_set("adapters.progres", "progres")
    with pytest.raises(ConfigurationError, match="has no progres codes"):
        ProgresAdapter(MappingSet("progres", shipped.specs, lists))


def test_a_missing_spec_fails() -> None:
    shipped = load_mapping_set("adapters.opencrvs", "opencrvs")
    specs = {k: v for k, v in shipped.specs.items() if k != "birth-notification"}
    with pytest.raises(
        ConfigurationError, match="no mapping spec for message type 'birth-notification'"
    ):
        OpenCrvsAdapter(MappingSet("opencrvs", specs, shipped.codelists))


def test_a_spec_may_pick_another_task_identifier_system() -> None:
    edit = _replace(
        "registration.tracking_id", native="Task.identifier[http://example.org/tracking]"
    )
    OpenCrvsAdapter(_edited("opencrvs", "birth-registration-confirmation", edit))


def test_every_problem_is_reported_at_once() -> None:
    def edit(fields: list[FieldMap]) -> list[FieldMap]:
        fields = _replace("person.names.given", native="progres_firstname")(fields)
        return _replace("person.sex", codelist="gender")(fields)

    with pytest.raises(ConfigurationError) as caught:
        ProgresAdapter(_edited("progres", "birth-notification", edit))
    assert "progres_firstname" in caught.value.message and "'gender'" in caught.value.message


def test_spec_objects_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        MappingSpec.model_validate(
            {"adapter": "progres", "message_type": "x", "version": "1", "fields": [], "extra": 1}
        )
