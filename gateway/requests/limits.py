"""Each requesting party's rate of specific requests: a token bucket per system.

Why: a specific request is an individual case, not a search; a system asking about hundreds
of people a minute is searching, whatever each request says. Each system may make `burst`
requests at once, and one more every `60 / per_minute` seconds after that.

Every authenticated request takes a token before anything about it is read or decided, so
whether one is refused for its rate never depends on the person it names. Counts live in
each serving process, like the failed-authentication throttle (gateway/api/throttle.py): with
N processes a system may make up to N times as many. Memory is bounded by the number of
registered systems, since only an authenticated system is counted.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """A bucket of `burst` tokens per key, refilled at `per_minute` tokens a minute."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, key: str) -> int | None:
        """Take a token for `key`; return None if it had one, else whole seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
