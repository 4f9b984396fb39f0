"""Read an export file one row at a time, never the whole file, every row bounded.

A row becomes one native message: a flat JSON object of its cells (CSV, under the header's
column names) or the line itself (JSON lines, parsed by the source adapter like any body).
Rows are read from bytes, so each row's end is a byte offset a resumed import seeks to, and
so a hostile row costs what MAX_ROW_BYTES costs: a longer row (a 100 MB line, a CSV quote
never closed, a million cells) is skipped to its end in chunks and reported as too large; a
row that is not UTF-8 or not CSV is reported as unreadable; the import goes on.

A row is numbered by the file line it starts on (the header of a CSV is line 1), which is
what an editor or a spreadsheet shows; blank lines are not rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from gateway.canonical.json import canonical_json
from gateway.errors import GatewayError, InvalidInput, ParseError, PayloadTooLargeError, Problem

MAX_ROW_BYTES = 64 * 1024
"""A row's limit: a legacy registration row is well under 2 KiB."""
MAX_COLUMNS = 200
"""A CSV header's limit: the export has 17 columns; a header of a million is not an export."""
CHUNK = 1024 * 1024
"""How much of an over-long row is read at once while skipping it."""
FORMATS = ("csv", "jsonl")


class BadFileError(InvalidInput):
    """The file cannot be imported at all (its header, its format): nothing was changed."""


@dataclass(frozen=True)
class Row:
    """One row: where it starts and ends, and its native message or why it has none."""

    line: int  # the file line the row starts on (1-based)
    end: Position  # just after the row: where the next row starts
    body: bytes | None  # the native message (a JSON object's bytes)
    unread: GatewayError | None = None  # why the row could not be read


@dataclass(frozen=True)
class Position:
    """Where reading starts: a byte offset and the line it is on (after the header, for CSV)."""

    offset: int = 0
    line: int = 1


class ExportFile:
    """An export file of one format; `header` read once, rows from any committed position."""

    def __init__(self, handle: BinaryIO, format: str) -> None:
        if format not in FORMATS:
            raise BadFileError(f"unknown format {format!r}", [Problem("--format", "csv or jsonl")])
        self._handle = handle
        self.format = format
        self.columns: tuple[str, ...] = ()
        self.start = Position()
        if format == "csv":
            self.columns, self.start = _header(handle)

    def rows(self, since: Position | None = None) -> Iterator[Row]:
        """Yield every row from `since` (a committed position) or from the first row."""
        at = since or self.start
        self._handle.seek(at.offset)
        records = _records(self._handle, at, quoted=self.format == "csv")
        for line, end, record in records:  # end: where the next record starts
            if isinstance(record, GatewayError):
                yield Row(line, end, None, record)
            elif self.format == "jsonl":
                if record.strip():
                    yield Row(line, end, record.strip())
            elif record.strip(b"\r\n"):
                yield _csv_row(self.columns, line, end, record)


def _records(
    handle: BinaryIO, at: Position, *, quoted: bool
) -> Iterator[tuple[int, Position, bytes | GatewayError]]:
    """Yield (first line, next position, bytes or why not) for each record: a line, or for CSV
    the lines up to the one that closes every quote (RFC 4180 doubles a quote in a field,
    so an even count of quotes means every field is closed)."""
    offset, line = at.offset, at.line
    while True:
        part = handle.readline(MAX_ROW_BYTES + 1)
        if not part:
            return
        first, parts, size = line, [part], len(part)
        quotes = part.count(b'"') if quoted else 0
        while part and not (part.endswith(b"\n") and quotes % 2 == 0):
            line += part.count(b"\n")
            part = handle.readline(MAX_ROW_BYTES + 1 if size <= MAX_ROW_BYTES else CHUNK)
            size += len(part)
            quotes += part.count(b'"') if quoted else 0
            if size <= MAX_ROW_BYTES + 1:
                parts.append(part)
        line += part.count(b"\n")
        offset += size
        if size > MAX_ROW_BYTES:
            problem = Problem("row", f"the row is longer than {MAX_ROW_BYTES} bytes")
            yield (
                first,
                Position(offset, line),
                PayloadTooLargeError("the row is too large", [problem]),
            )
        else:
            yield first, Position(offset, line), b"".join(parts)


def _header(handle: BinaryIO) -> tuple[tuple[str, ...], Position]:
    """Read a CSV's header: distinct, non-empty column names, at most MAX_COLUMNS."""
    handle.seek(0)
    for _, end, record in _records(handle, Position(), quoted=True):
        if isinstance(record, GatewayError):
            raise BadFileError("the header row is too long", [Problem("line 1", "too long")])
        try:
            cells = _cells(record.removeprefix(codecs.BOM_UTF8))
        except GatewayError as error:
            raise BadFileError("the header row cannot be read", error.problems) from None
        columns = tuple(cell.strip() for cell in cells)
        problems = []
        if len(columns) > MAX_COLUMNS:
            problems.append(Problem("line 1", f"{len(columns)} columns; at most {MAX_COLUMNS}"))
        elif len(set(columns)) != len(columns) or not all(columns):
            problems.append(Problem("line 1", "column names must be distinct and not empty"))
        if problems:
            raise BadFileError("the header row is not an export's header", problems)
        return columns, end
    raise BadFileError("the file is empty", [Problem("line 1", "no header row")])


def _cells(record: bytes) -> list[str]:
    """Split one CSV record into its cells; ParseError if it is not UTF-8 or not CSV."""
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem("row", f"the row is not valid UTF-8 (byte {exc.start})")
        raise ParseError("the row is not UTF-8", [problem]) from None
    try:
        return next(csv.reader(io.StringIO(text, newline=""), strict=True), [])
    except csv.Error as exc:  # its message names a position and a rule, never the text
        raise ParseError("the row is not CSV", [Problem("row", str(exc))]) from None


def _csv_row(columns: tuple[str, ...], line: int, end: Position, record: bytes) -> Row:
    """Make a CSV record the flat JSON object of its non-empty cells, or say why not."""
    try:
        cells = _cells(record)
    except GatewayError as error:
        return Row(line, end, None, error)
    if len(cells) != len(columns):
        problem = Problem("row", f"{len(cells)} cells; the header names {len(columns)} columns")
        return Row(line, end, None, ParseError("the row does not fit the header", [problem]))
    body = canonical_json({c: v for c, v in zip(columns, cells, strict=True) if v != ""})
    return Row(line, end, body)
