"""Several serving processes, one PROMETHEUS_MULTIPROC_DIR: each scrape sums them all.

Two `gateway serve` processes on one database, as two nodes of a deployment on one host; each
counts what it answered, and either one's /metrics answers for both.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, DemoEnvironment, birth_notification, wait_for
from gateway.metrics.events import MULTIPROCESS_VARIABLE
from gateway.runtime import Runtime
from tests.fixtures.network import free_port
from tests.fixtures.postgres import own_database
from tests.fixtures.serving import GATEWAY, as_variables, is_up
from tests.metrics.support import count, scrape, value


@dataclass(frozen=True)
class Served:
    env: DemoEnvironment
    urls: list[str]
    pids: list[int]
    metrics_dir: Path
    admin_token: str


@pytest.fixture
def two_processes(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    """Two serving processes sharing a database and a metrics directory (made at start-up)."""
    metrics_dir = tmp_path / "metrics"
    with own_database() as url:
        settings = settings.model_copy(update={"database_url": url})
        ports = [free_port(), free_port()]
        runtime = Runtime.build(settings)  # migrated and registered before either starts
        env = DemoEnvironment.start(runtime, f"http://127.0.0.1:{ports[0]}")
        admin_token = settings.resolved_admin_token()
        runtime.close()
        variables = {**as_variables(settings), MULTIPROCESS_VARIABLE: str(metrics_dir)}
        servers = [
            subprocess.Popen([GATEWAY, "serve", "--port", str(port)], env=variables)
            for port in ports
        ]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            started = wait_for(lambda: all(is_up(url) for url in urls), seconds=90)
            assert started, "the gateways did not start"
            yield Served(env, urls, [s.pid for s in servers], metrics_dir, admin_token)
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
            for server in servers:
                assert server.wait(timeout=60) is not None
            env.stop()


def test_each_process_answers_for_the_counts_of_all(two_processes: Served) -> None:
    served = two_processes
    first, second = served.urls
    assert served.env.submit_birth(CIVIL_REGISTRY).status_code == 202  # answered by the first
    denied = httpx.post(
        f"{second}/exchanges",
        content=birth_notification(),
        headers=served.env.birth_headers(EMBASSY),
        timeout=30,
    )
    assert denied.status_code == 403

    for url in (first, second):
        samples = scrape(url, served.admin_token)
        exchanges = [
            count(samples, "gateway_exchanges_total", decision=d) for d in ("allowed", "denied")
        ]
        assert exchanges == [1, 1], url
        timed = [count(samples, "gateway_exchange_seconds_count", status=s) for s in ("202", "403")]
        assert timed == [1, 1], url
        denied_for = {"decision": "denied", "reason": "origin.risk_country"}
        assert count(samples, "gateway_exchange_reasons_total", **denied_for) == 1
        queued = {"destination": CIVIL_REGISTRY, "status": "pending"}
        assert value(samples, "gateway_outbox_messages", **queued) == 1
    # Each serving process kept its counts in files of its own there.
    files = os.listdir(served.metrics_dir)
    counted_by = {name.split("_")[-1].removesuffix(".db") for name in files}
    assert {str(pid) for pid in served.pids} <= counted_by
