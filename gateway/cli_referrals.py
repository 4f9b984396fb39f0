"""`gateway referrals guide`: publish and read the National Reference Guide's versions.

Runs on the gateway's database directly, like `gateway keys`: run it where the gateway's
settings are. A published version is never replaced; publish the next one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.referrals.schemas import PublishedGuide

if TYPE_CHECKING:
    from gateway.referrals.service import Guides
    from gateway.store.db import Database

referrals_app = typer.Typer(
    no_args_is_help=True, help="Border referrals: the National Reference Guide's versions."
)
guide_app = typer.Typer(no_args_is_help=True, help="Publish, list and show guide versions.")
referrals_app.add_typer(guide_app, name="guide")

AsJson = Annotated[bool, typer.Option("--json", help="Print the guide as JSON.")]


def _fail(error: GatewayError) -> NoReturn:
    typer.echo(f"error: {error.message}", err=True)
    for problem in error.problems:
        typer.echo(f"  - {problem.location}: {problem.message}", err=True)
    raise typer.Exit(1)


@guide_app.command("publish")
def publish(
    file: Annotated[Path, typer.Argument(help="The guide, as YAML.", exists=True, dir_okay=False)],
) -> None:
    """Publish a guide version from a YAML file (policies/reference-guide.yaml shows how)."""
    from gateway.referrals.guide import MAX_GUIDE_BYTES, from_yaml

    if file.stat().st_size > MAX_GUIDE_BYTES:
        typer.echo(f"error: {file} is over {MAX_GUIDE_BYTES} bytes", err=True)
        raise typer.Exit(2)
    try:
        guide = from_yaml(file.read_bytes())
    except GatewayError as error:
        _fail(error)
    service, db = _open()
    try:
        published = service.publish(guide)
    except GatewayError as error:
        _fail(error)
    finally:
        db.dispose()
    typer.echo(
        f"published reference guide version {published.guide.version} of "
        f"{published.guide.country}, in force from {published.guide.effective_from} "
        f"(sha256 {published.digest})"
    )


@guide_app.command("versions")
def versions() -> None:
    """List the published versions, oldest first."""
    service, db = _open()
    try:
        found = service.versions()
    finally:
        db.dispose()
    for entry in found:
        typer.echo(f"{entry.version}  in force from {entry.effective_from}")
    raise typer.Exit(0 if found else 1)


@guide_app.command("show")
def show(
    version: Annotated[int | None, typer.Option(help="This version, not the one in force.")] = None,
    as_json: AsJson = False,
) -> None:
    """Show the guide in force (or one version): its authorities and how to reach them."""
    service, db = _open()
    try:
        published = service.current() if version is None else service.version(version)
    except GatewayError as error:
        _fail(error)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(published.model_dump(mode="json"), indent=2))
        return
    for line in _lines(published):
        typer.echo(line)


def _open() -> tuple[Guides, Database]:
    """Open the database (exit 2 if missing or not migrated); return the guide service."""
    from gateway.cli_keys import maintenance
    from gateway.referrals.service import Guides

    db, _ = maintenance(Settings())
    return Guides(db), db


def _lines(published: PublishedGuide) -> list[str]:
    guide = published.guide
    lines = [
        f"National Reference Guide of {guide.country}, version {guide.version}, in force from "
        f"{guide.effective_from}; kept up to date by {guide.maintained_by}",
    ]
    for authority in guide.authorities:
        takes = ", ".join(k.value for k in authority.takes)
        lines.append(f"- {authority.id}: {authority.name} [{takes}] ({authority.referral.value})")
        for label, value in (
            ("department", authority.department),
            ("telephone", authority.telephone),
            ("hotline", authority.hotline),
            ("address", authority.address),
            ("hours", authority.hours),
            ("system", authority.system),
        ):
            if value:
                lines.append(f"    {label}: {value}")
    return lines
