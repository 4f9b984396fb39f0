"""The start-up probe: render, once, a birth with every field the notification spec can map.

Why: the mapping spec is data and decides which element each value is written to. A spec
that puts a value where the compiled schema (schemas/birth-notification.schema.json) allows
none would make every birth fail mid-exchange; rendering the probe when the adapter is built
fails the deployment at load instead. The probe is also checked by the reference validator
(stu3.py), which is too slow to run on every exchange.
"""

from __future__ import annotations

import datetime as dt

from adapters.mapping import MappingSet
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
    try:
        bundle = build_bundle(mappings, BIRTH_NOTIFICATION, probe_birth(_schemes(mappings)))
    except (KeyError, TypeError, ValueError) as exc:  # e.g. two fields sent to one element
        raise ConfigurationError(f"{where} cannot render a birth: {exc!r}") from exc
    found = [
        *(Problem(p.location, f"STU3: {p.message}") for p in stu3_problems(bundle)),
        *(
            Problem(p.location, f"compiled schema: {p.message}")
            for p in schema.problems(BIRTH_NOTIFICATION, bundle)
        ),
        *(
            Problem(p.location, f"OpenCRVS profile: {p.message}")
            for p in profile.check_birth_notification(bundle)
        ),
    ]
    if found:
        listed = "; ".join(f"{p.location}: {p.message}" for p in found)
        raise ConfigurationError(
            f"{where} renders a bundle the gateway may not send: {listed}", found
        )
