"""the exchange log: Merkle tree nodes, signed checkpoints, signing keys; RFC 9162 leaf hashes

Revision ID: 0004
Revises: 0003

Records get their log index once sealed. Leaf hashes become RFC 9162's (SHA-256 over 0x00
and the canonical bytes, where they were SHA-256 over the bytes alone): existing records are
rehashed here, from their stored fields, with the canonical form of format version 1 as it
stands today (written out, not imported: a migration must not change with the code).
"""

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FIELDS = (
    "id",
    "recorded_at",
    "source",
    "destination",
    "destination_jurisdiction",
    "message_type",
    "purpose",
    "legal_basis",
    "agreement",
    "subjects",
    "categories",
    "decision",
    "reasons",
    "policy_version",
    "policy_rule",
    "mapping_version",
    "request_digest",
    "payload_digest",
)


def _leaf_hash(row: sa.Row[Any]) -> str:
    entry = {name: getattr(row, name) for name in _FIELDS}
    for name in ("subjects", "categories", "reasons"):
        value = entry[name]
        entry[name] = json.loads(value) if isinstance(value, str) else list(value)
    at = entry["recorded_at"]
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    entry["recorded_at"] = at.isoformat()
    leaf = json.dumps(
        {"v": 1, **entry}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    return hashlib.sha256(b"\x00" + leaf).hexdigest()


def upgrade() -> None:
    # A unique index, not a constraint: SQLite adds a constraint only by copying the table,
    # and the copy cannot drop a table that the outbox and the keys refer to.
    op.add_column("exchange_records", sa.Column("log_index", sa.BigInteger(), nullable=True))
    op.create_index("uq_exchange_records_log_index", "exchange_records", ["log_index"], unique=True)
    op.create_index(
        "ix_exchange_records_unsealed",
        "exchange_records",
        ["seq"],
        sqlite_where=sa.text("log_index IS NULL"),
        postgresql_where=sa.text("log_index IS NULL"),
    )
    op.create_table(
        "log_nodes",
        sa.Column("key", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_generation", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "log_keys",
        sa.Column("generation", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("verifier_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    connection = op.get_bind()
    records = sa.table(
        "exchange_records",
        sa.column("seq"),
        sa.column("leaf_hash"),
        *(sa.column(name) for name in _FIELDS),
    )
    rows = connection.execute(sa.select(records)).all()
    update = (
        sa.update(records)
        .where(records.c.seq == sa.bindparam("b_seq"))
        .values(leaf_hash=sa.bindparam("b_hash"))
    )
    if rows:
        connection.execute(update, [{"b_seq": r.seq, "b_hash": _leaf_hash(r)} for r in rows])


def downgrade() -> None:
    op.drop_table("log_keys")
    op.drop_table("log_checkpoints")
    op.drop_table("log_nodes")
    op.drop_index("ix_exchange_records_unsealed", table_name="exchange_records")
    op.drop_index("uq_exchange_records_log_index", table_name="exchange_records")
    op.drop_column("exchange_records", "log_index")
