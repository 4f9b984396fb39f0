"""What a destination's answer means for a message: delivered, try again later, or never.

Pure functions of the answer and the attempt count, so the rules are tested without a network.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

# 4xx answers that say "try later", not "never".
RETRYABLE_4XX = frozenset({408, 425, 429})
# Answers that ask the sender to slow down, and may say for how long (Retry-After).
SLOW_DOWN = frozenset({429, 503})
# The destination already applied a message under this idempotency key (our exchange id):
# an earlier send of ours got through, and only its answer was lost.
ALREADY_APPLIED = frozenset({409})


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base_seconds: float = 2.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> dt.timedelta:
        """Exponential backoff with equal jitter, so retries from many messages spread out.

        A destination's `Retry-After` is honoured as a floor, and the whole capped at the
        backoff maximum, so a destination cannot park a message for a year.
        """
        ceiling = min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds)
        seconds = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            seconds = min(max(seconds, retry_after), self.max_seconds)
        return dt.timedelta(seconds=seconds)

    def verdict(self, status: int | None, attempts: int) -> Verdict:
        """Judge an answer (None: not reached) after `attempts` attempts, this one included.

        Why a destination that cannot be reached never makes a dead letter: it is down, not
        refusing the message, and its messages wait, in order, for it to return (for hours if
        need be; the queue's depth and age are in /metrics and /health). A message that is
        answered with a failure, or whose sender dies with it, runs out of attempts.
        """
        if status is None:
            return Verdict.RETRY
        if 200 <= status < 300 or status in ALREADY_APPLIED:
            return Verdict.DELIVERED
        permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
        if permanent or attempts >= self.max_attempts:
            return Verdict.DEAD
        return Verdict.RETRY


def retry_after_seconds(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """Read `Retry-After` (seconds, or an HTTP date); None if absent or unreadable."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():  # str.isdigit takes "²", which float refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)
