"""A destination's answer as its adapter reads it: delivered with a receipt, rejected, or later.

Without a reader (adapters/kit/contract.py, ResponseReader) the status alone decides
(retry.py). With one, the adapter reads the whole answer: a SOAP fault inside a 200 is a
rejection, a registration number in the body is the receipt. A reader that raises is a bug in
the adapter, and the message may or may not have been applied: it becomes a dead letter for
an operator to look at, never retried blindly and never called delivered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.kit.contract import Outcome, ResponseReader
from adapters.registry import AdapterRegistry
from gateway.delivery.retry import RetryPolicy, Verdict
from gateway.delivery.transport import Response

RECEIPT_CHARS = 128  # a reference is an identifier, never a document
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Judged:
    verdict: Verdict
    receipt: str | None = None
    error: str | None = None


def judge(
    adapters: AdapterRegistry | None,
    adapter: str,
    message_type: str,
    response: Response,
    attempts: int,
    retry: RetryPolicy,
) -> Judged | None:
    """Return the adapter's reading of an answer, or None when the status alone decides."""
    reader = adapters.get(adapter) if adapters is not None and adapter in adapters else None
    if not isinstance(reader, ResponseReader):
        return None
    try:
        receipt = reader.read_response(
            message_type, response.status, response.headers, response.body
        )
    except Exception:
        log.exception("adapter %s could not read an answer to %s", adapter, message_type)
        return Judged(Verdict.DEAD, error="answer_unreadable")
    if receipt.outcome is Outcome.DELIVERED:
        reference = receipt.reference[:RECEIPT_CHARS] if receipt.reference else None
        return Judged(Verdict.DELIVERED, receipt=reference)
    reason = (receipt.reason or "unspecified")[:RECEIPT_CHARS]
    if receipt.outcome is Outcome.REJECTED or attempts >= retry.max_attempts:
        return Judged(Verdict.DEAD, error=f"rejected: {reason}")
    return Judged(Verdict.RETRY, error=f"later: {reason}")
