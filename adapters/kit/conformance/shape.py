"""The contract's shape: what an adapter must be, and the optional Protocols it may offer.

Checked before any sample is read, so that an adapter missing an attribute fails with that,
not with a crash further on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.kit.contract import (
    Adapter,
    Fetcher,
    Receipt,
    RenderChecker,
    Rendered,
    ResponseReader,
    WireErrors,
    check_content_type,
)
from adapters.kit.mapping import MappingSet
from gateway.canonical import NAME_PATTERN, DataCategory
from gateway.errors import (
    COUNT_LIMIT,
    GatewayError,
    ParseError,
    Problem,
    UnsupportedMediaTypeError,
)

UNKNOWN_TYPE = "no-such-message-type"
ERROR_BODY_LIMIT = 256 * 1024
"""Bytes a wire error may take, whatever the error: problems are capped, so is the answer."""
_NAME = re.compile(NAME_PATTERN)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def contract(adapter: Any) -> list[str]:
    """Check the Adapter contract's shape and its refusals of what the adapter does not do."""
    if not isinstance(adapter, Adapter):
        return [
            "does not satisfy the Adapter protocol (name, parses, renders, media_types,"
            " mappings, native_fields, parse, render)"
        ]
    found = []
    if not isinstance(adapter.name, str) or not _NAME.match(adapter.name):
        found.append(f"name {adapter.name!r} does not match {NAME_PATTERN}")
    for attribute in ("parses", "renders", "media_types"):
        value = getattr(adapter, attribute)
        if not isinstance(value, frozenset) or not all(isinstance(v, str) for v in value):
            found.append(f"{attribute} is not a frozenset of str")
    if found:
        return found
    if not adapter.parses | adapter.renders:
        found.append("neither parses nor renders any message type")
    found += [
        f"message type {t!r} does not match {NAME_PATTERN}"
        for t in sorted(adapter.parses | adapter.renders)
        if not _NAME.match(t)
    ]
    if adapter.parses and not adapter.media_types:
        found.append("parses messages but reads no media type")
    for media_type in sorted(adapter.media_types):
        if not _MEDIA_TYPE.match(media_type):
            found.append(f"media type {media_type!r} is not a lower-case type/subtype")
            continue
        found += _raises_none(lambda m=media_type: check_content_type(adapter, m), media_type)
    try:
        check_content_type(adapter, "application/x-conformance-nobody-reads-this")
        found.append("check_content_type accepts a media type the adapter does not list")
    except UnsupportedMediaTypeError:
        pass
    if not isinstance(adapter.mappings, MappingSet) or adapter.mappings.adapter != adapter.name:
        found.append("mappings is not a MappingSet for this adapter")
    natives = adapter.native_fields
    if not isinstance(natives, Mapping) or not all(
        isinstance(v, frozenset) and all(isinstance(n, str) for n in v) for v in natives.values()
    ):
        found.append("native_fields is not a mapping of message type to frozenset of str")
    elif problem := covers("native_fields", set(natives), adapter):
        found.append(problem)
    found += _refuses(lambda: adapter.parse(UNKNOWN_TYPE, b"{}"), "parse of an unknown type")
    found += _refuses(lambda: adapter.render(UNKNOWN_TYPE, _Nothing()), "render of an unknown type")
    return found + optional_protocols(adapter)


class _Nothing:
    """A payload of no type an adapter renders."""

    def subjects(self) -> list[Any]:
        return []

    def categories(self) -> frozenset[DataCategory]:
        return frozenset()

    def minimised(self, allowed: frozenset[DataCategory]) -> _Nothing:
        return self


def optional_protocols(adapter: Any) -> list[str]:
    """Check the optional Protocols an adapter offers: Fetcher, WireErrors, ResponseReader."""
    handled, rendered = sorted(adapter.parses | adapter.renders), sorted(adapter.renders)
    found = []
    if hasattr(adapter, "fetches"):
        if not isinstance(adapter, Fetcher):
            found.append("has fetches but does not satisfy the Fetcher protocol")
        elif not isinstance(adapter.fetches, frozenset):
            found.append("fetches is not a frozenset")
    if hasattr(adapter, "render_error"):
        if not isinstance(adapter, WireErrors):
            found.append("has render_error but does not satisfy the WireErrors protocol")
        else:
            found += _wire_errors(adapter, handled)
    if hasattr(adapter, "read_response"):
        if not isinstance(adapter, ResponseReader):
            found.append("has read_response but does not satisfy the ResponseReader protocol")
        else:
            found += _receipts(adapter, rendered)
    if hasattr(adapter, "check_rendered") and not isinstance(adapter, RenderChecker):
        found.append("has check_rendered but does not satisfy the RenderChecker protocol")
    return found


def _wire_errors(adapter: WireErrors, message_types: Sequence[str]) -> list[str]:
    many = [Problem(f"/field/{i}", "must be a string") for i in range(COUNT_LIMIT + 5)]
    errors = [
        ParseError("message is not valid", [Problem("/a", "is required")]),
        ParseError("message is not valid", many),
    ]
    found = []
    for message_type in [None, *message_types]:
        for error in errors:
            try:
                rendered = adapter.render_error(message_type, error)
            except Exception as exc:  # a wire error that cannot be written loses the answer
                found.append(f"render_error({message_type!r}) raised {type(exc).__name__}")
                continue
            if not isinstance(rendered, Rendered) or not isinstance(rendered.body, bytes):
                found.append(f"render_error({message_type!r}) did not return Rendered bytes")
            elif len(rendered.body) > ERROR_BODY_LIMIT:
                found.append(f"render_error({message_type!r}) wrote {len(rendered.body)} bytes")
    return found


def _receipts(adapter: ResponseReader, message_types: Sequence[str]) -> list[str]:
    answers = [(200, b""), (200, b"\xff not what it expects"), (500, b"<html>"), (503, b"")]
    found = []
    for message_type in message_types:
        for status, body in answers:
            try:
                receipt = adapter.read_response(message_type, status, {}, body)
            except Exception as exc:  # the delivery worker must always learn an outcome
                found.append(
                    f"read_response({message_type!r}, {status}) raised"
                    f" {type(exc).__name__}: every answer needs a Receipt"
                )
                continue
            if not isinstance(receipt, Receipt):
                found.append(f"read_response({message_type!r}, {status}) returned no Receipt")
    return found


def covers(what: str, types: set[str], adapter: Adapter) -> str | None:
    """Say how a set of message types misses those the adapter parses and renders, or holds
    one it does not handle (a type it only fetches may have its spec and fields)."""
    needed = adapter.parses | adapter.renders
    allowed = needed | getattr(adapter, "fetches", frozenset())
    if needed <= types <= allowed:
        return None
    return (
        f"{what} covers {sorted(types)}; it must cover what the adapter parses and renders"
        f" {sorted(needed)}, and no type it does not handle"
    )


def _raises_none(check: Any, what: str) -> list[str]:
    try:
        check()
    except GatewayError as exc:
        return [f"check_content_type refuses its own media type {what!r}: {exc.message}"]
    return []


def _refuses(call: Any, what: str) -> list[str]:
    try:
        call()
    except GatewayError as exc:
        return [] if 400 <= exc.status < 500 else [f"{what}: status {exc.status}, not a 4xx"]
    except Exception as exc:
        return [f"{what} raised {type(exc).__name__}, not a 4xx GatewayError"]
    return [f"{what} was not refused"]
