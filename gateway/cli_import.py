"""`gateway import`: migrate a legacy export file, every row an exchange like any other.

Runs beside the gateway, on its database (it builds the same services); the rows it accepts
wait in the outbox for the gateway's relay or workers. Interrupted (Ctrl-C, a crash, kill
-9), the same command resumes after the last committed row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.bulk.progress import Meter
from gateway.bulk.report import write_report
from gateway.bulk.repository import Progress
from gateway.bulk.service import BulkImports, ImportRequest, Summary
from gateway.cli_output import fail
from gateway.config import Settings
from gateway.errors import GatewayError, InvalidInput, Problem
from gateway.runtime import Runtime


def import_file(
    file: Annotated[Path, typer.Argument(help="The export: CSV with a header row, or JSON lines.")],
    source: Annotated[str, typer.Option(help="The registered system the rows come from.")],
    destination: Annotated[str, typer.Option(help="The registered system they go to.")],
    purpose: Annotated[str, typer.Option(help="Declared purpose, e.g. registration.")],
    legal_basis: Annotated[str, typer.Option(help="Legal basis, e.g. public-interest.")],
    agreement: Annotated[str | None, typer.Option(help="Agreement id, if one applies.")] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl [default: by the suffix].")
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option(help="Write denied and invalid rows here (.csv, or .jsonl) at the end."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Only resume: refuse if no import of this file was begun.")
    ] = False,
    job: Annotated[
        str | None, typer.Option(help="Name the job [default: from the file and the systems].")
    ] = None,
) -> None:
    """Import a legacy export, row by row, resumably; each row decided and recorded."""
    from gateway import logs

    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    request = ImportRequest(
        path=file,
        source=source,
        destination=destination,
        purpose=purpose,
        legal_basis=legal_basis,
        agreement=agreement,
        format=format,
        job=job,
        resume=resume,
    )
    try:
        runtime = Runtime.build(settings)
    except GatewayError as error:
        fail(error)
    try:
        run_import(runtime, request, errors)
    finally:
        runtime.close()


def run_import(runtime: Runtime, request: ImportRequest, errors: Path | None) -> Summary:
    """Prepare, run and report one import; exit 2 (nothing changed) if it cannot begin."""
    imports = BulkImports(runtime.exchanges)
    try:
        if errors is not None and not errors.parent.is_dir():
            raise InvalidInput("no folder for the report", [Problem("--errors", "no such folder")])
        prepared = imports.prepare(request)
    except GatewayError as error:
        fail(error)
    job = prepared.job
    if job.finished_at is not None:
        typer.echo(f"job {job.id} was finished before; nothing to do", err=True)
    elif prepared.resumed:
        typer.echo(f"job {job.id}: resuming after {job.rows_done:,} rows", err=True)
    meter = Meter(prepared.file_size, Progress.of(job))
    try:
        summary = imports.run(prepared, meter.update)
    except KeyboardInterrupt:
        meter.close()
        typer.echo("interrupted: run the same command again to resume", err=True)
        raise typer.Exit(130) from None
    except GatewayError as error:
        meter.close()
        typer.echo(f"error ({error.reason}): {error.message}", err=True)
        for problem in error.problems:
            typer.echo(f"  - {problem.location}: {problem.message}", err=True)
        typer.echo("what was committed stays; run the same command again to resume", err=True)
        raise typer.Exit(1) from None
    meter.close()
    done = summary.progress
    typer.echo(
        f"job {summary.job_id}: {done.rows_done:,} rows"
        f" ({done.rows_done - summary.resumed_from:,} in this run):"
        f" accepted {done.accepted:,}, denied {done.denied:,}, invalid {done.invalid:,}"
    )
    if errors is not None:
        written = write_report(runtime.db, summary.job_id, errors)
        typer.echo(f"{written:,} refused rows listed in {errors}")
    elif done.denied or done.invalid:
        typer.echo("--errors FILE lists the refused rows and why", err=True)
    return summary
