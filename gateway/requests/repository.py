"""What a specific request reads from the store and writes to it, on the caller's connection.

The service owns the transactions (gateway/requests/service.py): one to decide before the
fetch (and to record a denial), one to decide after it, remember what was learnt and record
the outcome. What the policy needs of the person (remembered risk countries, consents) is
read through `gateway.known.Known`, as the exchange pipeline reads it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from gateway.audit import repository as audit_log
from gateway.audit.record import Record
from gateway.store.group import Write
from gateway.store.models import System


def sealed_token(connection: Connection, system_id: str) -> str | None:
    """Return a system's sealed outbound credential, if it has one."""
    query = select(System.outbound_token_sealed).where(System.id == system_id)
    token: str | None = connection.execute(query).scalar_one_or_none()
    return token


def write_record(connection: Connection, record: Record) -> None:
    """Write an exchange record (no idempotency key: a request is never replayed)."""
    write(connection, audit_log.writes(record))


def write(connection: Connection, writes: Iterable[Write]) -> None:
    """Write rows as the exchange pipeline leaves them: each statement with its rows."""
    for statement, rows in writes:
        if rows:
            connection.execute(statement, rows)
