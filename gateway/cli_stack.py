"""`gateway stack up` and `gateway stack down`: docker-compose.yml's topology as local processes.

The settings are the GATEWAY_* variables every process of the stack reads (gateway/stack.py):
a PostgreSQL database (GATEWAY_DATABASE_URL) and, for workers, a broker (GATEWAY_BROKER_URL).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_output import fail
from gateway.config import Settings
from gateway.errors import ConfigurationError

stack_app = typer.Typer(
    no_args_is_help=True,
    help="The deployment's topology as local processes: nginx, API processes, workers.",
)

RunDir = Annotated[
    Path | None,
    typer.Option(
        help="Where the stack keeps its pids, logs and nginx files [GATEWAY_DATA_DIR/stack]."
    ),
]
StopSeconds = Annotated[
    float, typer.Option(min=0, help="How long each process may take to stop before SIGKILL.")
]


def _run_dir(given: Path | None, settings: Settings) -> Path:
    return given if given is not None else settings.data_dir / "stack"


@stack_app.command("up")
def up(
    port: Annotated[int, typer.Option(min=1, max=65535, help="The proxy's port.")] = 8080,
    host: Annotated[str, typer.Option(help="The proxy's address.")] = "127.0.0.1",
    apis: Annotated[int, typer.Option(min=1, help="API processes (gateway serve).")] = 2,
    workers: Annotated[
        int,
        typer.Option(min=0, help="Celery workers (gateway worker); 0: each API delivers itself."),
    ] = 2,
    worker_concurrency: Annotated[int, typer.Option(min=1, help="Tasks each worker runs.")] = 1,
    nginx: Annotated[Path, typer.Option(help="The nginx program.")] = Path("/usr/sbin/nginx"),
    ready_seconds: Annotated[
        float, typer.Option(min=1, help="How long each process may take to be ready.")
    ] = 120.0,
    stop_seconds: StopSeconds = 30.0,
    run_dir: RunDir = None,
) -> None:
    """Start the stack, say where it serves, and run until Ctrl-C, SIGTERM or `stack down`."""
    from gateway.stack import StackError, StackPlan, Supervisor, check

    settings = Settings()
    plan = StackPlan(
        run_dir=_run_dir(run_dir, settings),
        host=host,
        port=port,
        apis=apis,
        workers=workers,
        worker_concurrency=worker_concurrency,
        nginx=nginx,
        ready_seconds=ready_seconds,
        stop_seconds=stop_seconds,
    )
    try:
        check(plan, settings)
    except ConfigurationError as error:
        fail(error)
    supervisor = Supervisor(plan, settings, typer.echo, lambda line: typer.echo(line, err=True))
    for stopping in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(stopping, supervisor.request_stop)
    try:
        code = supervisor.run()
    except StackError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@stack_app.command("down")
def down(stop_seconds: StopSeconds = 30.0, run_dir: RunDir = None) -> None:
    """Stop the stack running from the run directory, and say how each process ended."""
    from gateway.stack import down as stop_stack

    raise typer.Exit(stop_stack(_run_dir(run_dir, Settings()), stop_seconds, typer.echo))
