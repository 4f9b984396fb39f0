"""An example of every success answer, by its schema's name.

Written out, not captured, so the document does not change from run to run; the tests check
each against its schema, so an example cannot drift from what it illustrates.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from gateway.api.openapi.refusals import SCHEMAS
from gateway.referrals.guide import from_yaml

EXCHANGE_ID = "6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37"
_CATEGORIES = ["birth", "family", "identifiers", "identity", "nationality"]
_EXCHANGE_STATUS = {
    "exchange_id": EXCHANGE_ID,
    "recorded_at": "2026-12-01T18:26:13.366921Z",
    "source": "unhcr-progres",
    "destination": "crvs-national",
    "destination_jurisdiction": "KEN",
    "message_type": "birth-notification",
    "purpose": "birth-registration",
    "legal_basis": "consent",
    "decision": "allowed",
    "reasons": ["allowed"],
    "categories": _CATEGORIES,
    "subjects": ["ps_015f283b603414888b9729c01f364cbb", "ps_47b5838d4696d8ca152ad72d691647cb"],
    "policy_version": "sha256:9c0031148205fc3e",
    "policy_rule": "p, registration-authority, civil-registry, birth-notification, "
    "birth-registration, consent, identity|nationality|identifiers|family|birth",
    "mapping_version": "progres/birth-notification@1 -> opencrvs/birth-notification@1",
    "payload_digest": "7ff2a562242f0d2057a1e987c0429462ebec69b03c688b4e6cc989c8dda64e6c",
    "leaf_hash": "db2d69bc268aef771d72dbf66258b2084d62ab5518cd00abdb64c2988d545c93",
    "log_index": 41,
    "delivery": {
        "status": "delivered",
        "attempts": 1,
        "last_error": None,
        "delivered_at": "2026-12-01T18:26:13.512004Z",
        "next_attempt_at": None,
        "receipt": None,
    },
}
_EXCHANGE_STATUS_FIELDS = {  # a record's own fields: a log entry's content
    k: v
    for k, v in _EXCHANGE_STATUS.items()
    if k not in {"exchange_id", "leaf_hash", "log_index", "delivery"}
}
_SYSTEM = {
    "id": "crvs-national",
    "name": "National civil registry (OpenCRVS)",
    "adapter": "opencrvs",
    "endpoint": "https://crvs.example.go.ke/notification",
    "jurisdiction": "KEN",
    "has_outbound_token": True,
}
_CREDENTIAL = "gw_EXAMPLE-shown-once-at-registration-or-rotation"
_CONSENT = {
    "id": "05be38c0-1310-4d04-889e-caa2b0ec3e86",
    "subject": "ps_015f283b603414888b9729c01f364cbb",
    "recipient": "crvs-national",
    "purpose": "birth-registration",
    "categories": ["birth", "identity"],
    "granted_at": "2026-12-01T18:26:13.864670Z",
    "expires_at": None,
    "withdrawn_at": None,
    "granted_by": "subject",
    "guardian_relationship": None,
    "child_views_recorded": False,
    "exchanges": 1,
    "cancelled": [],
    "notices": [],
}
_DENIED_STATUS = {  # the data protection officer's views (gateway/api/dpo.py)
    **_EXCHANGE_STATUS,
    "destination": "embassy-ssd",
    "destination_jurisdiction": "SSD",
    "decision": "denied",
    "reasons": ["origin.risk_country"],
    "categories": [],
    "policy_rule": None,
    "payload_digest": None,
    "delivery": None,
}
_REGISTER_ENTRY = {
    "controller": "UNHCR Kenya, Kakuma operation",
    "recipient": "embassy-ssd-visas",
    "recipient_jurisdiction": "SSD",
    "third_country": "SSD",
    "purpose": "family-reunification",
    "legal_basis": "consent",
    "agreement": "mou-2026-04",
    "data_categories": ["identity", "family"],
    "count": 12,
    "first_transfer": "2026-11-02T08:14:51.210331Z",
    "last_transfer": "2026-11-29T16:03:12.774012Z",
    "rules": [
        "p, registration-authority, consular-registry, family-tracing, family-reunification, "
        "consent, identity|family"
    ],
    "retention": "exchange records (pseudonymised metadata) kept 3650 days "
    "(GATEWAY_EXCHANGE_RECORD_RETENTION_DAYS); message bodies erased once delivered",
}
_DENIAL_REPORT = {
    "since": "2026-11-01T00:00:00Z",
    "until": "2026-12-01T00:00:00Z",
    "total": 3,
    "by_reason": [
        {
            "reason": "origin.risk_country",
            "words": "the destination is controlled by a state where a subject is at risk",
            "count": 3,
        }
    ],
    "by_recipient": [{"recipient": "embassy-ssd", "count": 3}],
    "recent": [_DENIED_STATUS],
}
_APPROVAL = {  # the DPO's approval queue (gateway/api/approvals.py): one held, then rejected
    "exchange_id": EXCHANGE_ID,
    "state": "rejected",
    "why": "sensitive categories: specific_needs",
    "requested_at": "2026-12-01T18:26:13.366921Z",
    "decided_at": "2026-12-01T19:02:40.118230Z",
    "decided_by": "dpo",
    "reason": "the agreement does not cover specific needs",
    "exchange": {
        **_EXCHANGE_STATUS,
        "categories": [*_CATEGORIES, "specific_needs"],
        "log_index": None,
        "delivery": {
            "status": "rejected",
            "attempts": 0,
            "last_error": None,
            "delivered_at": None,
            "next_attempt_at": None,
            "receipt": None,
        },
    },
}
_LEAF = "b6a9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9"
_VERIFIER_KEY = "exchange-gateway.local/log+d079f80f+AbG3ex4jqbaxY2Um8mC8VKkQp1wEtF8mPh4Ykm2ob4tz"
# The sample guide shipped in policies/ (a fictional state, UTO), as the API answers it.
_GUIDE = from_yaml(files("policies").joinpath("reference-guide.yaml").read_bytes())
_ROUTED = {
    "kind": "asylum",
    "urgency": "priority",
    "authority": "uto-rsd",
    "outcome": "accepted",
    "exchange_id": EXCHANGE_ID,
    "reasons": [],
    "rules": ["asylum.fear", "priority.specific_needs"],
    "contact": None,
}
_INFORMED = {
    **_ROUTED,
    "kind": "unhcr",
    "urgency": "routine",
    "authority": "unhcr-uto",
    "outcome": "informed",
    "exchange_id": None,
    "rules": ["unhcr.inform"],
    "contact": {
        "name": "UNHCR office",
        "telephone": "+000 100 200",
        "hotline": None,
        "address": None,
        "hours": "Mon-Fri 09:00-17:00",
    },
}
SUCCESS_EXAMPLES: dict[str, Any] = {
    "PublishedGuide": {
        "guide": _GUIDE.model_dump(mode="json"),
        "digest": "3f4c9a0e5b6d7c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6",
        "published_at": "2026-12-01T18:26:13.512004Z",
    },
    "GuideVersion": {"version": _GUIDE.version, "effective_from": str(_GUIDE.effective_from)},
    "InterviewRouted": {
        "guide_version": _GUIDE.version,
        "replay": False,
        "referrals": [_ROUTED, _INFORMED],
        "rules": ["asylum.fear", "unhcr.inform", "priority.specific_needs"],
    },
    "SubscriptionOut": {
        "registry": "crvs-dci",
        "destination": "unhcr-progres",
        "message_type": "birth-registration-confirmation",
        "correlation_id": "8a1f6c2e-0d4b-4e7a-9c35-71b2d9e0f4a6",
        "subscribed_at": "2026-12-01T18:26:13.512004Z",
    },
    "DciAck": {
        "message": {
            "ack_status": "ACK",
            "timestamp": "2026-12-01T18:26:13.512004Z",
            "correlation_id": EXCHANGE_ID,
        }
    },
    "ExchangeAccepted": {
        "exchange_id": EXCHANGE_ID,
        "categories": _CATEGORIES,
        "replay": False,
        "status": "queued",
    },
    "ExchangeStatus": _EXCHANGE_STATUS,
    "ExchangePage": {"exchanges": [_EXCHANGE_STATUS], "next_cursor": "4711"},
    "SystemOut": _SYSTEM,
    "SystemRegistered": {**_SYSTEM, "credential": _CREDENTIAL},
    "Credential": {"system_id": "crvs-national", "credential": _CREDENTIAL},
    "ConsentOut": _CONSENT,
    "Health": {"status": "ok", "outbox": {"pending": 1, "delivered": 5120, "dead": 0}},
    "RegisterEntry": _REGISTER_ENTRY,
    "DenialReport": _DENIAL_REPORT,
    "LogEntries": {
        "entries": [{"index": 41, "leaf_hash": _LEAF, "entry": {"v": 1, **_EXCHANGE_STATUS_FIELDS}}]
    },
    "InclusionProof": {
        "index": 41,
        "tree_size": 1234,
        "leaf_hash": _LEAF,
        "audit_path": [_LEAF[::-1], _LEAF],
    },
    "ConsistencyProof": {"old_size": 1000, "new_size": 1234, "proof": [_LEAF, _LEAF[::-1]]},
    "VerifierKeys": {"keys": [_VERIFIER_KEY]},
    "ApprovalOut": _APPROVAL,
    "ApprovalPage": {"approvals": [_APPROVAL], "next_cursor": None},
    "TransferCount": {"bucket_start": "2026-11-30", "recipient": "crvs-national", "count": 41},
    "AgreementOut": {
        "id": "birth-registration",
        "version": 1,
        "citation": "birth-registration@v1",
        "title": "Birth registration of children born to refugees and asylum-seekers",
        "parties": ["civil-registry", "registration-authority"],
        "purposes": ["birth-registration"],
        "categories": ["birth", "family", "identifiers", "identity", "nationality"],
        "legal_bases": ["consent", "public-interest"],
        "valid_from": "2024-01-01",
        "valid_until": None,
        "onward_transfer": "forbidden",
        "dpo_approval": False,
        "origin_exceptions": [],
        "in_force": True,
    },
    "PolicyExplanation": {
        "allowed": False,
        "reasons": ["origin.risk_country"],
        "meanings": {
            "origin.risk_country": "the destination is controlled by a state where a subject "
            "is at risk"
        },
        "categories": [],
        "rule": None,
        "agreement": None,
        "approval": None,
        "policy_version": "sha256:2c13cd6db806fb28",
        "trace": [
            {
                "stage": "origin",
                "rule": "no record goes to a state where its subject is at risk",
                "outcome": "deny",
                "detail": "subject ps_015f283b603414888b9729c01f364cbb: embassy-ssd is "
                "controlled by SSD, one of the subject's risk countries",
            }
        ],
    },
}


def add_success_examples(operation: dict[str, Any]) -> None:
    """Give each success answer the example of its schema (or a list of one, for a list)."""
    for status, response in operation["responses"].items():
        if not status.startswith("2"):
            continue
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            if "$ref" in schema:
                example = SUCCESS_EXAMPLES.get(schema["$ref"].removeprefix(SCHEMAS))
            elif "$ref" in schema.get("items", {}):
                item = SUCCESS_EXAMPLES.get(schema["items"]["$ref"].removeprefix(SCHEMAS))
                example = None if item is None else [item]
            else:
                example = None
            if example is not None and "example" not in media and "examples" not in media:
                media["example"] = example
