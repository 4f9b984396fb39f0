"""Import jobs and their rows in the store.

A batch's rows and the job's progress are left to the batch (`Batch.defer`) with the
batch's exchanges, so they commit together: the job never says a row is done whose exchange
is not committed, nor forgets one that is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from gateway.store.group import Write
from gateway.store.models import BulkImportJob, BulkImportRow

WRITE_ROWS = insert(BulkImportRow)
# Built once: SQLAlchemy caches its compiled form. Bound names differ from the columns'.
WRITE_PROGRESS = (
    update(BulkImportJob)
    .where(BulkImportJob.id == bindparam("job"))
    .values(
        rows_done=bindparam("done"),
        next_offset=bindparam("offset"),
        next_line=bindparam("line"),
        accepted=bindparam("n_accepted"),
        denied=bindparam("n_denied"),
        invalid=bindparam("n_invalid"),
        updated_at=bindparam("at"),
    )
)


@dataclass
class Progress:
    """How far a job got: rows done, where the next starts, counts by outcome."""

    rows_done: int = 0
    next_offset: int = 0
    next_line: int = 1
    accepted: int = 0
    denied: int = 0
    invalid: int = 0

    @classmethod
    def of(cls, job: BulkImportJob) -> Progress:
        return cls(
            job.rows_done, job.next_offset, job.next_line, job.accepted, job.denied, job.invalid
        )


def find(session: Session, job_id: str) -> BulkImportJob | None:
    return session.get(BulkImportJob, job_id)


def create(session: Session, job: BulkImportJob) -> None:
    session.add(job)


def finish(session: Session, job_id: str, at: dt.datetime) -> None:
    job = session.get(BulkImportJob, job_id)
    if job is not None and job.finished_at is None:
        job.finished_at = at


def writes(
    job_id: str, rows: Sequence[dict[str, Any]], progress: Progress, at: dt.datetime
) -> list[Write]:
    """Return the rows that record a batch's file rows and the job's progress after them."""
    found: list[Write] = []
    if rows:
        found.append((WRITE_ROWS, [{"job_id": job_id, **row} for row in rows]))
    found.append(
        (
            WRITE_PROGRESS,
            [
                {
                    "job": job_id,
                    "done": progress.rows_done,
                    "offset": progress.next_offset,
                    "line": progress.next_line,
                    "n_accepted": progress.accepted,
                    "n_denied": progress.denied,
                    "n_invalid": progress.invalid,
                    "at": at,
                }
            ],
        )
    )
    return found


def refused_rows(session: Session, job_id: str) -> Iterator[BulkImportRow]:
    """Yield a job's denied and invalid rows in file order, a page at a time."""
    query = (
        select(BulkImportRow)
        .where(BulkImportRow.job_id == job_id, BulkImportRow.outcome.in_(("denied", "invalid")))
        .order_by(BulkImportRow.row_no)
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(query)


def counts(session: Session, job_id: str) -> dict[str, int]:
    """Return how many of a job's rows had each outcome, as stored row by row."""
    query = (
        select(BulkImportRow.outcome, func.count())
        .where(BulkImportRow.job_id == job_id)
        .group_by(BulkImportRow.outcome)
    )
    return {outcome: int(n) for outcome, n in session.execute(query)}
