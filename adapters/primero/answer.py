"""Read Primero's answer to a case creation: delivered (with the case id), refused, or retry.

Primero v2 answers POST /api/v2/cases with `200 {"data": {"id": ..., "case_id_display": ...}}`,
or `204` when the client chose the id; errors as `{"errors": [{"code", "resource", "message",
"detail"}]}` (doc/api/cases/post.md in primeroIMS/primero). Why read it at all: the case id
is how the sending side finds the child in Primero again, and a 422 must stop retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from adapters.kit.contract import Outcome, Receipt

_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_ANSWER = 64 * 1024
"""Bytes of an answer read at most: a case is small, and an answer is not ours to store."""


def read_case_answer(status: int, headers: Mapping[str, str], body: bytes) -> Receipt:
    """Return what Primero's answer to a case creation means for the delivery."""
    if status == 204:
        return Receipt(Outcome.DELIVERED)
    if 200 <= status < 300:
        data = _json(body).get("data")
        case_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(case_id, str) and _CASE_ID.match(case_id):
            return Receipt(Outcome.DELIVERED, reference=case_id)
        return Receipt(Outcome.DELIVERED, reason="primero.no_case_id")
    if status in (408, 425, 429) or status >= 500:
        return Receipt(Outcome.RETRY, reason=f"primero.{status}")
    return Receipt(Outcome.REJECTED, reason=_refusal(status, _json(body)))


def _json(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_ANSWER:
        return {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _refusal(status: int, doc: dict[str, Any]) -> str:
    """Say why Primero refused, naming the fields it names (its messages may echo values)."""
    errors = doc.get("errors")
    listed = errors[:20] if isinstance(errors, list) else []
    details = [e.get("detail") for e in listed if isinstance(e, dict)]
    fields = sorted({d for d in details if isinstance(d, str) and _FIELD.match(d)})[:5]
    return f"primero.{status}" + (f":{','.join(fields)}" if fields else "")
