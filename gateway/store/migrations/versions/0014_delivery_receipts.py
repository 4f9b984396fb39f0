"""delivery attempts: the destination's receipt, as its adapter read the answer

Revision ID: 0014
Revises: 0013

A destination may answer with more than a status: a case id, a registration number
(adapters/kit/contract.py, ResponseReader). The reference it gave is kept with the attempt
that delivered the message, and shown with the exchange's delivery.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_attempts") as table:
        table.add_column(sa.Column("receipt", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts") as table:
        table.drop_column("receipt")
