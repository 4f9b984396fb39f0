"""The start-up probe: render, once, births that fill every field the notification spec can map
and use every code the closed code lists hold.

Why: the mapping spec and its code lists are data, and decide which element each value is
written to and as what. A spec that puts a value where the compiled schema
(schemas/birth-notification.schema.json) allows none, or a code list that writes a code the
schema does not know (a FHIR gender, say), would make births fail mid-exchange; rendering the
probes when the adapter is built fails the deployment at load instead. They are also checked
by the reference validator (stu3.py), which rendering does not run.
"""

from __future__ import annotations

import datetime as dt

from adapters.kit.mapping import MappingSet
from adapters.opencrvs import profile, schema
from adapters.opencrvs.profile import BIRTH_NOTIFICATION
from adapters.opencrvs.render import build_bundle
from adapters.opencrvs.stu3 import stu3_problems
from gateway.canonical import BirthDate, BirthEvent, Identifier, Person, PersonName, Sex
from gateway.errors import ConfigurationError, Problem


def _person(ref: str, sex: Sex, given: str, schemes: list[str], born: dt.date | None) -> Person:
    return Person(
        ref=ref,
        names=[
            PersonName(given=[given, "Nyibol"], family="Deng"),
            PersonName(given=[given]),
        ],
        sex=sex,
        birth_date=BirthDate(date=born, estimated=True) if born else None,
        nationalities=["SSD", "XXA"],  # a country and an ICAO special code (stateless)
        identifiers=[Identifier(scheme=s, value=f"{ref}-{i}") for i, s in enumerate(schemes)],
    )


def probe_birth(schemes: list[str]) -> BirthEvent:
    """Return a twin birth with both parents and every mappable field filled."""
    return BirthEvent(
        child=_person("probe-child", Sex.OTHER, "Achan", schemes, None),
        mother=_person("probe-mother", Sex.FEMALE, "Achol", schemes, dt.date(1998, 7, 1)),
        father=_person("probe-father", Sex.MALE, "Garang", schemes, dt.date(1994, 1, 1)),
        date=dt.date(2024, 2, 29),
        place="Kakuma Refugee Camp, Kakuma 4",
        country="KEN",
        multiple_birth=True,
    )


def probe_births(schemes: list[str]) -> dict[str, BirthEvent]:
    """Return the probes by name: between them, every sex code and both informants.

    The second has no mother, so the father is the informant and his relationship code is
    written; its child's sex is the one the first probe does not use.
    """
    twins = probe_birth(schemes)
    child = twins.child.model_copy(update={"sex": Sex.UNKNOWN})
    return {
        "twins": twins,
        "father only": twins.model_copy(update={"child": child, "mother": None}),
    }


def _schemes(mappings: MappingSet) -> list[str]:
    """Return every identifier scheme the spec's code list can send (else a made-up one)."""
    spec = mappings.spec(BIRTH_NOTIFICATION)
    name = next(
        (f.codelist for f in spec.fields if f.canonical == "person.identifiers.scheme"), None
    )
    codelist = mappings.codelists.get(name) if name else None
    return list(codelist.canonical) if codelist and codelist.canonical else ["probe-scheme"]


def check_spec(mappings: MappingSet) -> None:
    """Fail with every problem if the spec renders a bundle the gateway may not send."""
    where = f"mapping spec {mappings.adapter}/{BIRTH_NOTIFICATION}"
    found: list[Problem] = []
    for name, birth in probe_births(_schemes(mappings)).items():
        try:
            bundle = build_bundle(mappings, BIRTH_NOTIFICATION, birth)
        except (KeyError, TypeError, ValueError) as exc:  # e.g. two fields sent to one element
            raise ConfigurationError(f"{where} cannot render a birth: {exc!r}") from exc
        checks = [
            ("STU3", stu3_problems(bundle)),
            ("compiled schema", schema.problems(BIRTH_NOTIFICATION, bundle)),
            ("OpenCRVS profile", profile.check_birth_notification(bundle)),
        ]
        found += [
            Problem(p.location, f"{check}: {p.message} (probe: {name})")
            for check, problems in checks
            for p in problems
        ]
    if found:
        listed = "; ".join(f"{p.location}: {p.message}" for p in found)
        raise ConfigurationError(
            f"{where} renders a bundle the gateway may not send: {listed}", found
        )
