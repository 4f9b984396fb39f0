"""`gateway dpo`: the data protection officer's views and approval queue from a terminal.

The token is the DPO's ($GATEWAY_DPO_TOKEN, or var/dpo.token where `gateway serve` keeps its
data). `gateway dpo subject` asks for the identifier's value without echoing it when
--value is not given: a value typed on the command line stays in the shell's history and
is seen by anyone listing processes. No output ever repeats it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer

from gateway.cli_output import call_as, exchange_line, exit_if_refused, path_segment

dpo_app = typer.Typer(
    no_args_is_help=True,
    help="The data protection officer's views: exchanges, a person's history, the transfer "
    "register, denials, exports; and the approval queue (token: $GATEWAY_DPO_TOKEN or "
    "var/dpo.token).",
)

DEFAULT_URL = "http://127.0.0.1:8000"
Url = Annotated[str, typer.Option(help="Gateway base URL.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the gateway's answer as JSON.")]
Recipient = Annotated[str | None, typer.Option(help="Only to this system.")]
Jurisdiction = Annotated[
    str | None, typer.Option(help="Only to systems this state controls (ISO 3166 alpha-3).")
]
Purpose = Annotated[str | None, typer.Option(help="Only for this purpose.")]
Decision = Annotated[str | None, typer.Option(help="allowed, denied or invalid.")]
Source = Annotated[str | None, typer.Option(help="Only from this system.")]
Since = Annotated[str | None, typer.Option(help="Recorded at or after (ISO 8601, with zone).")]
Until = Annotated[str | None, typer.Option(help="Recorded before (ISO 8601, with zone).")]
Cursor = Annotated[str | None, typer.Option(help="Where to go on: a page's next cursor.")]


def _filters(**given: Any) -> dict[str, Any]:
    return {name: value for name, value in given.items() if value is not None}


@dpo_app.command("exchanges")
def exchanges(
    recipient: Recipient = None,
    jurisdiction: Jurisdiction = None,
    purpose: Purpose = None,
    decision: Decision = None,
    source: Source = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 20,
    cursor: Cursor = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """List exchanges, newest first, by recipient, jurisdiction, purpose, decision, period."""
    params = _filters(
        recipient=recipient,
        jurisdiction=jurisdiction,
        purpose=purpose,
        decision=decision,
        source=source,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    _print_page(
        call_as("dpo", url, "GET", "/dpo/exchanges", params=params), as_json, "no exchange matches"
    )


@dpo_app.command("subject")
def subject(
    scheme: Annotated[str, typer.Option(help="The identifier's scheme, e.g. progres-individual.")],
    value: Annotated[
        str,
        typer.Option(
            prompt="Identifier value (not shown)",
            hide_input=True,
            help="The identifier; leave it out to be asked for it without echo.",
        ),
    ],
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    cursor: Cursor = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """List every exchange about one person, found by an identifier (in the body, not the URL)."""
    body = _filters(
        scheme=scheme, value=value, since=since, until=until, limit=limit, cursor=cursor
    )
    answer = call_as("dpo", url, "POST", "/dpo/subjects/history", json=body)
    _print_page(answer, as_json, "no exchange about this person")


@dpo_app.command("register")
def register(
    since: Since = None,
    until: Until = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", dir_okay=False, help="Write the register here as CSV.")
    ] = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """The transfer register of a period: one line per recipient, purpose, basis and data."""
    params = _filters(since=since, until=until)
    if csv_file is not None:
        answer = call_as("dpo", url, "GET", "/dpo/register.csv", params=params)
        exit_if_refused(answer, False, "dpo")
        csv_file.write_bytes(answer.content)
        lines = len(list(csv.reader(io.StringIO(answer.text)))) - 1  # less the header row
        typer.echo(f"wrote {lines} register lines to {csv_file}")
        raise typer.Exit(0)
    answer = call_as("dpo", url, "GET", "/dpo/register", params=params)
    exit_if_refused(answer, as_json, "dpo")
    entries = answer.json()
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        raise typer.Exit(0)
    for entry in entries:
        abroad = f" (third country: {entry['third_country']})" if entry["third_country"] else ""
        typer.echo(
            f"{entry['recipient']} [{entry['recipient_jurisdiction']}]{abroad}: "
            f"{entry['count']} x {entry['purpose']} under {entry['legal_basis']}"
            + (f", agreement {entry['agreement']}" if entry["agreement"] else "")
        )
        typer.echo(f"  data: {', '.join(entry['data_categories']) or 'none'}")
        typer.echo(f"  from {entry['first_transfer'][:19]}Z to {entry['last_transfer'][:19]}Z")
        for rule in entry["rules"]:
            typer.echo(f"  rule: {rule}")
    if entries:
        typer.echo(f"controller: {entries[0]['controller']}; retention: {entries[0]['retention']}")
    else:
        typer.echo("no allowed exchange in this period", err=True)


@dpo_app.command("denials")
def denials(
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Latest denials to list.")] = 10,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Denials of a period: how many for each reason and recipient, and the latest ones."""
    answer = call_as(
        "dpo", url, "GET", "/dpo/denials", params=_filters(since=since, until=until, limit=limit)
    )
    exit_if_refused(answer, as_json, "dpo")
    report = answer.json()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        raise typer.Exit(0)
    typer.echo(f"{report['total']} denied exchanges")
    for counted in report["by_reason"]:
        typer.echo(f"  {counted['count']:>6}  {counted['reason']}: {counted['words']}")
    for counted in report["by_recipient"]:
        typer.echo(f"  {counted['count']:>6}  to {counted['recipient'] or '?'}")
    if report["recent"]:
        typer.echo("latest:")
    for exchange in report["recent"]:
        typer.echo(f"  {exchange_line(exchange)}")


@dpo_app.command("export")
def export(
    format_: Annotated[Literal["csv", "fhir"], typer.Option("--format", help="csv or fhir.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Write the export to this file.")],
    recipient: Recipient = None,
    jurisdiction: Jurisdiction = None,
    purpose: Purpose = None,
    decision: Decision = None,
    source: Source = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="At most this many a part [default: 10,000 CSV, 1,000 FHIR]."),
    ] = None,
    cursor: Cursor = None,
    url: Url = DEFAULT_URL,
) -> None:
    """Export exchanges as CSV, or as FHIR AuditEvents (IHE BALP); a part at a time."""
    params = _filters(
        recipient=recipient,
        jurisdiction=jurisdiction,
        purpose=purpose,
        decision=decision,
        source=source,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    path = "/dpo/exchanges.csv" if format_ == "csv" else "/dpo/exchanges.fhir"
    answer = call_as("dpo", url, "GET", path, params=params)
    exit_if_refused(answer, False, "dpo")
    out.write_bytes(answer.content)
    typer.echo(f"wrote {answer.headers.get('X-Export-Count', '?')} exchanges to {out}")
    if (more := answer.headers.get("X-Export-Next-Cursor")) is not None:
        typer.echo(f"the export was cut at its limit: for the next part, add --cursor {more}")


def _print_page(answer: httpx.Response, as_json: bool, none_found: str) -> None:
    exit_if_refused(answer, as_json, "dpo")
    page = answer.json()
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        raise typer.Exit(0)
    for exchange in page["exchanges"]:
        typer.echo(exchange_line(exchange))
        typer.echo(f"    subjects: {' '.join(exchange['subjects']) or 'none'}")
    if page["next_cursor"]:
        typer.echo(f"more: add --cursor {page['next_cursor']}", err=True)
    if not page["exchanges"]:
        typer.echo(none_found, err=True)
    raise typer.Exit(0 if page["exchanges"] else 1)


# --- the approval queue: exchanges held until the DPO approves or rejects them ---------------

approvals_app = typer.Typer(
    no_args_is_help=True,
    help="Exchanges held for the DPO's approval: list, show, approve, reject.",
)
dpo_app.add_typer(approvals_app, name="approvals")
ExchangeId = Annotated[str, typer.Argument(help="The held exchange's id.")]


@approvals_app.command("list")
def approvals_list(
    state: Annotated[
        Literal["pending", "approved", "rejected", "all"],
        typer.Option(help="Which: pending (oldest first), approved, rejected, all (newest first)."),
    ] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 20,
    cursor: Cursor = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """List held exchanges: those waiting for a decision, by default."""
    params = _filters(state=state, limit=limit, cursor=cursor)
    answer = call_as("dpo", url, "GET", "/dpo/approvals", params=params)
    exit_if_refused(answer, as_json, "dpo")
    page = answer.json()
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        raise typer.Exit(0)
    for approval in page["approvals"]:
        exchange = approval["exchange"]
        typer.echo(
            "  ".join(
                [
                    approval["requested_at"][:19] + "Z",
                    approval["exchange_id"],
                    f"{exchange['source']} -> {exchange['destination']}",
                    exchange["message_type"] or "?",
                    approval["state"],
                ]
            )
        )
        typer.echo(f"    why: {approval['why']}")
    if page["next_cursor"]:
        typer.echo(f"more: add --cursor {page['next_cursor']}", err=True)
    if not page["approvals"]:
        typer.echo(f"no {'' if state == 'all' else state + ' '}approval", err=True)
    raise typer.Exit(0 if page["approvals"] else 1)


@approvals_app.command("show")
def approvals_show(
    exchange_id: ExchangeId, url: Url = DEFAULT_URL, as_json: AsJson = False
) -> None:
    """Show a held exchange: why it waits, what it is, and what was decided (never its body)."""
    _print_approval(
        call_as("dpo", url, "GET", f"/dpo/approvals/{path_segment(exchange_id)}"), as_json
    )


@approvals_app.command("approve")
def approvals_approve(
    exchange_id: ExchangeId,
    reason: Annotated[
        str | None, typer.Option(help="Why (optional, kept with the decision).")
    ] = None,
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Approve a held exchange: it is queued for delivery."""
    path = f"/dpo/approvals/{path_segment(exchange_id)}/approve"
    _print_approval(call_as("dpo", url, "POST", path, json=_filters(reason=reason)), as_json)


@approvals_app.command("reject")
def approvals_reject(
    exchange_id: ExchangeId,
    reason: Annotated[
        str,
        typer.Option(prompt="Why is it rejected", help="Why (required; asked for if not given)."),
    ],
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Reject a held exchange: it is never sent, and its message is erased."""
    path = f"/dpo/approvals/{path_segment(exchange_id)}/reject"
    _print_approval(call_as("dpo", url, "POST", path, json={"reason": reason}), as_json)


def _print_approval(answer: httpx.Response, as_json: bool) -> None:
    exit_if_refused(answer, as_json, "dpo")
    approval = answer.json()
    if as_json:
        typer.echo(json.dumps(approval, indent=2))
        raise typer.Exit(0)
    exchange = approval["exchange"]
    typer.echo(f"exchange {approval['exchange_id']}: {approval['state']}")
    typer.echo(f"  why: {approval['why']} (asked {approval['requested_at'][:19]}Z)")
    agreement = f", agreement {exchange['agreement']}" if exchange.get("agreement") else ""
    typer.echo(
        f"  {exchange['source']} -> {exchange['destination']} "
        f"[{exchange['destination_jurisdiction'] or '?'}]: {exchange['message_type']} for "
        f"{exchange['purpose']} under {exchange['legal_basis']}{agreement}"
    )
    typer.echo(f"  data: {', '.join(exchange['categories']) or 'none'}")
    typer.echo(f"  subjects: {' '.join(exchange['subjects']) or 'none'}")
    if approval["decided_at"]:
        said = f": {approval['reason']}" if approval["reason"] else ""
        typer.echo(
            f"  {approval['state']} by {approval['decided_by']} at "
            f"{approval['decided_at'][:19]}Z{said}"
        )
    if exchange.get("delivery"):
        typer.echo(f"  delivery: {exchange['delivery']['status']}")
    raise typer.Exit(0)
