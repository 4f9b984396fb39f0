"""Deliveries per second, and exchanges per second end to end, with Celery workers.

1. Deliveries/s of one worker process (`gateway worker --pool threads`) to a receiver on
   127.0.0.1 (bench/receiver.py), messages queued in PostgreSQL beforehand, next to the bare
   rate of an httpx client posting the same bodies to the same receiver at the same
   concurrency (the ceiling: what HTTP alone costs) and to the in-process relay draining the
   same outbox on SQLite (the embedded default). The rate is read from the delivery times
   the database recorded, so the workers' start-up is not counted.
2. Exchanges/s end to end (submitted over HTTP, decided, recorded, queued, delivered): two
   API processes and two workers on PostgreSQL, next to one process on SQLite with its
   in-process relay, in the same run and with the same clients.

The goal (>= 2,000 deliveries/s) is a figure in the summary, not the exit status.

Usage: python -m bench.delivery [--messages N] [--destinations D] [--exchanges E]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from bench.birth_flow import free_port, wait_until_up
from bench.scratch_database import scratch_database
from gateway import systems
from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import ALLOWED
from gateway.config import Settings
from gateway.delivery.bodies import sealed_columns
from gateway.delivery.repository import DELIVERED, PENDING
from gateway.delivery.transport import HttpTransport
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification
from gateway.ids import new_id
from gateway.runtime import Runtime
from gateway.store.group import Batch
from gateway.store.models import OutboxMessage
from gateway.systems import SystemSpec

GOAL = 2000.0
BROKER = "redis://127.0.0.1:6379/9"
BODY = b'{"resourceType": "Bundle", "type": "message", "entry": []}' + b" " * 1500
GATEWAY = str(Path(sys.executable).with_name("gateway"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def receiver() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.receiver", str(port)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def variables(settings: Settings) -> dict[str, str]:
    found = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    for name in ("data_dir", "database_url", "relay_interval_seconds", "log_level"):
        value = getattr(settings, name)
        if value is not None:
            found[f"GATEWAY_{name.upper()}"] = str(value)
    if settings.broker_url is not None:
        found["GATEWAY_BROKER_URL"] = settings.broker_url.get_secret_value()
    return found


def queue_messages(runtime: Runtime, url: str, destinations: int, count: int) -> None:
    """Queue `count` accepted exchanges over `destinations`, 1,000 to a transaction."""
    with runtime.db.unit_of_work() as session:
        for d in range(destinations):
            spec = SystemSpec(
                id=f"dst{d}",
                name="Receiver",
                adapter="opencrvs",
                endpoint=f"{url}/d{d}",
                jurisdiction="KEN",
            )
            systems.register(session, spec, runtime.sealer)
    for start in range(0, count, 1000):
        with runtime.db.unit_of_work() as session:
            records = [
                audit_record.build(
                    exchange_id=new_id(),
                    recorded_at=now(),
                    source="src",
                    request_digest=None,
                    decision=ALLOWED,
                    reasons=["allowed"],
                )
                for _ in range(min(1000, count - start))
            ]
            batch = Batch(session.connection())
            for record in records:
                batch.defer(*audit_log.writes(record))
            batch.write()
            session.add_all(
                OutboxMessage(
                    exchange_id=record.id,
                    destination=f"dst{(start + i) % destinations}",
                    **sealed_columns(runtime.bodies, record.id, BODY),
                    content_type="application/fhir+json",
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now(),
                )
                for i, record in enumerate(records)
            )


def delivered(runtime: Runtime) -> tuple[int, float]:
    """How many were delivered, and over how many seconds (first to last delivery)."""
    with runtime.db.reading() as session:
        count, first, last = session.execute(
            select(
                func.count(),
                func.min(OutboxMessage.delivered_at),
                func.max(OutboxMessage.delivered_at),
            ).where(OutboxMessage.status == DELIVERED)
        ).one()
    return count, (last - first).total_seconds() if count > 1 else 0.0


def wait_delivered(runtime: Runtime, count: int, seconds: float = 600) -> float:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, span = delivered(runtime)
        if done >= count:
            return span
        time.sleep(0.2)
    raise SystemExit(f"only {delivered(runtime)[0]} of {count} delivered in {seconds:g} s")


def bare_rate(url: str, destinations: int, count: int, client: str) -> float:
    """POST the same body to the receiver from `destinations` threads, one after another each,
    with the gateway's own transport (the ceiling of a delivery) or with httpx (for scale)."""
    per_client = count // destinations
    transport = HttpTransport(10.0, connections=destinations)
    shared = httpx.Client(timeout=10)

    def run(d: int) -> None:
        for _ in range(per_client):
            headers = {"Idempotency-Key": new_id()}
            if client == "httpx":
                shared.post(f"{url}/d{d}", content=BODY, headers=headers)
            else:
                transport.post(f"{url}/d{d}", BODY, headers)

    started = time.perf_counter()
    with ThreadPoolExecutor(destinations) as pool:
        list(pool.map(run, range(destinations)))
    elapsed = time.perf_counter() - started
    transport.close()
    shared.close()
    return per_client * destinations / elapsed


def worker_rate(url: str, args: argparse.Namespace, pool: list[str]) -> float:
    with scratch_database() as database_url, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            broker_url=SecretStr(BROKER),
            relay_interval_seconds=0.2,
            log_level="warning",
        )
        runtime = Runtime.build(settings)
        queue_messages(runtime, url, args.destinations, args.messages)
        from celery import Celery

        Celery(broker=BROKER, set_as_current=False).control.purge()
        worker = subprocess.Popen(
            [GATEWAY, "worker", *pool],
            env=variables(settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            span = wait_delivered(runtime, args.messages)
        finally:
            worker.terminate()
            worker.wait()
            runtime.close()
    return args.messages / span


def relay_rate(url: str, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), delivery_threads=args.destinations, log_level="warning"
        )
        runtime = Runtime.build(settings)
        queue_messages(runtime, url, args.destinations, args.messages)
        runtime.start_relay()
        try:
            span = wait_delivered(runtime, args.messages)
        finally:
            runtime.close()
    return args.messages / span


def end_to_end(
    url: str, database_url: str | None, api: int, workers: int, args: argparse.Namespace
) -> float:
    """Submit births over HTTP; return exchanges/s, first submission to last delivery."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = SecretStr(BROKER) if workers else None
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            broker_url=broker,
            relay_interval_seconds=0.2,
            log_level="warning",
        )
        port = free_port()
        runtime = Runtime.build(settings)
        env = DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
        with runtime.db.unit_of_work() as session:
            systems.move(session, CIVIL_REGISTRY, f"{url}/registry")
        environment = {**variables(settings), "GATEWAY_WORKERS": str(api)}
        processes = [
            subprocess.Popen(
                [GATEWAY, "serve", "--port", str(port)],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]
        if workers:
            from celery import Celery

            Celery(broker=BROKER, set_as_current=False).control.purge()
        processes += [
            subprocess.Popen(
                [GATEWAY, "worker", "--concurrency", "2", "--hostname", f"w{i}@bench"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(workers)
        ]
        try:
            wait_until_up(f"http://127.0.0.1:{port}/health", processes[0])
            birth = birth_notification()
            per_client = args.exchanges // args.clients

            def run(_: int) -> int:
                refused = 0
                with httpx.Client(timeout=30) as client:
                    for _ in range(per_client):
                        answer = client.post(
                            f"{env.gateway_url}/exchanges",
                            content=birth,
                            headers=env.birth_headers(CIVIL_REGISTRY),
                        )
                        refused += answer.status_code != 202
                return refused

            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                refused = sum(pool.map(run, range(args.clients)))
            if refused:
                raise SystemExit(f"{refused} submissions were not accepted")
            wait_delivered(runtime, per_client * args.clients)
            elapsed = time.perf_counter() - started
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait()
            env.stop()
            runtime.close()
    return per_client * args.clients / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--destinations", type=int, default=8)
    parser.add_argument("--exchanges", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    d = args.destinations
    threads = ["--pool", "threads", "--concurrency", str(d)]
    figures: dict[str, float] = {}

    def line(name: str, value: float, unit: str) -> None:
        figures[name] = value
        print(f"{name:<52} {value:8.0f} {unit}", flush=True)

    with receiver() as url:
        line(
            f"bare POSTs, gateway transport (urllib3), {d} threads",
            bare_rate(url, d, args.messages // 2, "urllib3"),
            "req/s",
        )
        line(
            f"bare POSTs, httpx, {d} threads",
            bare_rate(url, d, args.messages // 2, "httpx"),
            "req/s",
        )
        line(
            f"one worker process, threads x {d}, PostgreSQL",
            worker_rate(url, args, threads),
            "deliveries/s",
        )
        line(
            "one worker, prefork x 2 (the default), PostgreSQL",
            worker_rate(url, args, []),
            "deliveries/s",
        )
        line(f"in-process relay, SQLite, {d} threads", relay_rate(url, args), "deliveries/s")
        with scratch_database() as database_url:
            line(
                "end to end, 2 API + 2 workers, PostgreSQL",
                end_to_end(url, database_url, 2, 2, args),
                "exchanges/s",
            )
        line(
            "end to end, 1 process, SQLite (in-process relay)",
            end_to_end(url, None, 1, 0, args),
            "exchanges/s",
        )
    worker = figures[f"one worker process, threads x {d}, PostgreSQL"]
    bare = figures[f"bare POSTs, gateway transport (urllib3), {d} threads"]
    pg = figures["end to end, 2 API + 2 workers, PostgreSQL"]
    sqlite = figures["end to end, 1 process, SQLite (in-process relay)"]
    print()
    verdict = "met" if worker >= GOAL else "short"
    prefork = figures["one worker, prefork x 2 (the default), PostgreSQL"]
    print(f"deliveries/s, one worker process: {worker:.0f} (goal >= {GOAL:,.0f}: {verdict})")
    print(
        f"deliveries/s, one `gateway worker` as it starts by default (2 processes): {prefork:.0f}"
    )
    print(
        f"  over bare POSTs with the same transport and threads (the ceiling): {worker / bare:.2f}"
    )
    print(
        f"exchanges/s end to end, PostgreSQL 2 API + 2 workers over one SQLite: {pg / sqlite:.2f}"
    )


if __name__ == "__main__":
    main()
