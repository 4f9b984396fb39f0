"""Tables. Nothing here holds a name, a birth date or a document number.

Subjects appear only as keyed pseudonyms; payloads only in the outbox (until delivered) and
as digests in the exchange record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class System(Base):
    """A registered system: who it is, which adapter speaks to it, which state controls it."""

    __tablename__ = "systems"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    adapter: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str | None] = mapped_column(String(2000))
    jurisdiction: Mapped[str | None] = mapped_column(String(3))
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    outbound_token_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ExchangeRecord(Base):
    """One row per attempt, allowed, denied or invalid; `seq` orders them for the log."""

    __tablename__ = "exchange_records"

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    source: Mapped[str | None] = mapped_column(String(64))
    destination: Mapped[str | None] = mapped_column(String(64))
    destination_jurisdiction: Mapped[str | None] = mapped_column(String(3))
    message_type: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    agreement: Mapped[str | None] = mapped_column(String(64))
    subjects: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    policy_rule: Mapped[str | None] = mapped_column(String(500))
    mapping_version: Mapped[str | None] = mapped_column(String(200))
    request_digest: Mapped[str | None] = mapped_column(String(64))
    payload_digest: Mapped[str | None] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # Its index in the exchange log, once the log's appender has sealed it (audit/log.py).
    log_index: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_exchange_records_source_time", "source", "recorded_at"),
        Index("uq_exchange_records_log_index", "log_index", unique=True),
        # What the appender reads: the records not sealed yet, in the order they were written.
        Index(
            "ix_exchange_records_unsealed",
            "seq",
            sqlite_where=text("log_index IS NULL"),
            postgresql_where=text("log_index IS NULL"),
        ),
    )


class LogNode(Base):
    """The hash of a complete subtree of the exchange log's Merkle tree (RFC 9162).

    Node (level, index) covers leaves [index * 2^level, (index + 1) * 2^level); level 0 holds
    the leaf hashes. Its key is one number, level * 2^56 + index (`node_key`), so the nodes
    of a proof are read with one `key IN (...)` on the primary key. Written once, when the
    appender completes it; never changed.
    """

    __tablename__ = "log_nodes"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


NODE_LEVEL_SHIFT = 56  # room for 2^56 leaves, and 64 levels above them


def node_key(level: int, index: int) -> int:
    """The key of node (level, index) in `log_nodes`."""
    return (level << NODE_LEVEL_SHIFT) | index


class LogCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint) of the log at one size: one per batch."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_generation: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class LogKey(Base):
    """A generation of the log's signing key: its public verifier key, kept for ever.

    The private key is derived from the master secret and the generation; a rotation adds a
    generation, and checkpoints signed by earlier ones still verify with their keys.
    """

    __tablename__ = "log_keys"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    verifier_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class IdempotencyKey(Base):
    """A source's key bound to the digest of what it first sent under that key."""

    __tablename__ = "idempotency_keys"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"))


class OutboxMessage(Base):
    """A rendered message waiting for delivery; written in the same transaction as its record.

    `body` is sealed (AES-GCM under the key named by `key_id`, bound to the exchange id; see
    gateway/delivery/bodies.py) and erased once delivered. `lease_token` names the claim of
    the relay holding the message; only that relay may settle it (gateway/delivery/lease.py).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), unique=True)
    destination: Mapped[str] = mapped_column(ForeignKey("systems.id"))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class DeliveryAttempt(Base):
    """One row per delivery attempt, so operators see every retry and why it failed."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))


class RememberedRisk(Base):
    """A risk country once stated for a subject, kept so later messages cannot omit it."""

    __tablename__ = "remembered_risk"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(3), primary_key=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IdentityLink(Base):
    """Two pseudonyms of one person, sent together; written both ways."""

    __tablename__ = "identity_links"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    linked: Mapped[str] = mapped_column(String(64), primary_key=True)


class ConsentRow(Base):
    """A consent grant; the subject is held as a pseudonym only."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(ForeignKey("systems.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
