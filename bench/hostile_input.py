"""What a hostile body costs: a proGres notification holding 340,000 empty individuals.

Such a body (under the 1 MiB limit) once yielded 1,360,003 problems: a 115 MiB answer and
about 30 s with the event loop blocked. This serves the gateway in its own process, as
deployed, sends the body from several clients at once while another client asks `/health`
every 20 ms, and prints how long the hostile answers took, how large they were, and how long
`/health` waited, next to `/health` alone in the same run.

Usage: python -m bench.hostile_input [--clients C] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.birth_flow import free_port, wait_until_up
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, envelope_headers

INDIVIDUALS = 340_000


def hostile_body() -> bytes:
    doc = {"progres_dateofbirth": "2025-03-02", "individuals": [{}] * INDIVIDUALS}
    return json.dumps(doc, separators=(",", ":")).encode()


def health_latencies(url: str, stop: threading.Event) -> list[float]:
    seen = []
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(f"{url}/health").raise_for_status()
            seen.append(time.perf_counter() - started)
            time.sleep(0.02)
    return seen


def summary(latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    return f"median {statistics.median(ms):7.1f} ms   max {ms[-1]:7.1f} ms   ({len(ms)} asked)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    body = hostile_body()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        gateway = subprocess.Popen(
            [sys.executable, "-m", "bench.serve_gateway", tmp, str(port), "1"]
        )
        try:
            wait_until_up(f"{url}/health", gateway)
            credentials = Path(tmp) / "demo-credentials.json"
            while not credentials.exists():
                time.sleep(0.1)
            credential = json.loads(credentials.read_text())[REGISTRATION]

            def send(number: int) -> tuple[float, httpx.Response]:
                headers = envelope_headers(
                    CIVIL_REGISTRY, "birth-notification", "consent", f"hostile-{number:08d}"
                )
                headers["Authorization"] = f"Bearer {credential}"
                headers["Content-Type"] = "application/json"
                started = time.perf_counter()
                answer = httpx.post(f"{url}/exchanges", content=body, headers=headers, timeout=120)
                return time.perf_counter() - started, answer

            stop = threading.Event()
            with ThreadPoolExecutor(1) as poller:
                alone = poller.submit(health_latencies, url, stop)
                time.sleep(1)
                stop.set()
                quiet = alone.result()
            print(f"{len(body):,} bytes, {INDIVIDUALS:,} empty individuals, {args.clients} clients")
            print(f"/health alone:              {summary(quiet)}")
            number = 0
            for round_ in range(1, args.rounds + 1):
                stop = threading.Event()
                with ThreadPoolExecutor(args.clients + 1) as pool:
                    polling = pool.submit(health_latencies, url, stop)
                    sent = [pool.submit(send, number + i) for i in range(args.clients)]
                    results = [s.result() for s in sent]
                    stop.set()
                    during = polling.result()
                number += args.clients
                times = [t for t, _ in results]
                answer = results[0][1]
                problems = answer.json()
                print(
                    f"round {round_}: hostile answers {answer.status_code}, "
                    f"{len(answer.content):,} bytes, {len(problems['problems'])} problems listed "
                    f"of {problems.get('problem_count')}; "
                    f"time median {statistics.median(times) * 1000:.0f} ms, "
                    f"max {max(times) * 1000:.0f} ms"
                )
                print(f"round {round_}: /health meanwhile:  {summary(during)}")
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)


if __name__ == "__main__":
    main()
