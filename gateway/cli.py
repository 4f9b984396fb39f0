"""The `gateway` command: serve, send a file, list adapters, explain a decision, run the demo."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_adapters import adapters_app
from gateway.cli_audit import audit_app
from gateway.cli_consents import consents_app
from gateway.cli_dci import dci_app
from gateway.cli_dead_letters import dead_letters_app
from gateway.cli_dpo import dpo_app
from gateway.cli_import import import_file
from gateway.cli_keys import keys_app
from gateway.cli_output import (
    answer_in_words,
    call_gateway,
    exchange_line,
    fail,
    json_or_none,
    token_or_exit,
)
from gateway.cli_referrals import referrals_app
from gateway.cli_secrets import secrets_app
from gateway.cli_stack import stack_app
from gateway.cli_statistics import statistics_app
from gateway.cli_worker import migrate, worker
from gateway.config import Settings
from gateway.envelope import to_headers
from gateway.errors import GatewayError

# Tracebacks never show local variables: they may hold credentials or personal data.
app = typer.Typer(
    no_args_is_help=True,
    help="Policy-enforcing exchange gateway.",
    pretty_exceptions_show_locals=False,
)
policy_app = typer.Typer(no_args_is_help=True, help="Inspect the policy engine.")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(dpo_app, name="dpo")
app.add_typer(consents_app, name="consents")
app.add_typer(statistics_app, name="statistics")
app.add_typer(secrets_app, name="secrets")
app.add_typer(stack_app, name="stack")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(keys_app, name="keys")
app.add_typer(adapters_app, name="adapters")
app.add_typer(referrals_app, name="referrals")
app.add_typer(dci_app, name="dci")
app.command("import")(import_file)
app.command()(worker)
app.command()(migrate)

DEMO_PORTS = (8101, 8102, 8103)  # proGres, civil registry, embassy stand-ins
Destination = Annotated[str, typer.Option("--to", help="Destination system id.")]
MessageType = Annotated[str, typer.Option("--type", help="Message type, e.g. birth-notification.")]
Purpose = Annotated[str, typer.Option(help="Declared purpose, e.g. birth-registration.")]
Basis = Annotated[str, typer.Option("--basis", help="Legal basis, e.g. consent.")]
Agreement = Annotated[str | None, typer.Option(help="Agreement id, if one applies.")]
BestInterests = Annotated[
    str | None, typer.Option(help="A best-interests determination's reference, for children.")
]
MessageFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Native message.")]
GatewayUrl = Annotated[str, typer.Option(help="Gateway base URL.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the gateway's answer as JSON.")]
DEFAULT_URL = "http://127.0.0.1:8000"
ContentType = Annotated[
    str, typer.Option(help="The file's media type, as the source adapter reads it.")
]


def _envelope(
    to: str,
    type_: str,
    purpose: str,
    basis: str,
    agreement: str | None,
    key: str | None,
    best_interests: str | None = None,
) -> dict[str, str]:
    return to_headers(
        {
            "destination": to,
            "message_type": type_,
            "purpose": purpose,
            "legal_basis": basis,
            "agreement": agreement,
            "best_interests": best_interests,
            "idempotency_key": key or f"cli-{uuid.uuid4()}",
        }
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Register demo systems and start stand-ins.")] = False,
    workers: Annotated[
        int, typer.Option(min=1, envvar="GATEWAY_WORKERS", help="Serving processes (one per core).")
    ] = 1,
) -> None:
    """Run the gateway (HTTP API, OpenAPI at /docs, in-process outbox relay)."""
    from gateway import logs
    from gateway.api.app import serve as serve_http
    from gateway.runtime import Runtime

    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)  # start-up's own lines too
    try:
        runtime = Runtime.build(settings)
    except GatewayError as error:
        fail(error)
    if demo:
        from gateway.demo.flow import DemoEnvironment

        env = DemoEnvironment.start(runtime, f"http://{host}:{port}", DEMO_PORTS)
        typer.echo(env.describe())
    try:
        serve_http(runtime, host, port, workers)
    except GatewayError as error:
        runtime.close()
        fail(error)


@app.command()
def send(
    message: MessageFile,
    to: Destination,
    type_: MessageType,
    purpose: Purpose,
    basis: Basis,
    agreement: Agreement = None,
    best_interests: BestInterests = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key (default: random).")] = None,
    url: GatewayUrl = DEFAULT_URL,
    content_type: ContentType = "application/json",
    as_json: AsJson = False,
) -> None:
    """Send a file as an exchange, with the system credential in $GATEWAY_CREDENTIAL."""
    credential = os.environ.get("GATEWAY_CREDENTIAL")
    if not credential:
        from gateway.demo.flow import CREDENTIALS_FILE

        demo = Settings().data_dir / CREDENTIALS_FILE
        typer.echo(
            "error: set GATEWAY_CREDENTIAL to the sending system's credential.\n"
            f"The demo systems' credentials (gateway serve --demo) are in {demo}; e.g.\n"
            "  export GATEWAY_CREDENTIAL=$(python3 -c 'import json; print(json.load(open("
            f'"{demo}"))["unhcr-progres"])\')',
            err=True,
        )
        raise typer.Exit(2)
    headers = _envelope(to, type_, purpose, basis, agreement, key, best_interests)
    headers["Authorization"] = f"Bearer {credential}"
    headers["Content-Type"] = content_type
    response = call_gateway(
        url, "POST", "/exchanges", content=message.read_bytes(), headers=headers
    )
    if as_json:
        typer.echo(json.dumps(response.json(), indent=2))
    else:
        for line in answer_in_words(response.status_code, json_or_none(response), to):
            typer.echo(line)
        if response.status_code == 401:
            typer.echo("  check GATEWAY_CREDENTIAL: it is not a registered system's", err=True)
    raise typer.Exit(0 if response.is_success else 1)


@app.command("exchanges")
def list_exchanges(
    source: Annotated[str | None, typer.Option(help="Only from this system.")] = None,
    destination: Annotated[str | None, typer.Option(help="Only to this system.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Only this message type.")] = None,
    decision: Annotated[str | None, typer.Option(help="allowed, denied or invalid.")] = None,
    delivery: Annotated[str | None, typer.Option(help="pending, delivered or dead.")] = None,
    since: Annotated[str | None, typer.Option(help="Recorded at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Recorded before (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 20,
    wait: Annotated[
        float, typer.Option(min=0, help="Wait up to this many seconds for one to match.")
    ] = 0,
    url: GatewayUrl = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """List recent exchanges, newest first (administrator: $GATEWAY_ADMIN_TOKEN or var/)."""
    token = token_or_exit("admin")
    filters = {
        "source": source,
        "destination": destination,
        "message_type": type_,
        "decision": decision,
        "delivery": delivery,
        "since": since,
        "until": until,
        "limit": limit,
    }
    params = {name: value for name, value in filters.items() if value is not None}
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + wait
    while True:
        response = call_gateway(url, "GET", "/exchanges", params=params, headers=headers)
        found = response.json().get("exchanges", []) if response.is_success else []
        if found or not response.is_success or time.monotonic() >= deadline:
            break
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
    if as_json or not response.is_success:
        typer.echo(json.dumps(response.json(), indent=2))
        raise typer.Exit(0 if response.is_success else 1)
    for exchange in found:
        typer.echo(exchange_line(exchange))
    if not found:
        typer.echo("no exchange matches" + (f" after {wait:g} s" if wait else ""), err=True)
    raise typer.Exit(0 if found else 1)


@policy_app.command("explain")
def explain(
    message: MessageFile,
    source: Annotated[str, typer.Option("--from", help="Source system id.")],
    to: Destination,
    type_: MessageType,
    purpose: Purpose,
    basis: Basis,
    agreement: Agreement = None,
    best_interests: BestInterests = None,
    content_type: ContentType = "application/json",
) -> None:
    """Say whether an exchange would be allowed, and every rule that fired; nothing is sent."""
    from gateway.runtime import Runtime

    try:
        runtime = Runtime.build(Settings())
    except GatewayError as error:
        fail(error)
    try:
        headers = _envelope(to, type_, purpose, basis, agreement, "explain-only", best_interests)
        headers["Content-Type"] = content_type
        decision = runtime.exchanges.explain(source, headers, message.read_bytes())
    except GatewayError as error:
        fail(error)
    finally:
        runtime.close()  # its database connections, which nothing else would close
    for fired in decision.trace:
        typer.echo(f"[{fired.stage:<9}] {fired.outcome:<5} {fired.rule}: {fired.detail}")
    verdict = "ALLOWED" if decision.allowed else "DENIED"
    typer.echo(f"{verdict}  reasons={','.join(decision.reasons)}  policy={decision.policy_version}")
    if decision.agreement:
        typer.echo(f"agreement: {decision.agreement}")
    if decision.allowed:
        typer.echo(f"categories sent: {', '.join(sorted(decision.categories))}")
    if decision.approval:
        typer.echo(f"waits for the DPO: {decision.approval}")
    raise typer.Exit(0 if decision.allowed else 1)


@policy_app.command("agreements")
def agreements() -> None:
    """List every agreement version in the policy files, and which is in force today."""
    from gateway.policy import PolicyEngine
    from gateway.runtime import utc_now

    try:
        book = PolicyEngine(Settings().policy_dir).agreements
    except GatewayError as error:
        fail(error)
    now = utc_now()
    for agreement in book.all():
        state = "in force" if book.current(agreement.id, now) == agreement else "not in force"
        until = agreement.valid_until.isoformat() if agreement.valid_until else "open-ended"
        typer.echo(f"{agreement.citation:<40} {state:<13} {agreement.valid_from} to {until}")
        typer.echo(f"  {agreement.title}")
        typer.echo(f"  parties: {', '.join(sorted(agreement.parties))}")
        typer.echo(f"  purposes: {', '.join(sorted(agreement.purposes))}")
        typer.echo(f"  categories: {', '.join(sorted(agreement.categories))}")
        typer.echo(f"  legal bases: {', '.join(sorted(agreement.legal_bases))}")
        approval = "every transfer" if agreement.dpo_approval else "sensitive data only"
        typer.echo(
            f"  onward transfer: {agreement.onward_transfer.value}; DPO approves: {approval}"
        )
        if agreement.origin_exceptions:
            typer.echo(f"  origin exceptions: {', '.join(sorted(agreement.origin_exceptions))}")


@app.command()
def demo() -> None:
    """Run the birth flow and a blocked attempt against stand-in systems; say what happened."""
    from gateway.demo.flow import run_demo

    sys.exit(run_demo(Settings()))
