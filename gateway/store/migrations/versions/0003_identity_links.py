"""identity links: identifiers sent together for one person, so each finds the others

Revision ID: 0003
Revises: 0002

A person is remembered under every identifier seen with them; a link joins two of them
(both directions), so remembered risk found under one is found under all.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_links",
        sa.Column("pseudonym", sa.String(64), primary_key=True),
        sa.Column("linked", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("identity_links")
