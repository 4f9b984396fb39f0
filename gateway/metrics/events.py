"""What the gateway counts as it works: exchanges decided and answered, deliveries settled.

Every label holds a value from a closed set, never input: a decision, a reason code of the
policy (gateway/policy/reasons.py) or of the error tree (gateway/errors.py), an HTTP status,
a delivery outcome, or a registered system's id (bounded by the registry). A reason code
outside the set is counted as `other`; a delivery outcome or a destination that is not an id
is a bug, and raises. So no label can hold a person's data or free text, and the number of
series stays bounded whatever callers send.

Several processes (`gateway serve --workers N`, Celery workers): with PROMETHEUS_MULTIPROC_DIR
set before this module is imported, prometheus_client writes each process's counts to files
there, and a scrape sums them (exposition.py). None of these metrics is a per-process gauge,
so a process that exits leaves nothing to take back (`mark_process_dead` only removes the
files of live gauges): what it counted stays counted.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from gateway.canonical import NAME_PATTERN
from gateway.errors import ConfigurationError, GatewayError, Problem
from gateway.policy.reasons import REASON_WORDS

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _multiprocess_dir() -> str | None:
    """Return the directory several processes' counts meet in, made if missing; or None.

    Read once, at import: prometheus_client chose then how it keeps values. Made here so
    that a missing directory cannot fail an exchange at its first count, after its commit.
    """
    if MULTIPROCESS_VARIABLE not in os.environ:
        return None
    path = os.environ[MULTIPROCESS_VARIABLE]
    if not path:
        raise ConfigurationError(
            "the metrics directory is empty",
            [Problem(MULTIPROCESS_VARIABLE, "set it to a directory, or unset it")],
        )
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


MULTIPROCESS_DIR = _multiprocess_dir()
# The same series in both modes: the multiprocess files keep no `_created` samples.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client
PROCESS = CollectorRegistry()
"""This process's metrics: what a scrape reads when there is no multiprocess directory."""

ALLOWED, DENIED, INVALID = "allowed", "denied", "invalid"
DECISIONS = (ALLOWED, DENIED, INVALID)
DELIVERED, RETRY, DEAD = "delivered", "retry", "dead"
OUTCOMES = (DELIVERED, RETRY, DEAD)
OTHER = "other"
"""The reason label of a code outside the closed set."""
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ATTEMPTS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)

EXCHANGES = Counter(
    "gateway_exchanges",
    "Exchanges recorded, by decision (allowed, denied, invalid); an idempotent replay is not "
    "a new exchange.",
    ["decision"],
    registry=PROCESS,
)
EXCHANGE_REASONS = Counter(
    "gateway_exchange_reasons",
    "Reason codes of the exchanges denied or invalid: each code of each exchange once.",
    ["decision", "reason"],
    registry=PROCESS,
)
EXCHANGE_SECONDS = Histogram(
    "gateway_exchange_seconds",
    "Time from receiving POST /exchanges to answering it (body read included), by status.",
    ["status"],
    buckets=SECONDS,
    registry=PROCESS,
)
DELIVERY_ATTEMPTS = Counter(
    "gateway_delivery_attempts",
    "Delivery attempts, by destination and outcome: delivered, retry (to be tried again), "
    "dead (given up).",
    ["destination", "outcome"],
    registry=PROCESS,
)
DELIVERY_SECONDS = Histogram(
    "gateway_delivery_seconds",
    "Time one delivery attempt took, by destination.",
    ["destination"],
    buckets=SECONDS,
    registry=PROCESS,
)
DELIVERY_TRIES = Histogram(
    "gateway_delivery_attempts_per_message",
    "Attempts a message took in all, once delivered or dead.",
    ["outcome"],
    buckets=ATTEMPTS,
    registry=PROCESS,
)


def exchange_decided(decision: str, reasons: Iterable[str] = ()) -> None:
    """Count an exchange whose record is committed, and each reason code it was refused for.

    Reasons count for a denied or invalid exchange only (an allowed one's is `allowed`).
    """
    if decision not in DECISIONS:
        raise ValueError(f"not a decision: {decision!r}")
    EXCHANGES.labels(decision).inc()
    if decision == ALLOWED:
        return
    for reason in sorted(set(reasons)):
        EXCHANGE_REASONS.labels(decision, reason if reason in _codes() else OTHER).inc()


class _Answer(Protocol):
    @property
    def status_code(self) -> int: ...


Answered = TypeVar("Answered", bound=_Answer)


def timed_submission(
    route: Callable[..., Awaitable[Answered]],
) -> Callable[..., Awaitable[Answered]]:
    """Time the exchange submission route, from its call to its answer, by the answer's status.

    A refusal is timed with its error's status. What is neither (a client that hung up, a
    bug) is left out: it has no status of the route's to be counted under.
    """

    @functools.wraps(route)
    async def timed(*args: object, **kwargs: object) -> Answered:
        started = time.perf_counter()
        try:
            answer = await route(*args, **kwargs)
        except GatewayError as refused:
            _observe(refused.status, started)
            raise
        _observe(answer.status_code, started)
        return answer

    return timed


def delivery_settled(destination: str, outcome: str, attempts: int, seconds: float) -> None:
    """Count a delivery attempt once its outcome is recorded.

    `attempts` is the message's attempts so far, this one included; `seconds`, how long this
    attempt took. A message delivered or dead also counts the attempts it took in all.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"not a delivery outcome: {outcome!r}")
    if not re.fullmatch(NAME_PATTERN, destination):
        raise ValueError("the destination is not a system id")
    DELIVERY_ATTEMPTS.labels(destination, outcome).inc()
    DELIVERY_SECONDS.labels(destination).observe(max(seconds, 0.0))
    if outcome != RETRY:
        DELIVERY_TRIES.labels(outcome).observe(attempts)


def _observe(status: int, started: float) -> None:
    EXCHANGE_SECONDS.labels(str(status)).observe(time.perf_counter() - started)


@functools.cache
def _codes() -> frozenset[str]:
    """Every reason code an exchange record can hold: the policy's and the error tree's.

    Read at the first count, when every error class the pipeline raises is defined.
    """
    codes = set(REASON_WORDS)
    kinds: list[type[GatewayError]] = [GatewayError]
    while kinds:
        kind = kinds.pop()
        codes.add(kind.reason)
        kinds.extend(kind.__subclasses__())
    return frozenset(codes)
