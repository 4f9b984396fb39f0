"""border referrals: the National Reference Guide, versioned

Revision ID: 0011
Revises: 0010

The guide's published versions (never changed), each interview routed to referrals under
one of them, and each of its referrals' kind, authority and outcome (gateway/referrals/).
Nothing to convert: no interview was routed before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_guides",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "interview_routings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source", sa.String(64), sa.ForeignKey("systems.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column(
            "guide_version",
            sa.Integer(),
            sa.ForeignKey("reference_guides.version"),
            nullable=False,
        ),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_interview_routings_key",
        "interview_routings",
        ["source", "idempotency_key"],
        unique=True,
    )
    op.create_table(
        "referral_routes",
        sa.Column(
            "routing_id",
            sa.String(36),
            sa.ForeignKey("interview_routings.id"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("authority", sa.String(64), nullable=True),
        sa.Column("exchange_id", sa.String(36), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
    )
    op.create_index("ix_referral_routes_exchange_id", "referral_routes", ["exchange_id"])


def downgrade() -> None:
    op.drop_index("ix_referral_routes_exchange_id", table_name="referral_routes")
    op.drop_table("referral_routes")
    op.drop_index("ix_interview_routings_key", table_name="interview_routings")
    op.drop_table("interview_routings")
    op.drop_table("reference_guides")
