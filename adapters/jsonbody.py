"""Decode a JSON message body defensively: bytes from outside are hostile until parsed."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from gateway.errors import ParseError, Problem

MAX_DEPTH = 32
MAX_INT_DIGITS = 19


class _Rejected(ValueError):
    """A JSON value that parses but that no message of ours may hold."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Rejected("number has too many digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected("number is out of range")
    return value


def _constant(text: str) -> Any:
    raise _Rejected(f"{text} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build an object, refusing duplicate keys.

    Why: parsers disagree on which duplicate wins, so a body holding two countries of origin
    could show one to the gateway's policy check and the other to the destination.
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"duplicate key {key!r}")
        result[key] = value
    return result


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _depth(text: str) -> int:
    """Return how deep a valid JSON text nests, or, when it has few brackets, their count."""
    openers = text.count("{") + text.count("[")
    if openers <= MAX_DEPTH:  # nothing can nest deeper than there are brackets
        return openers
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def load_object(body: bytes) -> dict[str, Any]:
    """Return the body's top-level JSON object, or raise ParseError saying why not."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = Problem("/", f"body is not valid UTF-8 (byte {exc.start})")
        raise ParseError("message is not UTF-8 JSON", [problem]) from exc
    try:
        doc = json.loads(
            text,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except RecursionError as exc:
        raise ParseError("message is not JSON", [Problem("/", "nesting is too deep")]) from exc
    except ValueError as exc:  # json.JSONDecodeError and _Rejected
        raise ParseError("message is not JSON", [Problem("/", str(exc))]) from exc
    if not isinstance(doc, dict):
        problem = Problem("/", f"expected a JSON object, got {type(doc).__name__}")
        raise ParseError("message is not a JSON object", [problem])
    if _depth(text) > MAX_DEPTH:
        raise ParseError("message is not acceptable", [Problem("/", "nesting is too deep")])
    return doc
