"""What the `gateway` command prints and how it calls the gateway: answers in words, one
exchange per line, and what to do when the gateway cannot be reached.

The words are for a person at a terminal; `--json` gives the answer itself, for scripts.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Literal, NoReturn
from urllib.parse import quote

import httpx
import typer

from gateway.config import ADMIN_TOKEN_FILE, DPO_TOKEN_FILE, Settings
from gateway.errors import GatewayError
from gateway.policy.reasons import in_words


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def answer_in_words(status: int, body: Any, destination: str) -> list[str]:
    """Say what an answer to `POST /exchanges` means: the outcome, the reasons, what to try."""
    if not isinstance(body, dict):
        return [f"{status_line(status)}: the gateway's answer was not JSON"]
    exchange = body.get("exchange_id", "?")
    if status == 202:
        then = "queued for delivery"
        if body.get("status") == "awaiting-approval":
            then = "held until the data protection officer approves it, then sent"
        lines = [
            f"{status_line(status)}: exchange {exchange} allowed and {then} to {destination}",
            f"  categories sent: {', '.join(body.get('categories', [])) or 'none'}",
        ]
    elif status == 200:
        lines = [
            f"{status_line(status)}: exchange {exchange} was accepted before under this "
            "idempotency key (a replay: nothing new is sent)"
        ]
    elif status == 403 and body.get("reasons"):
        lines = [f"{status_line(status)}: exchange {exchange} denied by policy"]
        lines += [f"  {reason}: {in_words(reason)}" for reason in body["reasons"]]
    else:
        recorded = f" (recorded as exchange {exchange})" if "exchange_id" in body else ""
        lines = [
            f"{status_line(status)}: {body.get('message', '')} "
            f"[{body.get('reason', 'unknown')}]{recorded}"
        ]
    lines += [f"  - {p['location']}: {p['message']}" for p in body.get("problems", [])]
    if body.get("problem_count", 0) > len(body.get("problems", [])):
        lines.append(f"  ({body['problem_count']} problems in all)")
    return lines


def exchange_line(exchange: dict[str, Any]) -> str:
    """One exchange as a line: when, id, who to whom, what, the decision and its delivery."""
    decision = exchange["decision"]
    if decision != "allowed" and exchange.get("reasons"):
        decision += f" ({', '.join(exchange['reasons'])})"
    delivery = exchange.get("delivery")
    parts = [
        exchange["recorded_at"][:19] + "Z",  # to the second, in UTC as recorded
        exchange["exchange_id"],
        f"{exchange.get('source') or '?'} -> {exchange.get('destination') or '?'}",
        exchange.get("message_type") or "?",
        decision,
    ]
    if delivery:
        parts.append(f"delivery {delivery['status']}")
    return "  ".join(parts)


def call_gateway(url: str, method: str, path: str, **request: Any) -> httpx.Response:
    """Call the gateway; if it cannot be reached, say so and how to start it, and exit 2."""
    try:
        return httpx.request(method, f"{url}{path}", timeout=30, **request)
    except httpx.HTTPError as exc:
        unreachable(url, exc)


def unreachable(url: str, exc: httpx.HTTPError) -> NoReturn:
    """Say the gateway cannot be reached and how to start it; exit 2."""
    typer.echo(
        f"error: cannot reach the gateway at {url} ({type(exc).__name__}); is it "
        "running? Start it with `make run` or `gateway serve`, or pass --url",
        err=True,
    )
    raise typer.Exit(2) from exc


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def token_or_exit(*roles: Literal["dpo", "admin"]) -> str:
    """Return the first of these roles' tokens that is set or was made; else say where they
    are and exit 2 (never making one: a token is made by the gateway that checks it)."""
    settings = Settings()
    found = {"dpo": settings.existing_dpo_token, "admin": settings.existing_admin_token}
    for role in roles:
        if (token := found[role]()) is not None:
            return token
    variables = " or ".join(f"GATEWAY_{role.upper()}_TOKEN" for role in roles)
    files = {"dpo": DPO_TOKEN_FILE, "admin": ADMIN_TOKEN_FILE}
    where = " or ".join(str(settings.data_dir / files[role]) for role in roles)
    typer.echo(
        f"error: no token. Set {variables}, or run this where `gateway serve` keeps its data "
        f"({where})",
        err=True,
    )
    raise typer.Exit(2)


ROLE_NAMES = {"dpo": "the data protection officer's", "admin": "the administrator's"}


def path_segment(value: str) -> str:
    """Quote an id for a URL path: whatever was typed, it stays one segment (the gateway
    answers 404 to a bad one)."""
    return quote(value, safe="")


def call_as(
    role: Literal["dpo", "admin"], url: str, method: str, path: str, **request: Any
) -> httpx.Response:
    """Call the gateway with the role's token; if it cannot be reached, say so (exit 2)."""
    headers = {"Authorization": f"Bearer {token_or_exit(role)}"}
    return call_gateway(url, method, path, headers=headers, **request)


def exit_if_refused(answer: httpx.Response, as_json: bool, role: Literal["dpo", "admin"]) -> None:
    """If the gateway refused, say what it said (or print it as JSON) and exit 1."""
    if answer.is_success:
        return
    try:
        body = answer.json()
    except ValueError:
        body = {"reason": "unknown", "message": answer.text[:200]}
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        raise typer.Exit(1)
    refused(answer, body, role)


def fail(error: GatewayError) -> NoReturn:
    """Say why the gateway could not start or act, every problem; exit 2."""
    typer.echo(f"error ({error.reason}): {error.message}", err=True)
    for problem in error.problems:
        typer.echo(f"  - {problem.location}: {problem.message}", err=True)
    raise typer.Exit(2)


def refused(answer: httpx.Response, body: Any, *roles: Literal["dpo", "admin"]) -> NoReturn:
    """Say what the gateway refused, every problem, and for 401/403 whose token it needs and
    where it is; exit 1."""
    body = body if isinstance(body, dict) else {}
    typer.echo(
        f"error ({body.get('reason', answer.status_code)}): {body.get('message', '')}", err=True
    )
    for problem in body.get("problems", []):
        typer.echo(f"  - {problem['location']}: {problem['message']}", err=True)
    if answer.status_code in (401, 403):
        settings = Settings()
        files = {"dpo": DPO_TOKEN_FILE, "admin": ADMIN_TOKEN_FILE}
        whose = " or ".join(ROLE_NAMES[role] for role in roles)
        where = " or ".join(
            f"GATEWAY_{role.upper()}_TOKEN, or {settings.data_dir / files[role]}" for role in roles
        )
        typer.echo(f"  this needs {whose} token: check {where} of the gateway you ask", err=True)
    raise typer.Exit(1)
