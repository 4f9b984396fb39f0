"""Identifiers the gateway makes (exchanges, consents): random UUIDs, and their shape."""

from __future__ import annotations

import re
import uuid

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    """Tell whether a value has the shape of an id the gateway made.

    Why check before a look-up: a path id may hold anything (a NUL, which PostgreSQL refuses
    with an error, or a megabyte); one that no row can have is simply not found.
    """
    return _UUID.fullmatch(value) is not None
