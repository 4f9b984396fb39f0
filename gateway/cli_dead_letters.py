"""`gateway dead-letters`: the messages the relay gave up on, worked from a terminal.

`list`, `show`, `replay`, `replay-all` and `discard` ask a gateway with the administrator's
token ($GATEWAY_ADMIN_TOKEN, or var/admin.token where `gateway serve` keeps its data), so a
replay wakes its relay at once. `purge` erases the bodies of dead letters past the retention
period on the database directly, and so runs where the gateway's settings are, like
`gateway keys`. Nothing printed ever holds a body.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import httpx
import typer

from gateway.cli_output import call_as, exit_if_refused, path_segment
from gateway.config import Settings

dead_letters_app = typer.Typer(
    no_args_is_help=True,
    help="Dead letters: list, show, replay, replay-all, discard (the administrator's token: "
    "$GATEWAY_ADMIN_TOKEN or var/admin.token) and purge (where the gateway's settings are).",
)

DEFAULT_URL = "http://127.0.0.1:8000"
Url = Annotated[str, typer.Option(help="Gateway base URL.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the gateway's answer as JSON.")]
ExchangeId = Annotated[str, typer.Argument(help="The dead letter's exchange id.")]


@dead_letters_app.command("list")
def list_dead_letters(
    destination: Annotated[str | None, typer.Option(help="Only those to this system.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Where to go on: a page's next cursor.")
    ] = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """List dead letters, oldest first: to whom, how often tried, why the last try failed."""
    given = {"destination": destination, "limit": limit, "cursor": cursor}
    params = {name: value for name, value in given.items() if value is not None}
    answer = call_as("admin", url, "GET", "/dead-letters", params=params)
    exit_if_refused(answer, as_json, "admin")
    page = answer.json()
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        raise typer.Exit(0)
    for letter in page["dead_letters"]:
        typer.echo(_line(letter))
    if page["next_cursor"]:
        typer.echo(f"more: add --cursor {page['next_cursor']}", err=True)
    if not page["dead_letters"]:
        typer.echo("no dead letter" + (f" to {destination}" if destination else ""), err=True)
    raise typer.Exit(0 if page["dead_letters"] else 1)


@dead_letters_app.command("show")
def show(exchange_id: ExchangeId, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Show a dead letter: every attempt, and what was done with it (never its body)."""
    _print_letter(
        call_as("admin", url, "GET", f"/dead-letters/{path_segment(exchange_id)}"), as_json
    )


@dead_letters_app.command("replay")
def replay(exchange_id: ExchangeId, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Replay a dead letter: it is sent again at once, its attempts counted afresh."""
    path = f"/dead-letters/{path_segment(exchange_id)}/replay"
    _print_letter(call_as("admin", url, "POST", path), as_json)


@dead_letters_app.command("replay-all")
def replay_all(
    destination: Annotated[str, typer.Option(help="The destination system's id.")],
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Replay every dead letter of a destination (its endpoint mended, say), at once."""
    answer = call_as(
        "admin", url, "POST", "/dead-letters/replay", json={"destination": destination}
    )
    exit_if_refused(answer, as_json, "admin")
    done = answer.json()
    if as_json:
        typer.echo(json.dumps(done, indent=2))
        raise typer.Exit(0)
    typer.echo(f"replayed {done['replayed']} dead letters to {done['destination']}")
    if done["left_without_body"]:
        typer.echo(
            f"{done['left_without_body']} left as they are: their bodies were purged after "
            "the retention period (discard them)"
        )
    raise typer.Exit(0)


@dead_letters_app.command("discard")
def discard(
    exchange_id: ExchangeId,
    reason: Annotated[
        str,
        typer.Option(prompt="Why is it discarded", help="Why (required; asked for if not given)."),
    ],
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Discard a dead letter: it is never sent, and its body is erased; the reason is kept."""
    path = f"/dead-letters/{path_segment(exchange_id)}/discard"
    _print_letter(call_as("admin", url, "POST", path, json={"reason": reason}), as_json)


@dead_letters_app.command("purge")
def purge() -> None:
    """Erase the bodies of dead letters past the retention period; keep their records.

    GATEWAY_DEAD_LETTER_RETENTION_DAYS after its last attempt (30 by default). Runs on the
    gateway's database directly: run it where the gateway's settings are.
    """
    from gateway.cli_keys import maintenance
    from gateway.dead_letters.retention import purge_dead_bodies

    settings = Settings()
    db, _ = maintenance(settings)
    days = settings.dead_letter_retention_days
    try:
        purged = purge_dead_bodies(db, dt.datetime.now(dt.UTC), dt.timedelta(days=days))
        if purged:
            db.truncate_log()  # the erased bodies leave SQLite's log too
    finally:
        db.dispose()
    typer.echo(f"erased the bodies of {purged} dead letters last tried over {days} days ago")


def _when(moment: str | None) -> str:
    return "never" if moment is None else moment[:19] + "Z"  # to the second, in UTC


def _line(letter: dict[str, Any]) -> str:
    """One dead letter as a line: last tried, id, who to whom, what, tries, why it failed."""
    parts = [
        _when(letter["last_attempt_at"]),
        letter["exchange_id"],
        f"{letter['source'] or '?'} -> {letter['destination']}",
        letter["message_type"] or "?",
        f"{letter['attempts']} attempts",
        letter["last_error"] or "no error recorded",
    ]
    if not letter["body_held"]:
        parts.append("(body purged)")
    return "  ".join(parts)


def _print_letter(answer: httpx.Response, as_json: bool) -> None:
    exit_if_refused(answer, as_json, "admin")
    letter = answer.json()
    if as_json:
        typer.echo(json.dumps(letter, indent=2))
        raise typer.Exit(0)
    typer.echo(f"exchange {letter['exchange_id']}: {letter['status']}")
    typer.echo(
        f"  {letter['source'] or '?'} -> {letter['destination']}: "
        f"{letter['message_type'] or '?'}, accepted {_when(letter['recorded_at'])}"
    )
    kept = "kept, sealed" if letter["body_held"] else "erased"
    size = f"{letter['body_bytes']} bytes, " if letter["body_bytes"] is not None else ""
    typer.echo(f"  body: {letter['content_type']}, {size}{kept}")
    typer.echo(
        f"  {letter['attempts']} attempts, first {_when(letter['first_attempt_at'])}, last "
        f"{_when(letter['last_attempt_at'])}"
    )
    if letter["last_error"]:
        typer.echo(f"  last error: {letter['last_error']}")
    for attempt in letter["attempt_log"]:
        code = attempt["status_code"]
        what = f"HTTP {code}" if code is not None else (attempt["error"] or "no answer")
        typer.echo(f"    tried {_when(attempt['attempted_at'])}: {what}")
    for action in letter["actions"]:
        why = f": {action['reason']}" if action["reason"] else ""
        typer.echo(f"  {action['action']} by {action['actor']} at {_when(action['at'])}{why}")
    raise typer.Exit(0)
