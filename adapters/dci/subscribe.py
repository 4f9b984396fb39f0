"""Subscribe to a DCI civil registry's live births: the request, and reading its ACK.

    POST {endpoint}/registry/subscribe
    {"header": {"action": "subscribe", "sender_uri": <notify URL>, ...}, "message":
      {"transaction_id": ..., "subscribe_request": [{"reference_id": ..., "subscribe_criteria":
        {"reg_event_type": "spdci-common:RegistryEventType:LiveBirth", "filter": ...,
         "notify_record_type": "spdci-extensions-dci:Person"}}]}}

    200 {"message": {"ack_status": "ACK", "correlation_id": ..., ...}}

`filter` is required by the spec and its shape left to each registry: the gateway asks for
every live birth registered from now on (`registration_date ge <now>`); a registry that
filters by district is configured by a deployment's own adapter, not here.
"""

from __future__ import annotations

import datetime as dt

from adapters.dci.envelope import (
    CIVIL_REGISTRY,
    HEADERS,
    LIVE_BIRTH,
    LOCALE,
    PERSON_RECORD,
    new_id,
)
from adapters.dci.envelope import request_body as envelope_body
from adapters.kit.contract import FetchRequest

SUBSCRIBE_PATH = "registry/subscribe"


def subscribe_request(
    notify_url: str, sender_id: str, receiver_id: str, now: dt.datetime
) -> FetchRequest:
    """Return the subscription to live births, notified to `notify_url`."""
    criteria = {
        "version": "1.0.0",
        "reg_type": CIVIL_REGISTRY,
        "reg_event_type": LIVE_BIRTH,
        "filter_type": "predicate",
        "filter": [
            {
                "seq_num": 1,
                "expression1": {
                    "attribute_name": "registration_date",
                    "operator": "ge",
                    "attribute_value": now.date().isoformat(),
                },
            }
        ],
        "notify_record_type": PERSON_RECORD,
    }
    message = {
        "transaction_id": new_id(),
        "subscribe_request": [
            {
                "reference_id": new_id(),
                "timestamp": now.isoformat(),
                "subscribe_criteria": criteria,
                "locale": LOCALE,
            }
        ],
    }
    body = envelope_body("subscribe", message, sender_id, receiver_id, now, notify_url)
    return FetchRequest(SUBSCRIBE_PATH, body, HEADERS)
