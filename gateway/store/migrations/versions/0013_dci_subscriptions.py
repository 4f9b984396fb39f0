"""DCI civil registry: subscriptions to live-birth notifications

Revision ID: 0013
Revises: 0012

One row per DCI civil registry subscribed to (gateway/dci/): where its live-birth notices go,
as which message type, for which purpose, under which legal basis and agreement, and the
registry's acknowledgement. Nothing to convert: no subscription existed before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dci_subscriptions",
        sa.Column("registry_id", sa.String(64), sa.ForeignKey("systems.id"), primary_key=True),
        sa.Column("destination", sa.String(64), sa.ForeignKey("systems.id"), nullable=False),
        sa.Column("message_type", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("agreement", sa.String(64), nullable=True),
        sa.Column("notify_url", sa.String(2000), nullable=False),
        sa.Column("correlation_id", sa.String(99), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dci_subscriptions")
