"""What a scrape answers: every process's counts, and the outbox as the database has it now.

With PROMETHEUS_MULTIPROC_DIR set, the counts are read from every process's files there
(prometheus_client's MultiProcessCollector), so any serving process answers for them all;
without it, from this process alone. The outbox gauges are read at each scrape
(repository.py), the same whichever process answers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from gateway.metrics import events
from gateway.metrics.repository import AGED, WAITING, outbox
from gateway.store.db import Database

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""Prometheus's text format (the names are all of the classic alphabet, so any version reads it)."""


def exposition(db: Database, now: dt.datetime) -> bytes:
    """Return the metrics in Prometheus's text format."""
    registry = counts()
    registry.register(OutboxCollector(db, now))
    return generate_latest(registry)


def counts() -> CollectorRegistry:
    """Every process's counts (with a multiprocess directory), else this process's."""
    registry = CollectorRegistry()
    if events.MULTIPROCESS_DIR is not None:
        MultiProcessCollector(registry, path=events.MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    else:
        registry.register(events.PROCESS)
    return registry


class OutboxCollector(Collector):
    """The outbox's waiting messages and the oldest one's age, per destination, read now.

    If the database does not answer (or not within the query's time limit), the scrape still
    answers the counts, with `gateway_outbox_up` 0 and no outbox gauges.
    """

    def __init__(self, db: Database, now: dt.datetime) -> None:
        self.db = db
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "gateway_outbox_up", "1 if this scrape read the outbox, 0 if the database failed."
        )
        try:
            with self.db.reading() as session:
                found = outbox(session)
        except SQLAlchemyError as error:
            log.warning("metrics: the outbox could not be read (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        messages = GaugeMetricFamily(
            "gateway_outbox_messages",
            "Messages not delivered, by destination and status: pending (to be sent), "
            "awaiting-approval (held for the DPO), dead (given up).",
            labels=["destination", "status"],
        )
        oldest = GaugeMetricFamily(
            "gateway_outbox_oldest_age_seconds",
            "Seconds since the oldest pending or held message of a destination was accepted.",
            labels=["destination", "status"],
        )
        counted = {(w.destination, w.status): w for w in found.waiting}
        for destination, status in sorted(
            {*counted, *((d, s) for d in found.destinations for s in WAITING)}
        ):
            waiting = counted.get((destination, status))
            messages.add_metric([destination, status], 0 if waiting is None else waiting.messages)
            if waiting is not None and status in AGED:
                age = (self.now - waiting.oldest_accepted).total_seconds()
                oldest.add_metric([destination, status], max(age, 0.0))
        yield from (up, messages, oldest)
