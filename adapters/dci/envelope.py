"""The DCI message envelope: `{"signature", "header": {...}, "message": {...}}`.

Every DCI API call (search, subscribe, notify, their callbacks) travels in it (DCI CRVS API
v1.0.0, MsgHeader_V1.0.0). The gateway writes no signature and never encrypts: it and the
registry speak over TLS with the registry's bearer credential (a signing key is a deployment
decision the spec leaves open; see docs/dci.md). Each request gets fresh message, transaction
and reference ids, so a registry that deduplicates by message id never drops a new question.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from adapters.kit.jsonbody import load_object
from gateway.canonical.json import canonical_json
from gateway.errors import ParseError, TransportError

VERSION = "1.0.0"
LIVE_BIRTH = "spdci-common:RegistryEventType:LiveBirth"
CIVIL_REGISTRY = "ns:org:RegistryType:Civil"
PERSON_RECORD = "spdci-extensions-dci:Person"
LOCALE = "eng"
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_body(
    action: str,
    message: Mapping[str, Any],
    sender_id: str,
    receiver_id: str,
    now: dt.datetime,
    sender_uri: str | None = None,
) -> bytes:
    """Write a request envelope (one request in its batch) as canonical JSON bytes.

    `sender_uri` is where the registry calls back (a subscription's notify URL).
    """
    header: dict[str, Any] = {
        "version": VERSION,
        "message_id": str(uuid.uuid4()),
        "message_ts": now.isoformat(),
        "action": action,
        "sender_id": sender_id,
        "receiver_id": receiver_id,
        "total_count": 1,
        "is_msg_encrypted": False,
    }
    if sender_uri is not None:
        header["sender_uri"] = sender_uri
    return canonical_json({"header": header, "message": dict(message)})


def new_id() -> str:
    return str(uuid.uuid4())


def read_ack(system: str, status: int, body: bytes) -> str:
    """Read a registry's acknowledgement of an async request; return its correlation id.

    Why strict: an answer that is not ACK means the registry will never call back, and a
    subscription taken for granted would leave births unlinked without anyone knowing. An
    answer that cannot be read is the registry's failure (TransportError), not the caller's.
    """
    if status != 200:
        raise TransportError(f"{system} answered the request with status {status}")
    try:
        doc = load_object(body)
    except ParseError as exc:
        raise TransportError(f"{system} answered with no acknowledgement") from exc
    message = doc.get("message")
    if not isinstance(message, dict):
        raise TransportError(f"{system} answered with no acknowledgement")
    ack, correlation = message.get("ack_status"), message.get("correlation_id")
    if ack != "ACK":
        error = message.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        said = code if isinstance(code, str) and code.startswith("err.") else "no error code"
        raise TransportError(f"{system} did not acknowledge the request ({said[:64]})")
    if not isinstance(correlation, str) or not 0 < len(correlation) <= 99:
        raise TransportError(f"{system} acknowledged with no correlation id")
    return correlation
