"""outbox: key id of a sealed body, and the token of the lease that holds a message

Revision ID: 0002
Revises: 0001

Bodies already queued are sealed at start-up (gateway/delivery/bodies.py,
`seal_plaintext_rows`), not here: the sealing key derives from the master secret, which a
migration does not see. Until then a row without a key id holds its body as sent.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("lease_token")
        batch_op.drop_column("key_id")
