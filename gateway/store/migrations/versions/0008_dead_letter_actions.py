"""dead letter actions: what an operator (or the retention period) did with a dead letter

Revision ID: 0008
Revises: 0007

A dead letter (an outbox row in state `dead`) may be replayed (made due again), discarded
(state `discarded`, its body erased) or purged (its body erased after the retention period,
the row kept); each action is recorded here, with the change, in one transaction. Nothing to
convert: no action was taken before. The outbox's status needs no change: `discarded` fits
its 32 characters.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letter_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "exchange_id", sa.String(36), sa.ForeignKey("exchange_records.id"), nullable=False
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('replay', 'discard', 'purge')", name="ck_dead_letter_actions_action"
        ),
        sa.CheckConstraint(
            "action <> 'discard' OR reason IS NOT NULL", name="ck_dead_letter_actions_reason"
        ),
    )
    op.create_index("ix_dead_letter_actions_exchange_id", "dead_letter_actions", ["exchange_id"])


def downgrade() -> None:
    op.drop_index("ix_dead_letter_actions_exchange_id", table_name="dead_letter_actions")
    op.drop_table("dead_letter_actions")
