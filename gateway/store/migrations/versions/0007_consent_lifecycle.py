"""consent lifecycle: who granted a consent, the exchanges that relied on it, withdrawal notices

Revision ID: 0007
Revises: 0006

A consent records who granted it (the person, or a child's guardian with the guardian's
relationship and the child's views, sealed). An allowed exchange records the consents it
relied on, so a withdrawal finds the recipients to notify; each notice is an exchange of its
own, listed here with the exchanges it covers. Consents granted before say `subject`, which
is what they were; exchanges decided before relied on consents nobody recorded, so their
recipients are not notified of a withdrawal.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("granted_by", sa.String(length=16), nullable=False, server_default="subject")
        )
        batch_op.add_column(sa.Column("guardian_relationship", sa.String(length=32)))
        batch_op.add_column(sa.Column("child_views_sealed", sa.LargeBinary()))
        batch_op.add_column(sa.Column("child_views_key_id", sa.String(length=32)))
    op.create_table(
        "exchange_consents",
        sa.Column(
            "exchange_id",
            sa.String(length=36),
            sa.ForeignKey("exchange_records.id"),
            primary_key=True,
        ),
        # Not a foreign key: see ExchangeConsent in gateway/store/models.py.
        sa.Column("consent_id", sa.String(length=36), primary_key=True),
    )
    op.create_index("ix_exchange_consents_consent", "exchange_consents", ["consent_id"])
    op.create_table(
        "consent_notices",
        sa.Column(
            "exchange_id",
            sa.String(length=36),
            sa.ForeignKey("exchange_records.id"),
            primary_key=True,
        ),
        sa.Column("consent_id", sa.String(length=36), sa.ForeignKey("consents.id"), nullable=False),
        sa.Column("recipient", sa.String(length=64), sa.ForeignKey("systems.id"), nullable=False),
        sa.Column("covers", sa.JSON(), nullable=False),
        sa.Column("problem", sa.String(length=500)),
    )
    op.create_index("ix_consent_notices_consent_id", "consent_notices", ["consent_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_notices_consent_id", table_name="consent_notices")
    op.drop_table("consent_notices")
    op.drop_index("ix_exchange_consents_consent", table_name="exchange_consents")
    op.drop_table("exchange_consents")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("child_views_key_id")
        batch_op.drop_column("child_views_sealed")
        batch_op.drop_column("guardian_relationship")
        batch_op.drop_column("granted_by")
