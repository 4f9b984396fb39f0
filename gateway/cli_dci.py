"""`gateway dci subscribe`: subscribe to a DCI civil registry's live births, from a terminal.

It asks a running gateway with the administrator's token ($GATEWAY_ADMIN_TOKEN, or
var/admin.token where `gateway serve` keeps its data), which sends the registry its DCI
subscribe request and keeps the subscription once the registry acknowledges it.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gateway.cli_output import call_as, exit_if_refused
from gateway.dci.schemas import NOTIFY_PATH

dci_app = typer.Typer(
    no_args_is_help=True,
    help="DCI civil registries: subscribe to live births (the administrator's token).",
)

DEFAULT_URL = "http://127.0.0.1:8000"


@dci_app.command("subscribe")
def subscribe(
    system: Annotated[str, typer.Option("--system", help="The DCI civil registry's system id.")],
    destination: Annotated[
        str, typer.Option("--to", help="Where the registered births go, e.g. unhcr-progres.")
    ],
    notify_url: Annotated[
        str | None,
        typer.Option(help=f"Where the registry posts its notices (default: <url>{NOTIFY_PATH})."),
    ] = None,
    purpose: Annotated[str, typer.Option(help="Declared purpose.")] = "birth-registration",
    basis: Annotated[str, typer.Option("--basis", help="Legal basis.")] = "public-interest",
    agreement: Annotated[str | None, typer.Option(help="Agreement id, if one applies.")] = None,
    url: Annotated[str, typer.Option(help="Gateway base URL.")] = DEFAULT_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Subscribe to a registry's live births; its notices then go to --to as exchanges."""
    given = {
        "registry": system,
        "destination": destination,
        "purpose": purpose,
        "legal_basis": basis,
        "agreement": agreement,
        "notify_url": notify_url or url.rstrip("/") + NOTIFY_PATH,
    }
    answer = call_as("admin", url, "POST", "/dci/subscriptions", json=given)
    exit_if_refused(answer, as_json, "admin")
    done = answer.json()
    if as_json:
        typer.echo(json.dumps(done, indent=2))
    else:
        typer.echo(
            f"subscribed to {done['registry']}: live births go to {done['destination']} "
            f"as {done['message_type']} (acknowledged {done['correlation_id']})"
        )
