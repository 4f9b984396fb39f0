"""The in-process relay: a thread that drains the outbox, woken at once by new exchanges."""

from __future__ import annotations

import logging
import threading

from gateway.delivery.outbox import OutboxRelay

log = logging.getLogger(__name__)


class BackgroundRelay:
    def __init__(self, relay: OutboxRelay, interval_seconds: float) -> None:
        self._relay = relay
        self._interval = interval_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

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
            try:
                while self._relay.drain() and not self._stop.is_set():
                    pass
            except Exception:  # the relay must outlive a database hiccup; rows stay pending
                log.exception("outbox drain failed; retrying")
            self._wake.wait(self._interval)
            self._wake.clear()
