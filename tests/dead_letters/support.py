"""Making dead letters as the relay makes them, and reading what the store holds of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from gateway.audit.service import Reader
from gateway.delivery.repository import DEAD
from gateway.runtime import Runtime
from gateway.store.models import DeadLetterAction, OutboxMessage
from tests.delivery.servers import Destination
from tests.delivery.support import BODY, outbox_row, queue

ADMIN = Reader(role="admin")
DPO = Reader(role="dpo")
SYSTEM = Reader(role="system", system_id="src")


class Letters:
    """Dead letters to one destination (system id `dst`), made by the runtime's relay."""

    def __init__(
        self, runtime: Runtime, destination: Destination, clock: Callable[[], dt.datetime]
    ) -> None:
        self.runtime = runtime
        self.destination = destination
        self.clock = clock

    def queued(self, body: bytes = BODY, to: str = "dst") -> str:
        """Queue a message, as the pipeline does; return its exchange id."""
        return queue(self.runtime, self.destination.url, self.clock, destination=to, body=body)

    def dead(self, body: bytes = BODY, to: str = "dst") -> str:
        """Queue a message and let the relay try it: the destination refuses it for good."""
        status, self.destination.status = self.destination.status, 400
        try:
            exchange_id = self.queued(body, to)
            self.runtime.relay.drain()
        finally:
            self.destination.status = status
        assert outbox_row(self.runtime, exchange_id).status == DEAD
        return exchange_id


def actions(runtime: Runtime, exchange_id: str) -> list[tuple[str, str, str | None]]:
    """Return the actions recorded on an exchange's dead letter: (action, actor, reason)."""
    with runtime.db.reading() as session:
        rows = session.execute(
            select(DeadLetterAction.action, DeadLetterAction.actor, DeadLetterAction.reason)
            .where(DeadLetterAction.exchange_id == exchange_id)
            .order_by(DeadLetterAction.id)
        ).all()
    return [(action, actor, reason) for action, actor, reason in rows]


def statuses(runtime: Runtime) -> dict[str, str]:
    """Return every outbox row's state, by exchange id."""
    with runtime.db.reading() as session:
        rows = session.execute(select(OutboxMessage.exchange_id, OutboxMessage.status)).all()
    return {exchange_id: status for exchange_id, status in rows}
