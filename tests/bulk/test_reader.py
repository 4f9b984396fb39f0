"""The export reader: rows from bytes, each bounded, each ending where the next begins."""

from __future__ import annotations

import io
import json

import pytest

from gateway.bulk.reader import MAX_ROW_BYTES, BadFileError, ExportFile, Position
from gateway.errors import ParseError, PayloadTooLargeError

CSV = (
    b"\xef\xbb\xbfIndividualID,GivenName,Remarks\r\n"
    b'A1,Achol,"two\r\nlines"\r\n'
    b"\r\n"
    b'A2,"Deng ""Junior""",\r\n'
    b"A3,B\xffad,\r\n"
    b"A4,short\r\n"
    b"A5,last,no newline at the end"
)


def test_csv_rows_are_numbered_by_the_line_they_start_on_with_quotes_and_newlines_kept() -> None:
    export = ExportFile(io.BytesIO(CSV), "csv")

    rows = list(export.rows())

    assert export.columns == ("IndividualID", "GivenName", "Remarks")
    assert [row.line for row in rows] == [2, 5, 6, 7, 8]
    assert json.loads(rows[0].body or b"") == {
        "IndividualID": "A1",
        "GivenName": "Achol",
        "Remarks": "two\r\nlines",
    }
    assert json.loads(rows[1].body or b"") == {"IndividualID": "A2", "GivenName": 'Deng "Junior"'}
    assert isinstance(rows[2].unread, ParseError) and rows[2].body is None
    assert "UTF-8" in rows[2].unread.problems[0].message
    assert "2 cells; the header names 3 columns" in str(rows[3].unread and rows[3].unread.problems)
    assert rows[-1].end == Position(len(CSV), 8)


def test_reading_from_a_row_s_end_gives_the_rows_after_it() -> None:
    export = ExportFile(io.BytesIO(CSV), "csv")
    rows = list(export.rows())

    again = list(export.rows(rows[1].end))

    assert [(r.line, r.end, r.body) for r in again] == [(r.line, r.end, r.body) for r in rows[2:]]


def test_an_over_long_line_is_skipped_in_chunks_and_reported() -> None:
    data = b'{"a": 1}\n' + b"x" * (5 * MAX_ROW_BYTES) + b"\n" + b'{"b": 2}\n'

    rows = list(ExportFile(io.BytesIO(data), "jsonl").rows())

    assert [(row.line, row.body) for row in rows] == [(1, b'{"a": 1}'), (2, None), (3, b'{"b": 2}')]
    assert isinstance(rows[1].unread, PayloadTooLargeError)
    assert rows[1].end == Position(len(data) - 9, 3)


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"a,a\r\n",
        b"a,,b\r\n",
        b",".join([b"c"] * 201) + b"\r\n",
        b'"a\r\n' + b"x" * MAX_ROW_BYTES,
    ],
)
def test_a_header_that_is_no_export_s_header_is_refused(header: bytes) -> None:
    with pytest.raises(BadFileError):
        ExportFile(io.BytesIO(header), "csv")
