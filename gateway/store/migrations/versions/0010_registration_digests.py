"""registrations: keyed digests for multiple-registration flags

Revision ID: 0010
Revises: 0009

Each registration accepted leaves keyed digests of who its persons are (an identifier's
pseudonym; a name's tokens with the date or year of birth and the sex, under HMAC), and a
flag for each person who matches one registered before with the same authority
(gateway/registrations/). Nothing to convert: no registration was checked before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "registration_digests",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("authority", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column(
            "exchange_id", sa.String(36), sa.ForeignKey("exchange_records.id"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
    )
    # Digest first: it alone is selective, so no planner prefers scanning an authority's rows.
    op.create_index(
        "ix_registration_digests_match", "registration_digests", ["digest", "authority"]
    )
    op.create_index("ix_registration_digests_exchange", "registration_digests", ["exchange_id"])
    op.create_table(
        "registration_flags",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("authority", sa.String(64), nullable=False),
        sa.Column(
            "exchange_id", sa.String(36), sa.ForeignKey("exchange_records.id"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("matched_exchange_id", sa.String(36), nullable=False),
        sa.Column("matched_position", sa.Integer(), nullable=False),
        sa.Column("matched_subject", sa.String(64), nullable=False),
        sa.Column("strength", sa.String(16), nullable=False),
        sa.Column("evidence", sa.String(16), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "strength IN ('strong', 'probable', 'possible')", name="ck_registration_flags_strength"
        ),
        sa.CheckConstraint(
            "evidence IN ('identifier', 'name+dob+sex', 'name+year+sex')",
            name="ck_registration_flags_evidence",
        ),
    )
    op.create_index("ix_registration_flags_authority_id", "registration_flags", ["authority", "id"])
    op.create_index(
        "uq_registration_flags_pair",
        "registration_flags",
        ["exchange_id", "position", "matched_exchange_id", "matched_position"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_registration_flags_pair", table_name="registration_flags")
    op.drop_index("ix_registration_flags_authority_id", table_name="registration_flags")
    op.drop_table("registration_flags")
    op.drop_index("ix_registration_digests_exchange", table_name="registration_digests")
    op.drop_index("ix_registration_digests_match", table_name="registration_digests")
    op.drop_table("registration_digests")
