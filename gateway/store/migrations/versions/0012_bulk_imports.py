"""bulk imports: jobs and per-row outcomes, resumable

Revision ID: 0012
Revises: 0011

An import job (gateway/bulk/) reads a legacy export row by row; each row walks the road as
one exchange. The job's progress (rows done, where the next row starts, counts by outcome)
is written in the transaction of each batch of rows, with one row per file row naming its
exchange and outcome: so a resumed job starts exactly after the last committed row, and
every file row has exactly one exchange. Nothing to convert: no import ran before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_import_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("source", sa.String(64), sa.ForeignKey("systems.id"), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("next_line", sa.BigInteger(), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("denied", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("format IN ('csv', 'jsonl')", name="ck_bulk_import_jobs_format"),
    )
    op.create_table(
        "bulk_import_rows",
        sa.Column("job_id", sa.String(64), sa.ForeignKey("bulk_import_jobs.id"), primary_key=True),
        sa.Column("row_no", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column(
            "exchange_id",
            sa.String(36),
            sa.ForeignKey("exchange_records.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('accepted', 'held', 'denied', 'invalid')",
            name="ck_bulk_import_rows_outcome",
        ),
    )


def downgrade() -> None:
    op.drop_table("bulk_import_rows")
    op.drop_table("bulk_import_jobs")
