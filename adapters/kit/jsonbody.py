"""JSON message bodies: decoded defensively (bytes from outside are hostile until parsed), and
written canonically (sorted keys, no whitespace, UTF-8) so that equal data gives equal bytes.

Every body an adapter parses comes through `load_object`, so what it refuses (duplicate keys,
lone surrogates, control characters, deep nesting) no adapter has to think of again.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

import orjson

from adapters.kit.jsonschema_problems import pointer
from gateway.canonical.text import CONTROL_CHARACTERS, control_character
from gateway.errors import ParseError, Problem, first_problems

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


# Built once: json.loads with these hooks would build a decoder for every body.
_DECODER = json.JSONDecoder(
    parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object
)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _depth(text: str) -> int:
    """Return how deep a valid JSON text nests, or, when it has few brackets, their count."""
    openers = text.count("{") + text.count("[")
    if openers <= MAX_DEPTH:  # nothing can nest deeper than there are brackets
        return openers
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _unicode_problem(doc: dict[str, Any], text: str) -> Problem | None:
    """Say where a string or a key holds a lone surrogate: not Unicode text, so unwritable.

    Why look for escapes only: UTF-8 cannot carry a surrogate (decoding refused one), so a
    lone surrogate can only come from a \\uD800-\\uDFFF escape, and the decoder joins a valid
    pair into one character. Nearly every body has no such escape. Why orjson first: it
    refuses to write a lone surrogate, far more cheaply than a walk, so only a body that holds
    one is walked to say where.
    """
    if not _SURROGATE_ESCAPE.search(text):
        return None
    try:
        orjson.dumps(doc)
    except orjson.JSONEncodeError:
        return _lone_surrogate(doc, [])
    return None


def _lone_surrogate(value: Any, path: list[str | int]) -> Problem | None:
    """Find the first string, or key, holding a lone surrogate."""
    if isinstance(value, str):
        found = _SURROGATE.search(value) is not None
        return Problem(pointer(path), "string holds a lone surrogate") if found else None
    children: Iterable[tuple[str | int, Any]]
    if isinstance(value, dict):
        if any(_SURROGATE.search(key) for key in value):
            return Problem(pointer(path), "a key holds a lone surrogate")  # never echo the key
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return None
    for key, child in children:
        if problem := _lone_surrogate(child, [*path, key]):
            return problem
    return None


# A control character in a JSON text: raw (DEL, C1 and bidirectional controls may be; C0 ones
# are refused by the decoder), or escaped as \b, \f or \uXXXX. An escaped backslash before
# "b" or "u00.." also matches, and so does an escaped tab: the walk that follows decides.
_CONTROL_IN_TEXT = re.compile(
    f"[{CONTROL_CHARACTERS}]"
    r"|\\(?:[bf]|u(?:00[01][0-9a-f]|007f|00[89][0-9a-f]|202[a-e]|206[6-9]))",
    re.IGNORECASE,
)


def _control_problems(doc: dict[str, Any], text: str) -> list[Problem]:
    """Say where strings or keys hold control characters, naming the code point, not the text.

    Why search the text first: nearly every body holds none, and a regular expression over
    the text costs far less than a walk of the decoded body.
    """
    if not _CONTROL_IN_TEXT.search(text):
        return []
    return first_problems(_controls(doc, []))


def _controls(value: Any, path: list[str | int]) -> Iterator[Problem]:
    """Yield a problem for every string, and every object's keys, holding a control character."""
    if isinstance(value, str):
        if code := control_character(value):
            yield Problem(pointer(path), f"string holds control character {code}")
        return
    children: Iterable[tuple[str | int, Any]]
    if isinstance(value, dict):
        for key in value:
            if code := control_character(key):  # never echo the key: name its object
                yield Problem(pointer(path), f"a key holds control character {code}")
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return
    for key, child in children:
        yield from _controls(child, [*path, key])


def load_object(body: bytes) -> dict[str, Any]:
    """Return the body's top-level JSON object, or raise ParseError saying why not."""
    try:
        text = body.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem("/", f"body is not valid UTF-8 (byte {exc.start})")
        raise ParseError("message is not UTF-8 JSON", [problem]) from exc
    if text.startswith("\ufeff"):  # invisible: the JSON error would point at nothing
        raise ParseError("message is not JSON", [Problem("/", "body has two byte-order marks")])
    try:
        doc = _DECODER.decode(text)
    except RecursionError as exc:
        raise ParseError("message is not JSON", [Problem("/", "nesting is too deep")]) from exc
    except ValueError as exc:  # json.JSONDecodeError and _Rejected
        raise ParseError("message is not JSON", [Problem("/", str(exc))]) from exc
    if not isinstance(doc, dict):
        problem = Problem("/", f"expected a JSON object, got {type(doc).__name__}")
        raise ParseError("message is not a JSON object", [problem])
    if _depth(text) > MAX_DEPTH:
        raise ParseError("message is not acceptable", [Problem("/", "nesting is too deep")])
    if lone := _unicode_problem(doc, text):
        raise ParseError("message is not acceptable", [lone])
    if controls := _control_problems(doc, text):
        raise ParseError("message is not acceptable", controls)
    return doc
