"""An answer is sent only once what it acknowledges is committed (SQLite: by its batch)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.store.models import ExchangeRecord, OutboxMessage

CLIENTS = 6


def committed(served: ServedGateway, exchange_id: str) -> tuple[str | None, bool]:
    """Read as another connection would, without queueing behind the gateway's writers."""
    with served.runtime.db.engine.connect() as connection:
        decision = connection.scalar(
            select(ExchangeRecord.decision).where(ExchangeRecord.id == exchange_id)
        )
        queued = connection.scalar(
            select(OutboxMessage.id).where(OutboxMessage.exchange_id == exchange_id)
        )
    return decision, queued is not None


def test_every_answer_follows_the_commit_of_what_it_acknowledges(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    def submit_and_look(destination: str) -> tuple[int, tuple[str | None, bool]]:
        answer = env.submit_birth(destination)
        return answer.status_code, committed(served, answer.json()["exchange_id"])

    destinations = [CIVIL_REGISTRY, EMBASSY] * (CLIENTS // 2)
    with ThreadPoolExecutor(CLIENTS) as clients:  # concurrent, so commits are shared
        seen = list(clients.map(submit_and_look, destinations))
    accepted, denied = (202, ("allowed", True)), (403, ("denied", False))
    assert seen == [accepted, denied] * (CLIENTS // 2)
