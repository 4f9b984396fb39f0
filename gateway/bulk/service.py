"""Import a legacy export: every row walks the road as one exchange, in batches, resumably.

    row -> parse -> decide -> minimise -> render -> record -> queue

Each row becomes one submission from the source system (its envelope the job's, its
idempotency key the job's id and the row's line) and goes through the exchange service's own
steps: `parse`, then `decide_and_record` for a batch of rows in one transaction. There is no
second road: a row is recorded, denied or queued exactly as a message over HTTP would be. A
row that cannot even be read (too large, not UTF-8, not CSV) is submitted unread, and the
road records it as invalid, as it records a body it did not read.

Why resuming is exact: the job's progress (rows done, where the next row starts, counts)
and one row per file row naming its exchange are written in the transaction of the batch's
exchanges, so after a crash, kill -9 included, the job resumes just after the last committed
row: no row is decided twice, none is skipped. The idempotency key is the second guard: a
row submitted again is a replay of its first exchange, never a second one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.exc import DBAPIError

from adapters.kit.contract import CONTENT_TYPE
from gateway.bulk import repository
from gateway.bulk.reader import BadFileError, ExportFile, Position, Row
from gateway.bulk.repository import Progress
from gateway.canonical import NAME_PATTERN
from gateway.canonical.registration import REGISTRATION
from gateway.envelope import to_headers
from gateway.errors import (
    ConflictError,
    GatewayError,
    InvalidInput,
    NotFoundError,
    ParseError,
    PolicyDeniedError,
    Problem,
    UnknownSystemError,
)
from gateway.pipeline import Accepted, Denied, ExchangeService, Inbound, Parsed, Refused
from gateway.store.group import Batch
from gateway.store.models import BulkImportJob
from gateway.systems import RegisteredSystem

log = logging.getLogger(__name__)

BATCH_ROWS = 200
"""Rows decided and committed together: one commit, and one read of what they need, for all.

Measured (bench/bulk_import.py, 20,000 rows): 1,049 rows/s at 32, 1,265 at 200, 1,132 at
500, where the per-row writes of the larger transactions start to tell."""
PROBLEMS_KEPT = 20
"""Problems kept per refused row for the error report (the count of the rest is noted)."""
MEDIA_TYPE = "application/json"
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class ImportRequest:
    """What the operator asked: which file, from and to which systems, under which envelope."""

    path: Path
    source: str
    destination: str
    purpose: str
    legal_basis: str
    agreement: str | None = None
    format: str | None = None  # from the file's suffix when not given
    job: str | None = None  # from the file, source and destination when not given
    resume: bool = False  # True: refuse unless an unfinished job for this file exists
    message_type: str = REGISTRATION


@dataclass(frozen=True)
class Prepared:
    """A checked request and its job: new, to resume, or already finished."""

    request: ImportRequest
    job: BulkImportJob
    source: RegisteredSystem
    format: str
    file_size: int
    resumed: bool


@dataclass(frozen=True)
class Summary:
    job_id: str
    progress: Progress
    resumed_from: int  # rows already done when this run began


class BulkImports:
    """Run import jobs through an exchange service."""

    def __init__(self, exchanges: ExchangeService, batch_rows: int = BATCH_ROWS) -> None:
        self.exchanges = exchanges
        self.db = exchanges.db
        self.clock = exchanges.clock
        self.batch_rows = batch_rows

    def prepare(self, request: ImportRequest) -> Prepared:
        """Check the file, the systems and the envelope; find or open the job.

        Anything wrong raises a GatewayError before anything is written.
        """
        path = request.path
        if request.job is not None and not re.fullmatch(NAME_PATTERN, request.job):
            problem = Problem("--job", "lower-case letters, digits, '.', '_', '-'; at most 64")
            raise InvalidInput("the job name is not valid", [problem])
        if not path.is_file():
            raise BadFileError("no such file", [Problem("FILE", "not a readable file")])
        format = request.format or SUFFIXES.get(path.suffix.lower())
        if format is None:
            problem = Problem("--format", "say csv or jsonl (the file's suffix does not)")
            raise BadFileError("unknown file format", [problem])
        source = self.exchanges.directory.get(request.source)
        if source is None:
            raise UnknownSystemError(
                f"no source system {request.source!r}",
                [Problem("--source", "no system is registered under this id")],
            )
        self._check_envelope(request, source)
        with path.open("rb") as handle:
            digest, size = _digest(handle)
            start = ExportFile(handle, format).start  # a CSV's header is checked here
        job_id = request.job or _job_id(digest, request)
        with self.db.unit_of_work() as session:
            job = repository.find(session, job_id)
            if job is None:
                if request.resume:
                    raise NotFoundError(
                        "nothing to resume", [Problem("--resume", "no import of this file")]
                    )
                job = self._new_job(job_id, digest, size, format, request, source, start)
                repository.create(session, job)
                resumed = False
            else:
                _check_same(job, digest, format, request)
                resumed = True
        return Prepared(request, job, source, format, size, resumed)

    def run(
        self, prepared: Prepared, on_batch: Callable[[Progress], None] = lambda _: None
    ) -> Summary:
        """Import every row not yet done, a batch at a time; mark the job finished."""
        job, request = prepared.job, prepared.request
        progress = Progress.of(job)
        resumed_from = progress.rows_done
        if job.finished_at is None:
            envelope = _envelope(job)
            with request.path.open("rb") as handle:
                export = ExportFile(handle, prepared.format)
                since = Position(job.next_offset, job.next_line)
                for rows in _batches(export.rows(since), self.batch_rows):
                    reads = [self._read(prepared.source, envelope, job.id, row) for row in rows]
                    progress = self._commit(job.id, rows, reads, progress)
                    on_batch(progress)
            with self.db.unit_of_work() as session:
                repository.finish(session, job.id, self.clock())
        return Summary(job.id, progress, resumed_from)

    def _read(
        self, source: RegisteredSystem, envelope: dict[str, str], job_id: str, row: Row
    ) -> Parsed | Refused:
        """Receive and parse one row as the source system's submission."""
        headers = {
            **envelope,
            **to_headers({"idempotency_key": f"bulk:{job_id}:{row.line}"}),
            CONTENT_TYPE: MEDIA_TYPE,
        }
        received = self.exchanges.receive(Inbound(None, headers, row.body, row.unread))
        return self.exchanges.parse(received, source)

    def _commit(
        self, job_id: str, rows: Sequence[Row], reads: Sequence[Parsed | Refused], before: Progress
    ) -> Progress:
        """Decide and record a batch of rows with the job's progress, in one transaction.

        Run once more if the batch fails as a whole (a deadlock, a key bound meanwhile), as
        the group commit does (store/group.py): until the commit, it only read and decided.
        Failing again, it is refused: its rows were recorded meanwhile, by another process
        running the same job (rows are keyed by job and line), or the store is failing.
        """
        for attempt in (1, 2):
            try:
                with self.db.transaction() as connection:
                    batch = Batch(connection)
                    outcomes = self.exchanges.decide_and_record(batch, reads)
                    entries, after = _entries(rows, outcomes, before)
                    batch.defer(*repository.writes(job_id, entries, after, self.clock()))
                    batch.write()
                return after
            except DBAPIError as exc:
                if attempt == 2:
                    raise ConflictError(
                        "a batch of rows could not be committed; is the same import running?",
                        [Problem("FILE", f"lines {rows[0].line} to {rows[-1].line}")],
                    ) from exc
                log.info("a batch of %d rows failed as a whole; running it again", len(rows))
        raise AssertionError("unreachable")

    def _check_envelope(self, request: ImportRequest, source: RegisteredSystem) -> None:
        """Walk an empty row through parsing: only the body may be wrong, else refuse the file.

        Why through the service's own parse: it checks the envelope, the destination, that
        the source sends and the destination receives the message type, as every row will
        be checked; a file whose every row would fail for the same reason is refused whole.
        """
        envelope = _envelope_fields(request)
        read = self._read(source, envelope, "bulk-check", Row(0, Position(), b"{}"))
        if isinstance(read, Refused) and not isinstance(read.error, ParseError):
            raise read.error

    def _new_job(
        self,
        job_id: str,
        digest: str,
        size: int,
        format: str,
        request: ImportRequest,
        source: RegisteredSystem,
        start: Position,
    ) -> BulkImportJob:
        now = self.clock()
        return BulkImportJob(
            id=job_id,
            file_digest=digest,
            file_size=size,
            format=format,
            source=source.id,
            destination=request.destination,
            envelope=_envelope_fields(request),
            rows_done=0,
            next_offset=start.offset,
            next_line=start.line,
            accepted=0,
            denied=0,
            invalid=0,
            started_at=now,
            updated_at=now,
        )


def _entries(
    rows: Sequence[Row], outcomes: Sequence[Accepted | Denied | Exception], before: Progress
) -> tuple[list[dict[str, Any]], Progress]:
    """Return each row's stored outcome, and the job's progress after the batch.

    An error that is not a GatewayError is a bug: it is raised, and the batch rolls back.
    """
    after = Progress(**vars(before))
    entries = []
    for row, outcome in zip(rows, outcomes, strict=True):
        entry: dict[str, Any] = {"row_no": row.line, "reason": None, "problems": None}
        if isinstance(outcome, Accepted):
            entry |= {
                "exchange_id": outcome.exchange_id,
                "outcome": "held" if outcome.held else "accepted",
            }
            after.accepted += 1
        elif isinstance(outcome, Denied | PolicyDeniedError):  # an error: a replayed denial
            reasons = outcome.reasons
            exchange_id = outcome.exchange_id
            entry |= {"exchange_id": exchange_id, "outcome": "denied", "reason": " ".join(reasons)}
            after.denied += 1
        elif isinstance(outcome, GatewayError) and outcome.exchange_id is not None:
            problems = [p.as_dict() for p in outcome.problems[:PROBLEMS_KEPT]]
            if outcome.problem_count > PROBLEMS_KEPT:
                more = f"{outcome.problem_count - PROBLEMS_KEPT} more problems not listed"
                problems.append(Problem("row", more).as_dict())
            entry |= {
                "exchange_id": outcome.exchange_id,
                "outcome": "invalid",
                "reason": outcome.reason,
                "problems": problems,
            }
            after.invalid += 1
        else:
            raise outcome if isinstance(outcome, Exception) else TypeError(outcome)
        entries.append(entry)
    after.rows_done += len(rows)
    after.next_offset, after.next_line = rows[-1].end.offset, rows[-1].end.line
    return entries, after


def _envelope_fields(request: ImportRequest) -> dict[str, str]:
    fields = {
        "destination": request.destination,
        "message_type": request.message_type,
        "purpose": request.purpose,
        "legal_basis": request.legal_basis,
        "agreement": request.agreement,
    }
    return to_headers(fields)


def _envelope(job: BulkImportJob) -> dict[str, str]:
    return {str(k): str(v) for k, v in job.envelope.items()}


def _check_same(job: BulkImportJob, digest: str, format: str, request: ImportRequest) -> None:
    """Refuse to resume a job with another file, other systems or another envelope."""
    problems = []
    if job.file_digest != digest:
        problems.append(Problem("FILE", "the job imports another file (its digest differs)"))
    if job.format != format:
        problems.append(Problem("--format", f"the job reads {job.format}"))
    if job.source != request.source:
        problems.append(Problem("--source", "the job imports from another system"))
    if _envelope(job) != _envelope_fields(request):
        problems.append(Problem("envelope", "the job sends under another envelope"))
    if problems:
        raise ConflictError(f"import job {job.id!r} is another import", problems)


def _job_id(digest: str, request: ImportRequest) -> str:
    """Name a job by what it imports: the same file, to the same systems, is the same job."""
    named = f"{digest}\x00{request.source}\x00{request.destination}".encode()
    return "bulk-" + hashlib.sha256(named).hexdigest()[:24]


def _digest(handle: BinaryIO) -> tuple[str, int]:
    """Return the SHA-256 and size of a file, read in chunks (never whole)."""
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch
