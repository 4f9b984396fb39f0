"""Imports end to end on the real store: every row decided and recorded once, refused rows
reported without their content, bad files and arguments refused with nothing changed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select

from adapters.legacy import samples
from gateway.bulk import repository
from gateway.bulk.report import write_report
from gateway.bulk.service import BulkImports
from gateway.cli_import import run_import
from gateway.errors import ConflictError
from gateway.runtime import Runtime
from gateway.store.models import (
    BulkImportJob,
    BulkImportRow,
    ExchangeRecord,
    IdempotencyKey,
    OutboxMessage,
)
from tests.bulk import world


def export(path: Path, count: int, **cells: dict[int, dict[str, str]]) -> Path:
    """Write `count` synthetic rows; `cells[n]` changes row n's cells."""
    changed = cells.get("changes", {})
    samples.write_csv(path, (samples.row(n) | changed.get(n, {}) for n in range(1, count + 1)))
    return path


def table_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.reading() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                ExchangeRecord,
                IdempotencyKey,
                OutboxMessage,
                BulkImportJob,
                BulkImportRow,
            )
        }


def every_row_once(runtime: Runtime, job_id: str, lines: list[int]) -> None:
    """Each file row has exactly one row record, pointing at its own exchange record."""
    with runtime.db.reading() as session:
        stored = session.execute(
            select(BulkImportRow.row_no, BulkImportRow.exchange_id, ExchangeRecord.decision)
            .join(ExchangeRecord, ExchangeRecord.id == BulkImportRow.exchange_id)
            .where(BulkImportRow.job_id == job_id)
            .order_by(BulkImportRow.row_no)
        ).all()
        records = session.scalar(
            select(func.count())
            .select_from(ExchangeRecord)
            .where(ExchangeRecord.source == world.SOURCE)
        )
    assert [row for row, _, _ in stored] == lines
    assert len({exchange for _, exchange, _ in stored}) == len(lines)
    assert records == len(lines)


def test_a_csv_export_is_imported_every_row_decided_and_recorded_once(
    runtime: Runtime, tmp_path: Path
) -> None:
    changes = {
        3: {"Sex": "Q"},  # not a code of the list
        5: {"RegistrationDate": ""},  # a required cell left empty
        7: {"Nationality": "Kenya"},  # to the Kenyan registry: the origin guard denies
    }
    path = export(tmp_path / "export.csv", 40, changes=changes)
    imports = BulkImports(runtime.exchanges, batch_rows=16)

    summary = imports.run(imports.prepare(world.request(path, world.HOST_REGISTRY)))

    done = summary.progress
    assert (done.rows_done, done.accepted, done.denied, done.invalid) == (40, 37, 1, 2)
    every_row_once(runtime, summary.job_id, list(range(2, 42)))
    counts = table_counts(runtime)
    assert counts["outbox"] == 37
    assert counts["idempotency_keys"] == 38  # decided rows bind their key; invalid ones do not
    with runtime.db.reading() as session:
        by_line = {r.row_no: r for r in session.scalars(select(BulkImportRow))}
        assert repository.counts(session, summary.job_id) == {
            "accepted": 37,
            "denied": 1,
            "invalid": 2,
        }
    assert (by_line[4].outcome, by_line[4].reason) == ("invalid", "invalid_message")
    assert {"location": "/Sex", "message": "is not a known code"} in (by_line[4].problems or [])
    assert (by_line[8].outcome, by_line[8].reason) == ("denied", "origin.risk_country")


def test_the_error_report_lists_refused_rows_by_field_never_by_value(
    runtime: Runtime, tmp_path: Path
) -> None:
    changes = {2: {"DateOfBirth": "1990-02-30"}, 4: {"Nationality": "KEN"}}
    path = export(tmp_path / "export.csv", 6, changes=changes)
    imports = BulkImports(runtime.exchanges)
    summary = imports.run(imports.prepare(world.request(path, world.HOST_REGISTRY)))

    as_csv = tmp_path / "errors.csv"
    as_jsonl = tmp_path / "errors.jsonl"
    assert write_report(runtime.db, summary.job_id, as_csv) == 2
    assert write_report(runtime.db, summary.job_id, as_jsonl) == 2

    lines = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert [(r["row"], r["outcome"], r["reason"], r["location"]) for r in lines] == [
        ("3", "invalid", "invalid_message", "/DateOfBirth"),
        ("5", "denied", "origin.risk_country", ""),
    ]
    objects = [json.loads(line) for line in as_jsonl.read_text().splitlines()]
    assert [o["row"] for o in objects] == [3, 5]
    text = as_csv.read_text() + as_jsonl.read_text()
    for n in (2, 4):
        for column in ("IndividualID", "GivenName", "FamilyName", "DateOfBirth", "DocumentNumber"):
            assert samples.row(n)[column] not in text
    assert "1990-02-30" not in text


def test_a_finished_job_run_again_changes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    path = export(tmp_path / "export.csv", 5)
    imports = BulkImports(runtime.exchanges)
    first = imports.run(imports.prepare(world.request(path)))
    before = table_counts(runtime)

    again = imports.prepare(world.request(path))
    summary = imports.run(again)

    assert again.resumed and again.job.finished_at is not None
    assert summary.job_id == first.job_id and summary.progress.rows_done == 5
    assert table_counts(runtime) == before


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"source": "no-such-system"}, "--source"),
        ({"destination": "no-such-system"}, "X-Exchange-Destination"),
        ({"purpose": "Not A Name"}, "X-Exchange-Purpose"),
        ({"legal_basis": "because"}, "X-Exchange-Legal-Basis"),
        ({"format": "xlsx"}, "--format"),
        ({"job": "Bad Job!"}, "--job"),
        ({"resume": True}, "--resume"),
    ],
)
def test_bad_arguments_exit_2_and_change_nothing(
    runtime: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    problem: str,
) -> None:
    path = export(tmp_path / "export.csv", 3)
    before = table_counts(runtime)

    with pytest.raises(typer.Exit) as exited:
        run_import(runtime, world.request(path, **change), None)  # type: ignore[arg-type]

    assert exited.value.exit_code == 2
    assert problem in capsys.readouterr().err
    assert table_counts(runtime) == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "no header row"),
        (b"IndividualID,GivenName,IndividualID\r\nA,B,C\r\n", "distinct"),
        (b",".join(b"c%d" % i for i in range(1000)) + b"\r\n", "at most"),
        (b"x" * 70_000 + b"\r\n", "too long"),
        (b"IndividualID,\xffGivenName\r\n", "UTF-8"),
    ],
)
def test_a_file_that_is_not_an_export_exits_2_and_changes_nothing(
    runtime: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    problem: str,
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    before = table_counts(runtime)

    with pytest.raises(typer.Exit) as exited:
        run_import(runtime, world.request(path), None)

    assert exited.value.exit_code == 2
    assert problem in capsys.readouterr().err
    assert table_counts(runtime) == before


def test_another_file_under_the_same_job_is_refused(
    runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = export(tmp_path / "first.csv", 3)
    other = export(tmp_path / "other.csv", 4)
    run_import(runtime, world.request(first, job="migration-2026"), None)
    before = table_counts(runtime)

    with pytest.raises(typer.Exit) as exited:
        run_import(runtime, world.request(other, job="migration-2026"), None)

    assert exited.value.exit_code == 2
    assert "another file" in capsys.readouterr().err
    assert table_counts(runtime) == before


def test_hostile_rows_are_each_reported_and_the_import_goes_on(
    runtime: Runtime, tmp_path: Path
) -> None:
    good = [json.dumps({k: v for k, v in samples.row(n).items() if v}).encode() for n in (1, 2, 3)]
    lines = [
        good[0],
        b'{"IndividualID": "' + b"x" * 3_000_000 + b'"}',  # a 3 MB line: skipped in chunks
        b'{"GivenName": "Ach\xffol"}',  # not UTF-8
        b"[" * 10_000 + b"]" * 10_000,  # 10,000 deep
        b"",  # a blank line is no row
        b'"a string, not a row"',
        good[1],
        b'{"IndividualID": "A", ' + b'"c": "x", ' * 50_000 + b'"z": "y"}',  # 450 KB of cells
        good[2],
    ]
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    imports = BulkImports(runtime.exchanges)

    summary = imports.run(imports.prepare(world.request(path)))

    done = summary.progress
    assert (done.rows_done, done.accepted, done.invalid) == (8, 3, 5)
    every_row_once(runtime, summary.job_id, [1, 2, 3, 4, 6, 7, 8, 9])
    with runtime.db.reading() as session:
        reasons = {r.row_no: r.reason for r in session.scalars(select(BulkImportRow))}
    assert reasons == {
        1: None,
        2: "payload_too_large",
        3: "invalid_message",
        4: "invalid_message",
        6: "invalid_message",
        7: None,
        8: "payload_too_large",
        9: None,
    }


def test_a_csv_row_of_a_million_cells_is_reported_and_the_import_goes_on(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = export(tmp_path / "export.csv", 2)
    with path.open("ab") as out:
        out.write(b"," * 1_000_000 + b"\r\n")
        out.write(b'LEG-9,"never closed\r\n')  # a quote never closed runs to the file's end
    imports = BulkImports(runtime.exchanges)

    summary = imports.run(imports.prepare(world.request(path)))

    assert (summary.progress.accepted, summary.progress.invalid) == (2, 2)
    with runtime.db.reading() as session:
        refused = [(r.row_no, r.reason) for r in repository.refused_rows(session, summary.job_id)]
    assert refused == [(4, "payload_too_large"), (5, "invalid_message")]


def test_the_same_job_run_twice_at_once_decides_no_row_twice(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = export(tmp_path / "export.csv", 6)
    imports = BulkImports(runtime.exchanges)
    first, second = (imports.prepare(world.request(path)) for _ in range(2))
    imports.run(first)
    before = table_counts(runtime)

    with pytest.raises(ConflictError, match="same import running"):
        imports.run(second)  # began from where the first began: its rows are replays

    assert table_counts(runtime) == before


def test_the_command_prints_the_counts_and_writes_the_report_it_is_asked_for(
    runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = export(tmp_path / "export.csv", 4, changes={2: {"Sex": "Q"}})
    before = table_counts(runtime)

    with pytest.raises(typer.Exit) as exited:
        run_import(runtime, world.request(path), tmp_path / "nowhere" / "errors.csv")
    assert exited.value.exit_code == 2 and table_counts(runtime) == before

    summary = run_import(runtime, world.request(path), tmp_path / "errors.jsonl")

    out = capsys.readouterr().out
    assert f"job {summary.job_id}: 4 rows (4 in this run): accepted 3, denied 0, invalid 1" in out
    assert "1 refused rows listed in" in out
    [line] = (tmp_path / "errors.jsonl").read_text().splitlines()
    assert json.loads(line)["row"] == 3
