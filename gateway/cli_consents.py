"""`gateway consents`: grant, show and withdraw consent, and list the consents on record.

`grant`, `show` and `withdraw` ask a gateway with the administrator's token
($GATEWAY_ADMIN_TOKEN, or var/admin.token where `gateway serve` keeps its data), so a
withdrawal's notices go out at once. `list` reads the consent registry itself and so runs
where the gateway's settings are, like `gateway audit rotate-key`.

The identifier's value and a child's views are asked for without echo when not given: typed on
the command line they would stay in the shell's history. No output ever repeats either.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

import httpx
import typer

from gateway.api.schemas import ConsentOut
from gateway.cli_output import call_as, path_segment, refused
from gateway.config import Settings
from gateway.errors import GatewayError

consents_app = typer.Typer(
    no_args_is_help=True,
    help="Consents: grant, show, withdraw (the administrator's token: $GATEWAY_ADMIN_TOKEN or "
    "var/admin.token) and list (where the gateway's settings are).",
)

DEFAULT_URL = "http://127.0.0.1:8000"
Url = Annotated[str, typer.Option(help="Gateway base URL.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the gateway's answer as JSON.")]
ConsentId = Annotated[str, typer.Argument(help="The consent's id.")]
Relationship = Literal["parent", "legal-guardian", "foster-parent", "customary-caregiver"]


@consents_app.command("grant")
def grant(
    scheme: Annotated[str, typer.Option(help="The identifier's scheme, e.g. progres-individual.")],
    to: Annotated[str, typer.Option("--to", help="The recipient system's id.")],
    purpose: Annotated[str, typer.Option(help="What it may be used for, e.g. birth-registration.")],
    category: Annotated[
        list[str], typer.Option(help="A data category it covers, e.g. identity; repeat for more.")
    ],
    value: Annotated[
        str | None,
        typer.Option(help="The identifier; leave it out to be asked for it without echo."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="When it lapses (ISO 8601 with a zone); in the future.")
    ] = None,
    guardian: Annotated[
        Relationship | None,
        typer.Option(help="Granted for a child by this guardian: how they stand to the child."),
    ] = None,
    child_views: Annotated[
        str | None,
        typer.Option(
            help="With --guardian: the child's views, or where they are recorded; leave it out "
            "to be asked for them without echo."
        ),
    ] = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Record a consent given by the person, or for a child by a guardian."""
    if value is None:
        value = typer.prompt("Identifier value (not shown)", hide_input=True)
    body: dict[str, Any] = {
        "subject": {"scheme": scheme, "value": value},
        "recipient": to,
        "purpose": purpose,
        "categories": category,
    }
    if expires is not None:
        body["expires_at"] = expires
    if guardian is not None:
        if child_views is None:
            child_views = typer.prompt(
                "The child's views, or where they are recorded (not shown)", hide_input=True
            )
        body |= {"granted_by": "guardian", "guardian_relationship": guardian}
    if child_views is not None:
        body["child_views"] = child_views
    _print(call_as("admin", url, "POST", "/consents", json=body), as_json)


@consents_app.command("show")
def show(consent_id: ConsentId, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Show a consent: who granted it, what relied on it, and once withdrawn, its notices."""
    _print(call_as("admin", url, "GET", f"/consents/{path_segment(consent_id)}"), as_json)


@consents_app.command("withdraw")
def withdraw(consent_id: ConsentId, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Withdraw a consent: later transfers are denied, and each recipient is told."""
    _print(call_as("admin", url, "POST", f"/consents/{path_segment(consent_id)}/withdraw"), as_json)


@consents_app.command("list")
def list_consents(
    recipient: Annotated[str | None, typer.Option(help="Only to this system.")] = None,
    purpose: Annotated[str | None, typer.Option(help="Only for this purpose.")] = None,
    state: Annotated[
        Literal["active", "withdrawn", "expired"] | None,
        typer.Option(help="Only active, withdrawn or expired ones."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    as_json: AsJson = False,
) -> None:
    """List the consents on record, latest granted first (reads the gateway's database)."""
    from gateway.runtime import Runtime

    try:
        runtime = Runtime.build(Settings())
    except GatewayError as error:
        typer.echo(f"error ({error.reason}): {error.message}", err=True)
        raise typer.Exit(2) from error
    try:
        found = runtime.consents.listing(
            recipient=recipient, purpose=purpose, state=state, limit=limit
        )
    finally:
        runtime.close()
    consents = [
        ConsentOut.model_validate(c, from_attributes=True).model_dump(mode="json") for c in found
    ]
    if as_json:
        typer.echo(json.dumps(consents, indent=2))
    for consent in [] if as_json else consents:
        for line in _in_words(consent):
            typer.echo(line)
    if not consents:
        typer.echo("no consent matches", err=True)
    raise typer.Exit(0 if consents else 1)


def _print(answer: httpx.Response, as_json: bool) -> None:
    """Print a consent in words (or as JSON); a refusal as what the gateway said, exit 1."""
    try:
        body = answer.json()
    except ValueError:
        body = {"reason": "unknown", "message": answer.text[:200]}
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        raise typer.Exit(0 if answer.is_success else 1)
    if answer.is_success:
        for line in _in_words(body):
            typer.echo(line)
        raise typer.Exit(0)
    refused(answer, body, "admin")


def _in_words(consent: dict[str, Any]) -> list[str]:
    """A consent as a few lines: its state, scope, who granted it, and what became of it."""
    until = consent["expires_at"]
    if consent["withdrawn_at"]:
        state = f"withdrawn {consent['withdrawn_at'][:19]}Z"
    elif until and dt.datetime.fromisoformat(until) <= dt.datetime.now(dt.UTC):
        state = f"expired {until[:19]}Z"
    else:
        state = "active" + (f" until {until[:19]}Z" if until else "")
    by = consent.get("granted_by", "subject")
    if by == "guardian":
        by = f"a guardian ({consent['guardian_relationship']})"
        if consent.get("child_views_recorded"):
            by += ", the child's views recorded"
    lines = [
        f"consent {consent['id']}  {state}",
        f"  {consent['subject']} -> {consent['recipient']} for {consent['purpose']}: "
        f"{', '.join(consent['categories'])}",
        f"  granted {consent['granted_at'][:19]}Z by {by}",
        f"  exchanges that relied on it: {consent.get('exchanges', 0)}",
    ]
    if consent.get("cancelled"):
        lines.append(f"  cancelled before they left: {', '.join(consent['cancelled'])}")
    for notice in consent.get("notices", []):
        if notice["problem"]:
            outcome = f"could not be rendered ({notice['problem']})"
        else:
            outcome = f"{notice['status']} after {notice['attempts']} attempt(s)"
        lines.append(
            f"  notice to {notice['recipient']}: {outcome}, exchange {notice['exchange_id']}"
        )
        lines.append(f"    covers {', '.join(notice['covers'])}")
    return lines
