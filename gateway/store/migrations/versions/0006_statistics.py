"""the statistical register: one row per person, aggregate dimensions only

Revision ID: 0006
Revises: 0005

Filled from the exchanges allowed from now on (gateway/statistics/): nothing to convert, and
nothing to fill from the past, whose records hold pseudonyms and categories, not the facts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistical_register",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("birth_month", sa.String(7), nullable=True),
        sa.Column("specific_needs", sa.Text(), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.String(7), nullable=False),
        sa.Column("last_seen", sa.String(7), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("statistical_register")
