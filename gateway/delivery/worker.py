"""Celery workers: the app's settings, what each worker process holds, and the start-up checks.

A worker delivers and nothing else: it never runs migrations and never writes a key file
(the first serving process, or `gateway migrate`, does those), so it refuses to start on a
database that is not at the newest migration or without a master secret.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass

import prometheus_client
from celery import Celery

from gateway.config import Settings
from gateway.dead_letters.retention import purge_expired
from gateway.delivery.outbox import OutboxRelay
from gateway.delivery.publisher import Publisher
from gateway.delivery.relay import BackgroundRelay
from gateway.errors import ConfigurationError, Problem
from gateway.store.db import Database, is_current

log = logging.getLogger(__name__)

DELIVER = "gateway.deliver"  # the delivery task's name (gateway/delivery/tasks.py)
# The Celery app: configured from the settings by `configure`; its task is in tasks.py, which
# the worker imports itself (`include`), so serving processes publish without importing it.
app = Celery("gateway", set_as_current=False, include=["gateway.delivery.tasks"])
CLAIM_LIMIT = 100  # messages one claim takes from a destination
# How long a broker may take to answer a publish or a connection attempt: a publisher that
# finds the broker gone gives up quickly and its next sweep tries again.
BROKER_TIMEOUT_SECONDS = 5.0


def check_time_limits(settings: Settings) -> None:
    """Refuse task time limits a broker would overtake.

    Why: a task still running when the broker's acknowledgement timeout passes is handed to a
    second worker (Redis re-delivers it; RabbitMQ closes the channel). The hard time limit must
    end it first, and a message's lease must be renewed within the limit.
    """
    problems = []
    if settings.task_time_limit_seconds >= settings.broker_ack_timeout_seconds:
        problems.append(
            Problem(
                "GATEWAY_TASK_TIME_LIMIT_SECONDS",
                f"{settings.task_time_limit_seconds:g} s must be under the broker's"
                f" acknowledgement timeout ({settings.broker_ack_timeout_seconds:g} s,"
                " GATEWAY_BROKER_ACK_TIMEOUT_SECONDS)",
            )
        )
    if settings.task_time_limit_seconds <= 2 * settings.delivery_timeout_seconds:
        problems.append(
            Problem(
                "GATEWAY_TASK_TIME_LIMIT_SECONDS",
                f"{settings.task_time_limit_seconds:g} s must be over twice the delivery"
                f" timeout ({settings.delivery_timeout_seconds:g} s,"
                " GATEWAY_DELIVERY_TIMEOUT_SECONDS): a task must finish a send",
            )
        )
    if problems:
        raise ConfigurationError("the worker's time limits are not coherent", problems)


def configure(app: Celery, settings: Settings) -> None:
    """Point `app` at the broker, with late acknowledgement and bounded tasks."""
    if settings.broker_url is None:
        raise ConfigurationError(
            "no broker", [Problem("GATEWAY_BROKER_URL", "is required for Celery delivery")]
        )
    check_time_limits(settings)
    limit = settings.task_time_limit_seconds
    app.conf.update(
        broker_url=settings.broker_url.get_secret_value(),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=BROKER_TIMEOUT_SECONDS,
        broker_heartbeat=10,  # RabbitMQ: a dead peer is noticed within seconds
        broker_transport_options={
            # Redis: an unacknowledged task returns to the queue after this long.
            "visibility_timeout": settings.broker_ack_timeout_seconds,
            "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
            "socket_timeout": BROKER_TIMEOUT_SECONDS,
        },
        task_acks_late=True,  # acknowledged when done: a task a dead worker held is redelivered
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,  # the outbox keeps the truth; a sweep republishes
        worker_prefetch_multiplier=1,
        task_time_limit=limit,
        task_soft_time_limit=limit * 0.9,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )


@dataclass
class WorkerServices:
    """What one worker process holds: its database connections and its relay."""

    settings: Settings
    db: Database
    relay: OutboxRelay

    @classmethod
    def build(cls, settings: Settings) -> WorkerServices:
        master = settings.existing_master_secret()
        if master is None:
            raise ConfigurationError(
                "no master secret",
                [Problem("GATEWAY_SECRET_KEY", "is required: a worker never makes one")],
            )
        db = Database.connect(settings.resolved_database_url)
        if not is_current(db.engine):
            db.dispose()
            raise ConfigurationError(
                "the database is not at the newest migration",
                [Problem("database", "run `gateway migrate` (or start `gateway serve`) first")],
            )
        try:
            return cls(settings, db, OutboxRelay.from_settings(settings, db, master))
        except Exception:
            db.dispose()
            raise

    def deliver(self, destination: str) -> int:
        """Send the destination's ready messages, claim after claim, within half the limit.

        Why stop at half the time limit: a task must end before it is killed; what is left is
        ready again once its leases are released, and the next sweep publishes it.
        """
        deadline = time.monotonic() + self.settings.task_time_limit_seconds / 2
        total = 0
        while time.monotonic() < deadline:
            claimed = self.relay.drain_destination(destination, CLAIM_LIMIT)
            total += claimed
            if claimed == 0:
                break
        return total

    def close(self) -> None:
        self.relay.close()
        self.db.dispose()


_services: WorkerServices | None = None
_services_pid = 0
_services_lock = threading.Lock()


def worker_services() -> WorkerServices:
    """Return this process's services, built on first use from the GATEWAY_* settings.

    Why per process: a prefork pool's children must not share the parent's connections.
    """
    global _services, _services_pid
    with _services_lock:
        if _services is None or _services_pid != os.getpid():
            _services = WorkerServices.build(Settings())
            _services_pid = os.getpid()
        return _services


def close_worker_services() -> None:
    """Give back this process's leases and connections (a worker process shutting down)."""
    global _services
    with _services_lock:
        if _services is not None and _services_pid == os.getpid():
            _services.close()
        _services = None


class _Sweeper:
    """The worker's own sweep: publish tasks for destinations with ready messages, and keep
    house (dead letters' bodies past their retention are erased).

    Why the worker sweeps too: with every serving process down, a task a broker lost, or a
    retry that fell due, must still be published. Started once the pool's processes exist,
    in the main process; a process the pool forks later drops the sweep's connections.
    """

    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.db: Database | None = None
        self.loop: BackgroundRelay | None = None

    def start(self, **_: object) -> None:
        db = self.db = Database.connect(self.settings.resolved_database_url)

        def now() -> dt.datetime:
            return dt.datetime.now(dt.UTC)

        def housekeeping() -> None:
            purge_expired(db, self.settings, now())

        self.loop = BackgroundRelay(
            Publisher(db, self.app, DELIVER, now),
            self.settings.relay_interval_seconds,
            housekeeping,
        )
        self.loop.start()

    def stop(self, **_: object) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.db is not None:
            self.db.dispose()

    def forked(self, **_: object) -> None:
        if self.db is not None:  # the parent's connections: leave them to the parent
            self.db.engine.dispose(close=False)


def run_worker(
    settings: Settings,
    concurrency: int,
    pool: str,
    hostname: str | None,
    metrics: tuple[str, int] | None = None,
) -> None:
    """Run a Celery worker until it is stopped (SIGTERM: warm shutdown).

    With `metrics` (host, port), the worker's delivery counts are served there for
    Prometheus; a prefork pool counts in its child processes, so it needs
    PROMETHEUS_MULTIPROC_DIR (docs/metrics.md).
    """
    from celery import signals

    from gateway.metrics import events
    from gateway.metrics.exposition import counts

    configure(app, settings)
    WorkerServices.build(settings).close()  # refuse now what a task would refuse later
    if metrics is not None:
        if pool == "prefork" and events.MULTIPROCESS_DIR is None:
            raise ConfigurationError(
                "a prefork worker's metrics need a directory its processes share",
                [Problem(events.MULTIPROCESS_VARIABLE, "set it, or run --pool threads")],
            )
        prometheus_client.start_http_server(metrics[1], metrics[0], registry=counts())
    sweeper = _Sweeper(app, settings)
    signals.worker_ready.connect(sweeper.start, weak=False)
    signals.worker_shutdown.connect(sweeper.stop, weak=False)
    signals.worker_process_init.connect(sweeper.forked, weak=False)
    signals.worker_process_shutdown.connect(lambda **_: close_worker_services(), weak=False)
    arguments = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={settings.log_level.upper()}",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        arguments.append(f"--hostname={hostname}")
    app.worker_main(arguments)
