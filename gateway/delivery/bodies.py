"""Outbox bodies sealed at rest: what the pipeline writes, the relay opens, a rotation re-seals.

Why sealed: a body is a person's data. Erasing a delivered body (NULL) does not remove the
copies a database keeps elsewhere (SQLite's log, PostgreSQL's dead rows, backups); sealed,
those copies are ciphertext. The exchange id is bound as associated data, so a body moved
into another row does not open; the key id on the row names the key that opens it.

Why generations of keys (`body_keyring`): a sealing key is rotated without changing the
master secret, from which the subjects' pseudonyms also derive and which must never change.
Generation n's key derives from the master for its own purpose; the keyring holds every
generation up to the current one, which seals, so rows sealed before still open, and
`reseal_bodies` moves them to the current key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, func, or_, select, update
from sqlalchemy.orm import Session

from gateway.crypto import BodySealer, Keyring, derive_key, key_id
from gateway.errors import SealError, UnknownKeyError
from gateway.store.db import Database
from gateway.store.models import OutboxMessage

log = logging.getLogger(__name__)


def sealed_columns(sealer: BodySealer, exchange_id: str, body: bytes) -> dict[str, Any]:
    """Return the outbox row's `body` and `key_id` columns for a body to be queued."""
    key_id, sealed = sealer.seal(body, exchange_id.encode())
    return {"body": sealed, "key_id": key_id}


def open_body(sealer: BodySealer, exchange_id: str, key_id: str | None, body: bytes) -> bytes:
    """Open a row's body; raise SealError if it cannot be (unknown key id, altered, moved).

    A row without a key id was queued before bodies were sealed and not sealed since
    (`seal_plaintext_rows` seals them all at start-up); its body is sent as it is.
    """
    if key_id is None:
        return body
    return sealer.open(key_id, body, exchange_id.encode())


def seal_plaintext_rows(db: Database, sealer: BodySealer) -> int:
    """Seal every body queued before sealing existed; return how many were sealed.

    Why at start-up and not in the migration: the sealing key derives from the master
    secret, which migrations do not see. Each row is sealed by a conditional UPDATE, so
    processes starting together seal each row once.
    """
    unsealed = (OutboxMessage.key_id.is_(None), OutboxMessage.body.is_not(None))
    with db.unit_of_work() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.exchange_id, OutboxMessage.body).where(*unsealed)
        ).all()
        for row in rows:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, *unsealed)
                .values(**sealed_columns(sealer, row.exchange_id, row.body))
                .execution_options(synchronize_session=False)
            )
    if rows:
        log.info("sealed %d outbox bodies queued before bodies were sealed", len(rows))
    return len(rows)


BODY_KEY_PURPOSE = "seal-outbox-bodies"
"""The purpose the first generation's key derives for (as before generations existed)."""
SEAL_OVERHEAD = 28
"""Bytes a seal adds to a body: the nonce (12) and the tag (16) of crypto.Keyring."""
RESEAL_BATCH = 100  # rows a transaction: their bodies are held in memory meanwhile
LISTED = 100  # exchange ids a rotation lists of the rows it could not re-seal, at most


def body_key_purpose(generation: int) -> str:
    """Return the purpose a generation's key derives for: generation 1 keeps the original."""
    return BODY_KEY_PURPOSE if generation == 1 else f"{BODY_KEY_PURPOSE}/{generation}"


def body_key_generations(master: bytes, generation: int) -> dict[str, int]:
    """Return the id of each generation's key up to `generation`, with its generation."""
    if generation < 1:
        raise ValueError("body key generations start at 1")
    return {key_id(derive_key(master, body_key_purpose(n))): n for n in range(1, generation + 1)}


def body_keyring(master: bytes, generation: int) -> Keyring:
    """Return the outbox bodies' keyring: every generation's key, the current one sealing."""
    if generation < 1:
        raise ValueError("body key generations start at 1")
    keys = [derive_key(master, body_key_purpose(n)) for n in range(1, generation + 1)]
    return Keyring({key_id(key): key for key in keys}, key_id(keys[-1]))


def plain_size(key_id_: str | None, stored: int | None) -> int | None:
    """Return the size of a body as it is sent, from the size stored (None: no body held)."""
    if stored is None:
        return None
    return stored if key_id_ is None else max(stored - SEAL_OVERHEAD, 0)


@dataclass(frozen=True)
class Resealed:
    """What a rotation did: re-sealed rows, rows that changed under it, rows it could not."""

    resealed: int = 0
    changed_meanwhile: int = 0  # delivered, erased or re-sealed by another process meanwhile
    unknown_key: int = 0  # sealed under a key id the keyring lacks: left as they are
    unreadable: int = 0  # their key is held, but they do not open (altered): left as they are
    left_alone: list[str] = field(default_factory=list)  # the first LISTED of those two kinds

    def __add__(self, other: Resealed) -> Resealed:
        return Resealed(
            self.resealed + other.resealed,
            self.changed_meanwhile + other.changed_meanwhile,
            self.unknown_key + other.unknown_key,
            self.unreadable + other.unreadable,
            (self.left_alone + other.left_alone)[:LISTED],
        )


Kept = Row[int, str, str | None, bytes | None]
"""A row whose body is kept, as a rotation reads it: id, exchange id, key id, body."""


def _not_current(keyring: Keyring) -> ColumnElement[bool]:
    return or_(OutboxMessage.key_id.is_(None), OutboxMessage.key_id != keyring.current_id)


def reseal_bodies(db: Database, keyring: Keyring, batch: int = RESEAL_BATCH) -> Resealed:
    """Re-seal every body kept but not sealed under the keyring's current key; say what was done.

    A body is kept only while its message may still be sent (pending, held for the DPO, or
    dead and waiting for an operator); every other state erases it. Each row is re-sealed by
    a conditional UPDATE fenced on what was read, the same key id and a body still kept: a
    relay that delivered or erased the row meanwhile (its key id unchanged) is never
    overwritten, nor a concurrent rotation's work; such a row is counted as changed
    meanwhile. A row whose key the keyring lacks, or that does not open, is left as it is and
    listed: nothing is re-sealed that could not be read. Rows are read in batches by id, each
    batch in its own transaction, so a rotation of a large outbox holds no lock for long; run
    again, it finds nothing left to do.
    """
    done, after = Resealed(), 0
    while True:
        with db.unit_of_work() as session:
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.exchange_id,
                    OutboxMessage.key_id,
                    OutboxMessage.body,
                )
                .where(
                    OutboxMessage.id > after,
                    OutboxMessage.body.is_not(None),
                    _not_current(keyring),
                )
                .order_by(OutboxMessage.id)
                .limit(batch)
            ).all()
            done += reseal_rows(session, keyring, rows)
        if len(rows) < batch:
            return done
        after = rows[-1].id


def reseal_rows(session: Session, keyring: Keyring, rows: Sequence[Kept]) -> Resealed:
    """Re-seal rows read before (id, exchange_id, key_id, body) under the current key, each
    only if it still holds what was read: its key id, and a body."""
    resealed = changed = unknown = unreadable = 0
    left: list[str] = []
    for row in rows:
        try:
            body = open_body(keyring, row.exchange_id, row.key_id, row.body)
        except UnknownKeyError:
            unknown += 1
            left.append(row.exchange_id)
            continue
        except SealError:
            unreadable += 1
            left.append(row.exchange_id)
            continue
        same_key = (
            OutboxMessage.key_id.is_(None)
            if row.key_id is None
            else OutboxMessage.key_id == row.key_id
        )
        updated = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                same_key,
                OutboxMessage.body.is_not(None),
            )
            .values(**sealed_columns(keyring, row.exchange_id, body))
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount == 1:  # type: ignore[attr-defined]
            resealed += 1
        else:
            changed += 1
    return Resealed(resealed, changed, unknown, unreadable, left[:LISTED])


def kept_by_key(db: Database) -> dict[tuple[str | None, str], int]:
    """Return how many rows keep a body, by key id (None: never sealed) and state."""
    with db.reading() as session:
        rows = session.execute(
            select(OutboxMessage.key_id, OutboxMessage.status, func.count())
            .where(OutboxMessage.body.is_not(None))
            .group_by(OutboxMessage.key_id, OutboxMessage.status)
        ).all()
    return {(key, status): count for key, status, count in rows}
