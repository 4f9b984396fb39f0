"""`gateway adapters`: the installed adapters, and how each maps its system's fields.

`gateway adapters` (or `adapters list`) says what each adapter reads and writes, with its
mapping versions; `adapters coverage` says, field by field, what is mapped, what is dropped
and why, and what nobody has decided about. Both read the installed adapters only: no
gateway, database or token is needed.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from gateway.cli_output import fail
from gateway.coverage import as_lines, coverage
from gateway.errors import GatewayError

adapters_app = typer.Typer(
    help="Installed adapters: what each reads and writes, and how it maps its fields.",
)


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


@adapters_app.callback(invoke_without_command=True)
def adapters(ctx: typer.Context) -> None:
    """List installed adapters (the default), or report their mapping coverage."""
    if ctx.invoked_subcommand is None:
        list_adapters()


@adapters_app.command("list")
def list_adapters() -> None:
    """List installed adapters, what they read and write, and their mapping versions."""
    from adapters.registry import installed_adapters

    try:
        registry = installed_adapters()
    except GatewayError as error:
        fail(error)
    for name in registry.names():
        adapter = registry.get(name)
        typer.echo(name)
        for message_type in sorted(adapter.parses | adapter.renders):
            modes = "/".join(
                m
                for m, s in (("parse", adapter.parses), ("render", adapter.renders))
                if message_type in s
            )
            version = registry.mapping_version(name, message_type)
            typer.echo(f"  {message_type:<34} {modes:<13} {version}")


@adapters_app.command("coverage")
def coverage_report(
    adapter: Annotated[
        str | None, typer.Option("--adapter", help="Only this adapter [default: every one].")
    ] = None,
    output: Annotated[
        Format, typer.Option("--format", help="text for a person, json for a script.")
    ] = Format.TEXT,
) -> None:
    """Say which native fields each adapter maps, drops (and why), or leaves unaccounted."""
    from adapters.registry import installed_adapters

    try:
        report = coverage(installed_adapters(), adapter)
    except GatewayError as error:
        fail(error)
    if output is Format.JSON:
        typer.echo(json.dumps({"coverage": [entry.as_dict() for entry in report]}, indent=2))
        return
    for line in as_lines(report):
        typer.echo(line)
