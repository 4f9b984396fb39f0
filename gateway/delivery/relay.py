"""The in-process relay: a thread that drains the outbox, woken at once by new exchanges."""

from __future__ import annotations

import logging
import threading
import time

from gateway.delivery.outbox import OutboxRelay

log = logging.getLogger(__name__)

# How often, at most, SQLite's log is truncated after bodies were erased. Why not after each
# delivery: a truncating checkpoint copies the log into the database file and syncs it, a few
# milliseconds during which writers wait; once a second bounds that while erasing promptly.
COMPACT_EVERY_SECONDS = 1.0


class BackgroundRelay:
    """Claim and start sends until nothing more is due; sleep until woken or the interval ends.

    It never waits for a send: each destination's sends run in the relay's threads, and the
    end of one wakes this loop, so its destination's next messages are claimed at once.
    """

    def __init__(self, relay: OutboxRelay, interval_seconds: float) -> None:
        self._relay = relay
        self._interval = interval_seconds
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
        self._relay.close()

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
                if time.monotonic() - self._compacted >= COMPACT_EVERY_SECONDS:
                    self._compacted = time.monotonic()
                    self._relay.compact()
            except Exception:  # the relay must outlive a database hiccup; rows stay pending
                log.exception("outbox drain failed; retrying")
            self._wake.wait(self._interval)
