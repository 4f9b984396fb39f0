"""The per-row error report: every denied or invalid row, why, and where in the row.

Written from the job's stored rows, so it is whole after a resume too, and it never holds a
row's content: the row's line, its outcome, the reason code, the exchange record's id, and
each problem's location (a column or a JSON pointer) and message, which name fields, never
values. CSV (one line per problem) or JSON lines (one object per row), by the file's suffix.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from gateway.bulk import repository
from gateway.store.db import Database

CSV_COLUMNS = ("row", "outcome", "reason", "exchange_id", "location", "message")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def write_report(db: Database, job_id: str, path: Path) -> int:
    """Write the report of a job's refused rows to `path` (replaced); return how many."""
    as_jsonl = path.suffix.lower() in JSONL_SUFFIXES
    written = 0
    temporary = path.with_name(path.name + ".partial")
    with db.reading() as session, temporary.open("w", encoding="utf-8", newline="") as out:
        writer = None if as_jsonl else csv.writer(out)
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        for row in repository.refused_rows(session, job_id):
            problems = row.problems or []
            if writer is None:
                line = {
                    "row": row.row_no,
                    "outcome": row.outcome,
                    "reason": row.reason,
                    "exchange_id": row.exchange_id,
                    "problems": problems,
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            else:
                for problem in problems or [{"location": "", "message": ""}]:
                    writer.writerow(
                        [
                            row.row_no,
                            row.outcome,
                            row.reason or "",
                            row.exchange_id,
                            problem["location"],
                            problem["message"],
                        ]
                    )
            written += 1
    temporary.replace(path)  # whole or not at all: a half-written report is not left behind
    return written
