"""`gateway worker` and `gateway migrate`: what a deployment with Celery workers runs."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli_output import fail
from gateway.config import Settings
from gateway.errors import GatewayError


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks run at once.")] = 2,
    pool: Annotated[
        str, typer.Option(help="prefork (processes; time limits enforced), threads or solo.")
    ] = "prefork",
    hostname: Annotated[str | None, typer.Option(help="The worker's name, e.g. w1@%h.")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve the worker's counts for Prometheus here."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address to serve them on.")] = "127.0.0.1",
) -> None:
    """Deliver the outbox's messages as a Celery worker (needs GATEWAY_BROKER_URL).

    It never migrates the database or makes a key: start `gateway serve` once, or run
    `gateway migrate`, first; set GATEWAY_SECRET_KEY (or GATEWAY_SECRETS_DIR).
    """
    from gateway import logs
    from gateway.delivery.worker import run_worker

    if pool not in ("prefork", "threads", "solo"):
        raise typer.BadParameter("prefork, threads or solo", param_hint="--pool")
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    try:
        metrics = None if metrics_port is None else (metrics_host, metrics_port)
        run_worker(settings, concurrency, pool, hostname, metrics)
    except GatewayError as error:
        fail(error)


def migrate() -> None:
    """Bring the database to the newest migration, and make the key files if none is set."""
    from gateway.store.db import Database
    from gateway.store.db import migrate as upgrade

    settings = Settings()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database.connect(settings.resolved_database_url)
    try:
        upgrade(db.engine)
    finally:
        db.dispose()
    settings.master_secret()
    settings.resolved_admin_token()
    settings.resolved_dpo_token()
    typer.echo("the database is at the newest migration")
