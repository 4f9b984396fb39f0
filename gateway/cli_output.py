"""What the `gateway` command prints: the gateway's answers in words, one exchange per line.

The words are for a person at a terminal; `--json` gives the answer itself, for scripts.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

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
        lines = [
            f"{status_line(status)}: exchange {exchange} allowed and queued for delivery to "
            f"{destination}",
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
