"""The Celery task that delivers. Thin: it takes a destination id and drains its messages.

Why a task names a destination, not a message: the outbox is the queue of record and a
destination takes its messages in acceptance order, so a task says only "this destination
has messages ready". The claim gives each message to one sender, in order; a second task for
the same destination finds nothing to do, and a task the broker lost is published again by
the next sweep (gateway/delivery/publisher.py). Attempts are counted in the database, not
by the broker, which does not count redeliveries.
"""

from __future__ import annotations

import logging

from gateway.delivery.worker import DELIVER, app, worker_services

__all__ = ["app", "deliver"]

log = logging.getLogger(__name__)

MAX_DESTINATION_ID = 200  # longer than any system id: a hostile message, not ours


@app.task(name=DELIVER, ignore_result=True)  # type: ignore[untyped-decorator]
def deliver(destination: object) -> int:
    """Send `destination`'s ready messages in order; return how many were claimed."""
    if not isinstance(destination, str) or not 0 < len(destination) <= MAX_DESTINATION_ID:
        log.warning("a delivery task named no destination; dropped")
        return 0
    return worker_services().deliver(destination)
