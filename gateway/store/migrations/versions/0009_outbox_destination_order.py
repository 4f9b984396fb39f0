"""outbox: an index on each destination's messages in acceptance order

Revision ID: 0009
Revises: 0008

A destination receives its messages in acceptance order (gateway/delivery/lease.py): a claim
reads a destination's pending messages by id, and the first one waiting for a later attempt
or held under a lease stops it. This index serves those reads.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_destination_order", "outbox", ["destination", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_destination_order", table_name="outbox")
