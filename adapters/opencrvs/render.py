"""Render canonical payloads for OpenCRVS: a BirthEvent as an Event Notification (FHIR STU3
document), a ConsentWithdrawal as an inactive STU3 Consent.

The body is what OpenCRVS's `POST /notification` accepts (its Postman "Create Birth
Notification" samples), made strictly valid STU3: the Composition has an author (an
Organization entry for the gateway) and nothing is empty. Every rendered bundle is checked
before it leaves against the compiled schema of exactly what this adapter sends
(schemas/birth-notification.schema.json: strict STU3, proved no looser than fhir.resources'
STU3 models) and against the OpenCRVS profile.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.kit.mapping import MappingSet
from adapters.opencrvs import profile, schema
from adapters.opencrvs.ids import Ids
from adapters.opencrvs.profile import (
    BIRTH_NOTIFICATION,
    CHILD,
    ENCOUNTER,
    FATHER,
    INFORMANT,
    MOTHER,
)
from adapters.opencrvs.resources import Writer
from gateway.canonical import CONSENT_WITHDRAWAL, BirthEvent, ConsentWithdrawal, Relationship
from gateway.canonical.json import canonical_json
from gateway.errors import ConfigurationError, GatewayError, Problem

GATEWAY_NAME = "Exchange gateway"
CONTACT_PERSON = "http://opencrvs.org/specs/extension/contact-person"
RFC_3986 = "urn:ietf:rfc:3986"
SECTION_TITLES = {
    CHILD: "Child details",
    ENCOUNTER: "Birth encounter",
    MOTHER: "Mother's details",
    INFORMANT: "Informant's details",
    FATHER: "Father's details",
}


def _concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        concept["text"] = text
    return concept


def _section(code: str, url: str) -> dict[str, Any]:
    title = SECTION_TITLES[code]
    return {
        "title": title,
        "code": _concept(profile.SECTIONS, code, title),
        "entry": [{"reference": url}],
    }


def bundle(writer: Writer, birth: BirthEvent) -> dict[str, Any]:
    """Return the notification bundle as JSON-ready data."""
    ids = Ids(birth)
    # Why the birth date and not the clock: the same payload must give the same bytes.
    instant = f"{birth.date.isoformat()}T00:00:00Z"
    urls = {
        role: ids.urn(role)
        for role in ("composition", "task", "author", "location", *SECTION_TITLES)
    }
    entries: dict[str, dict[str, Any]] = {CHILD: writer.patient(birth.child, birth)}
    parents = [
        (MOTHER, Relationship.MOTHER, birth.mother),
        (FATHER, Relationship.FATHER, birth.father),
    ]
    for section, _, person in parents:
        if person is not None:
            entries[section] = writer.patient(person)
    # The mother informs when she is named (as in OpenCRVS's samples), else the father.
    section, informant_role, _ = next(p for p in parents if p[2] is not None)
    entries[INFORMANT] = writer.informant(informant_role, urls[section])
    entries[ENCOUNTER] = writer.encounter(birth, urls[CHILD], urls["location"])
    composition = {
        "resourceType": "Composition",
        "identifier": {"system": RFC_3986, "value": urls["composition"]},
        "status": "final",
        "type": _concept(profile.DOC_TYPES, profile.BIRTH_NOTIFICATION, "Birth Notification"),
        "class": _concept(profile.DOC_CLASSES, "crvs-document", "CRVS Document"),
        "subject": {"reference": urls[CHILD]},
        "date": instant,
        "author": [{"reference": urls["author"]}],
        "title": "Birth Notification",
        "section": [_section(code, urls[code]) for code in SECTION_TITLES if code in entries],
    }
    task = {
        "resourceType": "Task",
        "status": "draft",
        "intent": "proposal",
        "code": _concept(profile.TASK_TYPES, "BIRTH"),
        "focus": {"reference": urls["composition"]},
        "extension": [{"url": CONTACT_PERSON, "valueString": writer.relationship(informant_role)}],
    }
    resources = [
        (urls["composition"], composition),
        (urls["task"], task),
        *((urls[code], entries[code]) for code in SECTION_TITLES if code in entries),
        (urls["location"], writer.location(birth)),
        (urls["author"], {"resourceType": "Organization", "active": True, "name": GATEWAY_NAME}),
    ]
    return {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": RFC_3986, "value": ids.urn("bundle")},
        "meta": {"lastUpdated": instant},
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in resources],
    }


def notification_problems(bundle: dict[str, Any]) -> list[Problem]:
    """Return every way a bundle is not strict STU3 (the compiled schema) or not the profile."""
    return schema.problems(BIRTH_NOTIFICATION, bundle) + profile.check_birth_notification(bundle)


def render(writer: Writer, birth: BirthEvent) -> bytes:
    """Return the notification's bytes, checked against strict STU3 and the OpenCRVS profile."""
    checked = bundle(writer, birth)
    problems = notification_problems(checked)
    if problems:  # a bug in this adapter or its spec, never the sender's fault
        raise GatewayError("rendered OpenCRVS birth notification is invalid", problems)
    return canonical_json(checked)


def build_bundle(mappings: MappingSet, spec_name: str, birth: BirthEvent) -> dict[str, Any]:
    """Return one bundle through a spec: for the start-up probe; the adapter keeps a Writer."""
    return bundle(Writer(mappings, mappings.spec(spec_name)), birth)


# The Consent's shape is STU3's: each canonical field has one place in it.
WITHDRAWAL_NATIVES = {
    "withdrawal.consent_id": "Consent.identifier.value",
    "withdrawal.exchange_ids": "Consent.data.reference",
    "withdrawal.withdrawn_at": "Consent.dateTime",
}
OPT_IN = "http://hl7.org/fhir/ConsentPolicy/opt-in"
# STU3 requires a patient; the notice names nobody, so the reference is a display only.
NOBODY_NAMED = "the person who gave this consent (not named: see the exchanges in data)"


def check_withdrawal_spec(mappings: MappingSet) -> None:
    """Fail at start-up if the spec puts a field anywhere but its place in an STU3 Consent."""
    mapped = {f.canonical: f.native for f in mappings.spec(CONSENT_WITHDRAWAL).fields}
    misplaced = sorted(f"{c} -> {n}" for c, n in mapped.items() if WITHDRAWAL_NATIVES.get(c) != n)
    if misplaced:
        raise ConfigurationError(
            f"mapping spec {mappings.adapter}/{CONSENT_WITHDRAWAL} maps fields an STU3 Consent "
            f"holds elsewhere: {'; '.join(misplaced)}"
        )


def consent_withdrawal(withdrawal: ConsentWithdrawal) -> dict[str, Any]:
    """Return the inactive Consent as JSON-ready data: its bytes depend only on the notice."""
    at = withdrawal.withdrawn_at.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    return {
        "resourceType": "Consent",
        "identifier": _urn(withdrawal.consent_id),
        "status": "inactive",
        "patient": {"display": NOBODY_NAMED},
        "dateTime": at.isoformat() + "Z",
        "policyRule": OPT_IN,
        "data": [
            {"meaning": "instance", "reference": {"identifier": _urn(exchange_id)}}
            for exchange_id in withdrawal.exchange_ids
        ],
    }


def render_withdrawal(withdrawal: ConsentWithdrawal) -> bytes:
    """Return the Consent's bytes, checked against the schema of exactly what is sent."""
    resource = consent_withdrawal(withdrawal)
    problems = schema.problems(CONSENT_WITHDRAWAL, resource)
    if problems:  # a bug in this adapter, never the caller's fault
        raise GatewayError("rendered OpenCRVS consent withdrawal is invalid", problems)
    return canonical_json(resource)


def _urn(gateway_id: str) -> dict[str, str]:
    return {"system": RFC_3986, "value": f"urn:uuid:{gateway_id}"}
