"""Publish delivery tasks for workers: after each commit, and in a sweep every interval.

Why from the outbox and not from the request: the task is published only after the commit
that accepted the exchange, off the request path, so a broker that is down or slow never
delays or fails an answer; the exchange waits in the outbox and the next pass publishes it.
A pass asks the database which destinations have a message ready (due, unleased, not
behind an earlier one) and publishes one task for each; a destination published a moment
ago is not published again at once, so a burst of exchanges costs one task, not one each.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from celery import Celery

from gateway.delivery import lease
from gateway.delivery.outbox import Pass
from gateway.store.db import Database

log = logging.getLogger(__name__)

# A destination is published again no sooner than this after its last task, unless it stays
# ready (then the next sweep publishes it): a worker takes a task within milliseconds.
REPUBLISH_AFTER_SECONDS = 0.25
DESTINATIONS_A_PASS = 1000


class Publisher:
    def __init__(
        self, db: Database, app: Celery, task: str, clock: Callable[[], dt.datetime]
    ) -> None:
        self.db = db
        self.app = app
        self.task = task
        self.clock = clock
        self._published: dict[str, float] = {}

    def dispatch(self) -> Pass:
        """Publish a task for each destination with a ready message; claim nothing."""
        with self.db.reading() as session:
            ready = lease.ready_destinations(session, self.clock(), DESTINATIONS_A_PASS)
        now = time.monotonic()
        self._published = {
            d: at for d, at in self._published.items() if now - at < REPUBLISH_AFTER_SECONDS
        }
        for destination in ready:
            if destination in self._published:
                continue
            self.app.send_task(self.task, args=[destination], retry=False)
            self._published[destination] = now
        return Pass(0, [])

    def compact(self) -> None:
        """Nothing to compact: workers erase what they deliver."""
