"""`gateway statistics`: aggregate counts from a terminal, small cells withheld by the gateway.

The token is the DPO's ($GATEWAY_DPO_TOKEN or var/dpo.token), else the administrator's. The
command only asks: the gateway counts, and withholds every combination under k.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from gateway.cli_output import call_gateway, refused, token_or_exit
from gateway.statistics.schemas import DIMENSIONS

statistics_app = typer.Typer(
    no_args_is_help=True,
    help="Aggregate statistics with small-cell suppression (token: the DPO's or the "
    "administrator's).",
)

DEFAULT_URL = "http://127.0.0.1:8000"


@statistics_app.command("query")
def query(
    by: Annotated[
        list[str] | None,
        typer.Option(help=f"Count by this dimension; repeat for several: {', '.join(DIMENSIONS)}."),
    ] = None,
    nationality: Annotated[
        list[str] | None, typer.Option(help="Only this nationality (ISO alpha-3); repeatable.")
    ] = None,
    location: Annotated[
        list[str] | None, typer.Option(help="Only people registered by this system; repeatable.")
    ] = None,
    period_from: Annotated[
        str | None, typer.Option("--from", help="Only people first seen in or after (YYYY-MM).")
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--to", help="Only people first seen in or before (YYYY-MM).")
    ] = None,
    reference_date: Annotated[
        str | None, typer.Option(help="Count ages on this date (YYYY-MM-DD) [default: today].")
    ] = None,
    url: Annotated[str, typer.Option(help="Gateway base URL.")] = DEFAULT_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Count people by dimensions; combinations under k are withheld, and no total given."""
    given: dict[str, Any] = {
        "dimensions": by or [],
        "nationality": nationality,
        "location": location,
        "period_from": period_from,
        "period_to": period_to,
        "reference_date": reference_date,
    }
    body = {name: value for name, value in given.items() if value is not None}
    headers = {"Authorization": f"Bearer {token_or_exit('dpo', 'admin')}"}
    answer = call_gateway(url, "POST", "/statistics/query", json=body, headers=headers)
    try:
        found = answer.json()
    except ValueError:
        found = {"reason": "unknown", "message": answer.text[:200]}
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        raise typer.Exit(0 if answer.is_success else 1)
    if not answer.is_success:
        refused(answer, found, "dpo", "admin")
    dimensions = found["query"]["dimensions"]
    for cell in found["cells"]:
        values = "  ".join(f"{d}={cell['values'][d]}" for d in dimensions)
        typer.echo(f"{cell['count']:>8}  {values or 'everyone'}")
    if not found["cells"]:
        typer.echo(f"no combination of at least {found['min_cell']} people", err=True)
    for note in found["notes"]:
        typer.echo(f"note: {note}", err=True)
