"""The DPO's exports: CSV for a spreadsheet, FHIR AuditEvents for an audit repository.

CSV is RFC 4180 (UTF-8, CRLF, a header row). A cell a spreadsheet would run as a formula
(one starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe: the
export is opened by people, and a value in it must never run.

FHIR follows IHE Basic Audit Log Patterns (BALP, https://profiles.ihe.net/ITI/BALP/): an
allowed exchange is a Privacy Disclosure recorded at its source (the gateway discloses to
the recipient), a denied one an authorization decision (AuthZconsent, outcome failure). BALP
is written for FHIR R4, and R5 rebuilt AuditEvent (no outcomeDesc, entity.type or
agent.network), so the events are R4B's, which is R4's AuditEvent, and each bundle is
validated by fhir.resources' R4B models before it leaves. One event per subject: BALP keeps
one patient per AuditEvent. An invalid attempt decided nothing and disclosed nothing: BALP
has no pattern for it, and the FHIR export leaves it out (the CSV has it). Where the record
cannot say what a profile asks for, the event says less rather than something untrue
(docs/dpo.md lists where).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from gateway.audit.record import ALLOWED, DENIED
from gateway.audit.service import ExchangeStatus
from gateway.audit.views import RegisterEntry
from gateway.policy.reasons import in_words
from gateway.subjects import UNIDENTIFIED

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, CSV injection)."""

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
PRIVACY_DISCLOSURE = BALP + "IHE.BasicAudit.PrivacyDisclosure.Source"
AUTHZ_CONSENT = BALP + "IHE.BasicAudit.AuthZconsent"

_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_SCT = "http://snomed.info/sct"
_LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
_AUTHZ_SUBTYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"
_SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_URI = "5"  # AuditEvent.agent.network.type (R4): a URI
SYSTEM_IDS = "urn:exchange-gateway:system"
PSEUDONYMS = "urn:exchange-gateway:pseudonym"
PURPOSES = "urn:exchange-gateway:purpose"
_RFC_3986 = "urn:ietf:rfc:3986"
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:exchange-gateway:audit-event")
"""Each event's id is derived from its exchange and subject: the same in every export."""

EXCHANGE_COLUMNS = (
    "exchange_id",
    "recorded_at",
    "source",
    "destination",
    "destination_jurisdiction",
    "message_type",
    "purpose",
    "legal_basis",
    "decision",
    "reasons",
    "categories",
    "subjects",
    "policy_version",
    "policy_rule",
    "mapping_version",
    "payload_digest",
    "leaf_hash",
    "delivery_status",
    "delivery_attempts",
    "delivered_at",
)
REGISTER_COLUMNS = tuple(RegisterEntry.model_fields)  # one column per field, in order


# --- CSV -----------------------------------------------------------------------------------


def safe_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet runs: a would-be formula gets an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        text = _instant(value)
    elif isinstance(value, list | tuple):
        text = " ".join(str(item) for item in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, quoted as needed
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def exchanges_csv(exchanges: Iterable[ExchangeStatus]) -> str:
    """One row per exchange record; lists (reasons, categories, subjects) space-separated."""
    rows = []
    for e in exchanges:
        delivery = e.delivery
        rows.append(
            [
                *(getattr(e, name) for name in EXCHANGE_COLUMNS[:-3]),
                None if delivery is None else delivery.status,
                None if delivery is None else delivery.attempts,
                None if delivery is None else delivery.delivered_at,
            ]
        )
    return _csv(EXCHANGE_COLUMNS, rows)


def register_csv(entries: Iterable[RegisterEntry]) -> str:
    """One row per register line; the rules cited are separated by "; "."""
    rows = []
    for entry in entries:
        row: list[object] = [getattr(entry, name) for name in REGISTER_COLUMNS]
        row[REGISTER_COLUMNS.index("rules")] = "; ".join(entry.rules)
        rows.append(row)
    return _csv(REGISTER_COLUMNS, rows)


# --- FHIR ----------------------------------------------------------------------------------


def audit_bundle(
    exchanges: Iterable[ExchangeStatus],
    *,
    operator: str,
    now: dt.datetime,
    next_url: str | None = None,
) -> dict[str, Any]:
    """A collection Bundle of BALP AuditEvents for these exchanges, validated as FHIR R4B.

    `operator` names who runs the gateway (the controller); `next_url`, if the export was
    cut, where the next part is (a `next` link).
    """
    gateway = _Gateway(operator)
    events = [
        event
        for exchange in exchanges
        if exchange.decision in (ALLOWED, DENIED)
        for event in gateway.events(exchange)
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(now),
        "entry": [{"fullUrl": f"urn:uuid:{event['id']}", "resource": event} for event in events],
    }
    if next_url is not None:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    Bundle.model_validate(bundle)  # raises if any event is not a valid R4B AuditEvent
    return bundle


class _Gateway:
    """The gateway as the events name it: the audit source, and the party that discloses."""

    def __init__(self, operator: str) -> None:
        self.who = {"display": f"exchange gateway operated by {operator}"}
        self.network = {"address": "urn:exchange-gateway:gateway", "type": _URI}

    def events(self, exchange: ExchangeStatus) -> list[dict[str, Any]]:
        """One AuditEvent per subject of the exchange (one without a patient if it has none)."""
        subjects: list[str | None] = list(exchange.subjects) or [None]
        build = self._disclosure if exchange.decision == ALLOWED else self._denial
        return [build(exchange, subject) for subject in subjects]

    def _disclosure(self, exchange: ExchangeStatus, subject: str | None) -> dict[str, Any]:
        """BALP PrivacyDisclosure.Source: the gateway disclosed records to the recipient."""
        outcome, described = _delivery_outcome(exchange)
        gateway_agent: dict[str, Any] = {
            "type": _concept(_DCM, "110153", "Source Role ID"),
            "who": self.who,  # the audit source itself (BALP val-audit-source)
            "requestor": False,
            "network": self.network,
        }
        if exchange.policy_version:
            gateway_agent["policy"] = [f"urn:exchange-gateway:policy:{exchange.policy_version}"]
        data = {
            "what": {
                "identifier": {"system": _RFC_3986, "value": f"urn:uuid:{exchange.exchange_id}"}
            },
            "type": _coding(_ENTITY_TYPE, "2", "System Object"),
            "role": _coding(_OBJECT_ROLE, "3", "Report"),
            "description": f"{exchange.message_type} sent to {exchange.destination}",
            "detail": _details(exchange),
        }
        return self._event(
            exchange,
            subject,
            profile=PRIVACY_DISCLOSURE,
            type_=_coding(_DCM, "110106", "Export"),
            subtype=_coding(_LIFECYCLE, "disclose", "Disclose Record Lifecycle Event"),
            action="R",
            outcome=outcome,
            outcome_desc=described,
            source_type=_coding(_SOURCE_TYPE, "4", "Application Server"),
            agents=[
                gateway_agent,
                {
                    "type": _concept(_DCM, "110152", "Destination Role ID"),
                    "who": _system(exchange.destination),
                    "requestor": False,
                    "network": _network(exchange.destination),
                },
                {  # the custodian that released the records, which asked for the exchange
                    "type": _concept(_SCT, "159541003", "Record keeping/library clerk"),
                    "who": _system(exchange.source),
                    "requestor": True,
                },
            ],
            entities=[*_patient(subject, []), data],
        )

    def _denial(self, exchange: ExchangeStatus, subject: str | None) -> dict[str, Any]:
        """BALP AuthZconsent: the gateway, deciding by its rules and consent, refused."""
        reasons = "; ".join(f"{r} ({in_words(r)})" for r in exchange.reasons)
        return self._event(
            exchange,
            subject,
            profile=AUTHZ_CONSENT,
            type_=_coding(_DCM, "110113", "Security Alert"),
            subtype=_coding(
                _AUTHZ_SUBTYPE, "AuthZ-Consent", "Authorization Decision using Roles and Consent"
            ),
            action="E",
            outcome="8",  # serious failure: what BALP's example of a denial records
            outcome_desc=f"denied: {reasons}" if reasons else "denied",
            source_type=_coding(_SOURCE_TYPE, "6", "Security Server"),
            agents=[
                {
                    "type": _concept(_SECURITY_ROLE, "authserver", "authorization server"),
                    "who": self.who,  # the audit source itself (BALP val-audit-source)
                    "requestor": False,
                },
                {  # the system that asked to disclose
                    "type": _concept(_DCM, "110150", "Application"),
                    "who": _system(exchange.source),
                    "requestor": True,
                    "network": _network(exchange.source),
                },
                {  # the recipient refused; it asked for nothing (push), so not the requestor
                    "type": _concept(_PARTICIPATION, "IRCP", "information recipient"),
                    "who": _system(exchange.destination),
                    "requestor": False,
                },
            ],
            # BALP closes AuthZconsent's entities to patient, consent and token: the
            # exchange's details go with the patient.
            entities=_patient(subject, _details(exchange)),
        )

    def _event(
        self,
        exchange: ExchangeStatus,
        subject: str | None,
        *,
        profile: str,
        type_: dict[str, str],
        subtype: dict[str, str],
        action: str,
        outcome: str,
        outcome_desc: str,
        source_type: dict[str, str],
        agents: list[dict[str, Any]],
        entities: list[dict[str, Any]],
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": str(uuid.uuid5(_EVENT_IDS, f"{exchange.exchange_id}/{subject or ''}")),
            "meta": {"profile": [profile]},
            "type": type_,
            "subtype": [subtype],
            "action": action,
            "recorded": _instant(exchange.recorded_at),
            "outcome": outcome,
            "outcomeDesc": outcome_desc,
            "source": {"observer": self.who, "type": [source_type]},
            "agent": agents,
            "entity": entities,
        }
        if exchange.purpose:
            event["purposeOfEvent"] = [{"coding": [{"system": PURPOSES, "code": exchange.purpose}]}]
        return event


def _delivery_outcome(exchange: ExchangeStatus) -> tuple[str, str]:
    """The outcome of a disclosure: done, under way, or given up (a dead letter)."""
    delivery = exchange.delivery
    if delivery is None:
        return "0", "allowed"
    if delivery.status == "delivered":
        when = "" if delivery.delivered_at is None else f" at {_instant(delivery.delivered_at)}"
        return "0", f"allowed and delivered{when}"
    if delivery.status == "dead":
        return "8", f"allowed, but delivery was given up after {delivery.attempts} attempts"
    return "0", f"allowed; delivery pending ({delivery.attempts} attempts so far)"


def _patient(subject: str | None, details: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The subject as BALP's patient entity, known by its pseudonym only."""
    if subject is None:
        return []
    what: dict[str, Any] = {"type": "Patient"}
    if subject == UNIDENTIFIED:
        what["display"] = "a person the message gave no identifier for"
    else:
        what["identifier"] = {"system": PSEUDONYMS, "value": subject}
    entity: dict[str, Any] = {
        "what": what,
        "type": _coding(_ENTITY_TYPE, "1", "Person"),
        "role": _coding(_OBJECT_ROLE, "1", "Patient"),
    }
    if details:
        entity["detail"] = details
    return [entity]


def _details(exchange: ExchangeStatus) -> list[dict[str, str]]:
    """What the record says of the exchange, as entity details (type, value)."""
    found = {
        "exchange-id": exchange.exchange_id,
        "message-type": exchange.message_type,
        "legal-basis": exchange.legal_basis,
        "destination-jurisdiction": exchange.destination_jurisdiction,
        "data-categories": " ".join(exchange.categories) or None,
        "reasons": " ".join(exchange.reasons) if exchange.decision == DENIED else None,
        "policy-version": exchange.policy_version,
        "policy-rule": exchange.policy_rule,
        "mapping-version": exchange.mapping_version,
        "payload-digest": exchange.payload_digest,
        "leaf-hash": exchange.leaf_hash,
    }
    return [{"type": name, "valueString": value} for name, value in found.items() if value]


def _system(system_id: str | None) -> dict[str, Any]:
    if system_id is None:
        return {"display": "no system named"}
    return {
        "type": "Device",
        "identifier": {"system": SYSTEM_IDS, "value": system_id},
        "display": system_id,
    }


def _network(system_id: str | None) -> dict[str, str]:
    """A system's network access point as a URI: the record keeps the system, not its address
    (which may have moved since), so the system's id stands for it."""
    return {"address": f"{SYSTEM_IDS}:{system_id or 'unknown'}", "type": _URI}


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _instant(moment: dt.datetime) -> str:
    """An instant in UTC, as FHIR and the JSON answers write it."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
