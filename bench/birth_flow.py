"""Exchanges per second for the birth flow through the HTTP API, next to a bare FastAPI endpoint.

One run measures two configurations, one after the other: SQLite served from one process (the
embedded default; one process is all a SQLite file is served from) and PostgreSQL served from
two, on a database made for the run and dropped after it. In each, both servers run the same
way (uvicorn, loopback, the same number of processes), driven by the same client in rounds that
alternate the two. The ratio is what the gateway's work costs (parse, origin guard, Casbin,
consent, minimise, render and validate the FHIR bundle, durable record and outbox row in one
transaction). The relay is off, so delivery is not measured here.

The run ends with one summary table; the goal is a figure in it, not the exit status. That is
non-zero only when a configuration could not be measured (PostgreSQL unreachable, a server that
did not start), after the others have run.

Usage: python -m bench.birth_flow [--requests N] [--concurrency C] [--rounds R]
                                  [--only sqlite|postgresql] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.figures import Outcome, Round, Unavailable, print_summary, report
from bench.scratch_database import SERVER, scratch_database
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, birth_notification, envelope_headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}")
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


@dataclass(frozen=True)
class Configuration:
    name: str
    processes: int  # per server: the gateway's and bare FastAPI's alike
    database: Callable[[], AbstractContextManager[str | None]]  # None: SQLite in the run's dir


def serve_and_drive(
    processes: int, database_url: str | None, args: argparse.Namespace
) -> list[tuple[Round, Round]]:
    """Serve bare FastAPI and the gateway side by side; drive both, rounds alternating."""
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
                str(processes),
            ]
        )
        command = [sys.executable, "-m", "bench.serve_gateway", tmp, str(gateway_port)]
        command += [str(processes), *([database_url] if database_url else [])]
        gateway = subprocess.Popen(command)
        try:
            try:
                wait_until_up(f"http://127.0.0.1:{bare_port}/docs", bare)
                wait_until_up(f"http://127.0.0.1:{gateway_port}/health", gateway)
            except SystemExit as exc:  # how wait_until_up says a server did not come up
                raise Unavailable(str(exc)) from None
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
            rounds = []
            for round_ in range(1, args.rounds + 1):
                # Alternated, so that a slower spell of the machine falls on both alike.
                bare_result = run(bare_side, args.requests)
                gateway_result = run(gateway_side, args.requests)
                report(f"round {round_}: bare FastAPI endpoint", bare_result)
                report(f"round {round_}: gateway birth flow", gateway_result)
                rounds.append((bare_result, gateway_result))
            return rounds
        finally:
            for process in (bare, gateway):
                process.terminate()
                process.wait(timeout=30)


def measure(configuration: Configuration, args: argparse.Namespace) -> Outcome:
    outcome = Outcome(configuration.name, configuration.processes)
    try:
        with configuration.database() as database_url:
            print(
                f"\n{configuration.name}, {configuration.processes} serving process(es) per "
                f"server, {database_url or 'SQLite (embedded default)'}: birth flow, "
                f"{args.requests} requests, {args.concurrency} clients",
                flush=True,
            )
            outcome.rounds = serve_and_drive(configuration.processes, database_url, args)
    except Unavailable as exc:
        outcome.unavailable = str(exc)
        sys.stdout.flush()  # so that the message follows what came before it, when piped
        print(f"\n{configuration.name} NOT MEASURED: {exc}", file=sys.stderr, flush=True)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="default: both")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL for the second configuration, used as it is (default: a database "
        "made on 127.0.0.1:5432 for the run and dropped after it)",
    )
    args = parser.parse_args()
    if args.database_url and args.only == "sqlite":
        parser.error("--database-url is the PostgreSQL configuration's; --only sqlite omits it")

    def postgresql() -> AbstractContextManager[str | None]:
        return nullcontext(args.database_url) if args.database_url else scratch_database()

    configurations = {
        # One process: a SQLite file is served from one process only.
        "sqlite": Configuration("SQLite", 1, lambda: nullcontext(None)),
        "postgresql": Configuration("PostgreSQL", 2, postgresql),
    }
    chosen = [configurations[args.only]] if args.only else list(configurations.values())
    outcomes = [measure(configuration, args) for configuration in chosen]
    print_summary(outcomes, args.rounds)
    missing = [o.name for o in outcomes if o.unavailable is not None]
    if missing:
        sys.stdout.flush()
        print(f"\nnot measured: {', '.join(missing)}", file=sys.stderr)
        if "PostgreSQL" in missing and not args.database_url:
            print(
                f"start PostgreSQL ({SERVER}), point --database-url at a server, "
                "or run with --only sqlite",
                file=sys.stderr,
            )
        sys.exit(1)


if __name__ == "__main__":
    main()
