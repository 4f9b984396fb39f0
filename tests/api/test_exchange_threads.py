"""How many exchanges run at once: one on SQLite (on the event loop), at most
GATEWAY_EXCHANGE_THREADS in worker threads on a database server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.pipeline import Accepted, Received
from gateway.store.prepared import TransactionFactory

THREADS = 2
CLIENTS = 8


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"exchange_threads": THREADS})


class Overlap:
    """Wraps the real pipeline's settle (its database part) and counts how many run at once."""

    def __init__(self, served: ServedGateway) -> None:
        self._settle = served.runtime.pipeline.settle
        self._lock = threading.Lock()
        self.running = self.most = 0
        served.runtime.pipeline.settle = self  # type: ignore[method-assign]

    def __call__(
        self, received: Received, transaction: TransactionFactory | None = None
    ) -> Accepted:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)  # long enough for every client's request to be waiting
            return self._settle(received, transaction)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def overlap(served: ServedGateway) -> Iterator[Overlap]:
    yield Overlap(served)


def test_exchanges_run_one_at_a_time_on_sqlite_and_at_most_the_limit_on_a_server(
    env: DemoEnvironment, served: ServedGateway, overlap: Overlap
) -> None:
    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = list(clients.map(lambda _: env.submit_birth(CIVIL_REGISTRY), range(CLIENTS)))
    assert [a.status_code for a in answers] == [202] * CLIENTS
    assert overlap.most == (1 if served.runtime.db.embedded else THREADS)
