"""What the birth-flow bench measures in a round, and the lines and summary table it prints."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

GOAL = 0.5  # the gateway's rate over bare FastAPI's, in every configuration


class Unavailable(Exception):
    """A configuration could not be measured: its database or a server did not come up."""


@dataclass(frozen=True)
class Round:
    rate: float
    latencies: list[float]
    failures: int
    server_cpu_ms: float  # the server's CPU time per request, all its processes


@dataclass
class Outcome:
    """One configuration's rounds, each (bare, gateway), or why it could not be measured."""

    name: str
    processes: int
    rounds: list[tuple[Round, Round]] = field(default_factory=list)
    unavailable: str | None = None


def report(name: str, result: Round) -> None:
    ordered = sorted(result.latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    print(
        f"{name:<38} {result.rate:8.1f} req/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms"
        f"   server CPU {result.server_cpu_ms:5.2f} ms/req   non-202: {result.failures}"
    )


HEADER = (
    f"{'configuration':<13} {'processes':>9} {'bare req/s':>10} {'gateway req/s':>13}"
    f"  {'ratio (min–max)':<16} {'CPU ms/req gateway':>18} {'bare':>5}  goal ≥ {GOAL:.2f}"
)


def summary_line(outcome: Outcome) -> str:
    start = f"{outcome.name:<13} {outcome.processes:>9}"
    if outcome.unavailable is not None or not outcome.rounds:
        return f"{start}  not measured (the reason is above)"
    bare = [b for b, _ in outcome.rounds]
    gateway = [g for _, g in outcome.rounds]
    ratios = [g.rate / b.rate for b, g in outcome.rounds]
    ratio = statistics.median(ratios)
    spread = f"{ratio:.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
    return (
        f"{start} {statistics.median(r.rate for r in bare):>10.0f}"
        f" {statistics.median(r.rate for r in gateway):>13.0f}  {spread:<16}"
        f" {statistics.median(r.server_cpu_ms for r in gateway):>18.2f}"
        f" {statistics.median(r.server_cpu_ms for r in bare):>5.2f}"
        f"  {'met' if ratio >= GOAL else 'short'}"
    )


def print_summary(outcomes: list[Outcome], rounds: int) -> None:
    """Print one row per configuration: medians of the rounds, and the goal met or short."""
    print(f"\nsummary, medians of {rounds} rounds (ratio: gateway req/s over bare, per round)")
    print(HEADER)
    for outcome in outcomes:
        print(summary_line(outcome))
    for outcome in outcomes:
        failed = sum(g.failures for _, g in outcome.rounds)
        if failed:
            # Such answers are cheaper than an exchange, so the figures flatter the gateway.
            print(f"{outcome.name}: {failed} gateway answers were not 202; its figures are off")
