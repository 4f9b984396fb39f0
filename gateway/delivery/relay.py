"""The background loop of a serving process: drain the outbox, or publish tasks for workers.

Woken at once by each accepted exchange, and every interval in any case (a sweep): what a
wake missed, a retry that fell due, a task a broker lost, are all found by the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from gateway.delivery.outbox import Pass

log = logging.getLogger(__name__)

# How often, at most, SQLite's log is truncated after bodies were erased. Why not after each
# delivery: a truncating checkpoint copies the log into the database file and syncs it, a few
# milliseconds during which writers wait; once a second bounds that while erasing promptly.
COMPACT_EVERY_SECONDS = 1.0
# How often the housekeeping runs (erasing dead letters' bodies past their retention): at
# start, then hourly; the retention is counted in days.
HOUSEKEEPING_EVERY_SECONDS = 3600.0


class Dispatcher(Protocol):
    """What the loop drives: the in-process relay (OutboxRelay) or the task publisher."""

    def dispatch(self) -> Pass:
        """Start what is due now; say how much was claimed and the sends running."""
        ...

    def compact(self) -> None: ...


class BackgroundRelay:
    """Dispatch until nothing more is due; sleep until woken or the interval ends.

    It never waits for a send: each destination's sends run in the relay's threads, and the
    end of one wakes this loop, so its destination's next messages are claimed at once.
    """

    def __init__(
        self,
        relay: Dispatcher,
        interval_seconds: float,
        housekeeping: Callable[[], None] | None = None,
    ) -> None:
        self._relay = relay
        self._interval = interval_seconds
        self._housekeeping = housekeeping
        self._housekept = -HOUSEKEEPING_EVERY_SECONDS
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._compacted = 0.0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before claiming: a wake during the claim is not lost
            try:
                while not self._stop.is_set():
                    started = self._relay.dispatch()
                    for send in started.sends:
                        send.add_done_callback(lambda _: self.wake())
                    if not started.claimed:
                        break
                if self._housekeeping is not None and (
                    time.monotonic() - self._housekept >= HOUSEKEEPING_EVERY_SECONDS
                ):
                    self._housekept = time.monotonic()
                    self._housekeeping()
                if time.monotonic() - self._compacted >= COMPACT_EVERY_SECONDS:
                    self._compacted = time.monotonic()
                    self._relay.compact()
            except Exception:  # the loop must outlive a database or broker hiccup
                log.exception("outbox pass failed; retrying")
            self._wake.wait(self._interval)
