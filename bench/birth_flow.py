"""Exchanges per second for the birth flow through the HTTP API, next to a bare FastAPI endpoint.

Both servers run the same way in the same run (uvicorn, loopback, and the same number of
worker processes: one per core, as a Python server is deployed on a machine with several,
unless --workers says otherwise), driven by the same client. The ratio is what the gateway's
work costs (parse, origin guard, Casbin, consent, minimise, render and validate the FHIR
bundle, durable record and outbox row in one transaction). The relay is off, so delivery is
not measured here.

Usage: python -m bench.birth_flow [--requests N] [--concurrency C] [--rounds R]
                                  [--workers W] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, birth_notification, envelope_headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def usable_cores() -> int:
    """Return the cores this process may run on (not the host's count, in a container)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process and its children use now (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children(pid))


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@dataclass(frozen=True)
class Round:
    rate: float
    latencies: list[float]
    failures: int
    server_cpu_ms: float  # the server's CPU time per request, all its processes


def drive(
    url: str,
    headers: Callable[[], dict[str, str]],
    body: bytes,
    requests: int,
    concurrency: int,
    server_pid: int,
) -> Round:
    """Send `requests` POSTs from `concurrency` clients; measure rate, latency, server CPU."""
    per_client = requests // concurrency

    def client_run(_: int) -> tuple[list[float], int]:
        latencies, failures = [], 0
        with httpx.Client(timeout=30) as client:
            for _ in range(per_client):
                started = time.perf_counter()
                response = client.post(url, content=body, headers=headers())
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 202
        return latencies, failures

    started, cpu_before = time.perf_counter(), cpu_seconds(server_pid)
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(client_run, range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(server_pid) - cpu_before
    latencies = [x for r in results for x in r[0]]
    return Round(
        rate=len(latencies) / elapsed,
        latencies=latencies,
        failures=sum(r[1] for r in results),
        server_cpu_ms=cpu * 1000 / len(latencies),
    )


def report(name: str, result: Round) -> None:
    ordered = sorted(result.latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    print(
        f"{name:<38} {result.rate:8.1f} req/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms"
        f"   server CPU {result.server_cpu_ms:5.2f} ms/req   non-202: {result.failures}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--workers", type=int, default=usable_cores(), help="processes per server (cores)"
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()
    body = birth_notification()
    with tempfile.TemporaryDirectory() as tmp:
        bare_port, gateway_port = free_port(), free_port()
        bare = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
                "--workers",
                str(args.workers),
            ]
        )
        command = [sys.executable, "-m", "bench.serve_gateway", tmp, str(gateway_port)]
        command += [str(args.workers), *([args.database_url] if args.database_url else [])]
        gateway = subprocess.Popen(command)
        try:
            wait_until_up(f"http://127.0.0.1:{bare_port}/docs", bare)
            wait_until_up(f"http://127.0.0.1:{gateway_port}/health", gateway)
            credentials_file = Path(tmp) / "demo-credentials.json"
            while not credentials_file.exists():
                time.sleep(0.1)
            credential = json.loads(credentials_file.read_text())[REGISTRATION]

            def gateway_headers() -> dict[str, str]:
                headers = envelope_headers(
                    CIVIL_REGISTRY, "birth-notification", "consent", f"bench-{uuid.uuid4()}"
                )
                headers["Authorization"] = f"Bearer {credential}"
                headers["Content-Type"] = "application/json"
                return headers

            bare_url = f"http://127.0.0.1:{bare_port}/exchanges"
            gateway_url = f"http://127.0.0.1:{gateway_port}/exchanges"
            bare_side = (bare_url, dict, bare.pid)
            gateway_side = (gateway_url, gateway_headers, gateway.pid)

            def run(side: tuple[str, Callable[[], dict[str, str]], int], requests: int) -> Round:
                endpoint, headers, pid = side
                return drive(endpoint, headers, body, requests, args.concurrency, pid)

            run(bare_side, 100)  # warm-up
            run(gateway_side, 100)
            database = args.database_url or "SQLite (embedded default)"
            print(
                f"birth flow, {args.requests} requests, {args.concurrency} clients, "
                f"{args.workers} worker processes per server, {database}"
            )
            ratios, cost_ratios = [], []
            for round_ in range(1, args.rounds + 1):
                # Alternated, so that a slower spell of the machine falls on both alike.
                bare_result = run(bare_side, args.requests)
                gateway_result = run(gateway_side, args.requests)
                report(f"round {round_}: bare FastAPI endpoint", bare_result)
                report(f"round {round_}: gateway birth flow", gateway_result)
                ratios.append(gateway_result.rate / bare_result.rate)
                cost_ratios.append(bare_result.server_cpu_ms / gateway_result.server_cpu_ms)
        finally:
            for process in (bare, gateway):
                process.terminate()
                process.wait(timeout=30)
    listed = ", ".join(f"{r:.2f}" for r in ratios)
    median = statistics.median(ratios)
    print(f"ratio gateway / bare: {median:.2f}, the median of {listed} (goal >= 0.50)")
    # The rate ratio depends on the client too: when the bare server is faster than the
    # client can drive it, the bare rate is the client's. Server CPU per request does not.
    listed = ", ".join(f"{r:.2f}" for r in cost_ratios)
    median = statistics.median(cost_ratios)
    print(f"server CPU per request, bare / gateway: {median:.2f}, the median of {listed}")


if __name__ == "__main__":
    main()
