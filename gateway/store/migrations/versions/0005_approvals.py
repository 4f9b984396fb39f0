"""approvals: allowed exchanges held for the DPO's approval, and what the DPO decided

Revision ID: 0005
Revises: 0004

An exchange the policy allows but asks the DPO to approve is recorded and queued as any
other, its outbox row held (status `awaiting-approval`, which the relay never claims) and
a row here saying why. The DPO's decision is written on that row once: approved (the row is
released to the relay) or rejected (the row is closed and its body erased). Nothing to
convert: no exchange was held before.

The outbox's status widens from 16 to 32 characters (`awaiting-approval` is 17): on
PostgreSQL a change of the catalogue only; on SQLite, which cannot alter a column, the outbox
table is copied once (nothing refers to it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "exchange_id",
            sa.String(36),
            sa.ForeignKey("exchange_records.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("why", sa.String(500), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected')", name="ck_approvals_decision"
        ),
        sa.CheckConstraint(
            "(decision IS NULL) = (decided_at IS NULL)", name="ck_approvals_decided_together"
        ),
        sa.CheckConstraint(
            "decision IS NULL OR decision <> 'rejected' OR reason IS NOT NULL",
            name="ck_approvals_rejection_reason",
        ),
    )
    op.create_index("ix_approvals_decision_seq", "approvals", ["decision", "seq"])
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False
        )
    op.drop_index("ix_approvals_decision_seq", table_name="approvals")
    op.drop_table("approvals")
