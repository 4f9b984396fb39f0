"""An example of every success answer, by its schema's name.

Written out, not captured, so the document does not change from run to run; the tests check
each against its schema, so an example cannot drift from what it illustrates.
"""

from __future__ import annotations

from typing import Any

from gateway.api.openapi.refusals import SCHEMAS

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
    "delivery": {
        "status": "delivered",
        "attempts": 1,
        "last_error": None,
        "delivered_at": "2026-12-01T18:26:13.512004Z",
        "next_attempt_at": None,
    },
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
}
SUCCESS_EXAMPLES: dict[str, Any] = {
    "ExchangeAccepted": {"exchange_id": EXCHANGE_ID, "categories": _CATEGORIES, "replay": False},
    "ExchangeStatus": _EXCHANGE_STATUS,
    "ExchangePage": {"exchanges": [_EXCHANGE_STATUS], "next_cursor": "4711"},
    "SystemOut": _SYSTEM,
    "SystemRegistered": {**_SYSTEM, "credential": _CREDENTIAL},
    "Credential": {"system_id": "crvs-national", "credential": _CREDENTIAL},
    "ConsentOut": _CONSENT,
    "Health": {"status": "ok", "outbox": {"pending": 1, "delivered": 5120, "dead": 0}},
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
