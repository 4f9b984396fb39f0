"""The import's progress on stderr: rows done of an estimated total, rows per second.

The total is estimated from bytes (the file's size over the bytes a row takes so far), which
costs nothing, where counting rows would read the file twice. A terminal gets a live bar
(rich, which typer brings); anything else a plain line every few seconds, for logs.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from gateway.bulk.repository import Progress as Done

PLAIN_EVERY_SECONDS = 5.0


class Meter:
    """Show a job's progress as its batches commit."""

    def __init__(self, file_size: int, start: Done, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._size = max(file_size, 1)
        self._start = start
        self._started = time.monotonic()
        self._shown = self._started
        self._bar: Progress | None = None
        if self._stream.isatty():
            self._bar = Progress(
                TextColumn("importing"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rows]}"),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
                transient=False,
            )
            self._task = self._bar.add_task(
                "import", total=self._size, completed=start.next_offset, rows="", rate=""
            )
            self._bar.start()

    def update(self, done: Done) -> None:
        rows, rate = self.describe(done)
        if self._bar is not None:
            self._bar.update(self._task, completed=done.next_offset, rows=rows, rate=rate)
        elif time.monotonic() - self._shown >= PLAIN_EVERY_SECONDS:
            self._shown = time.monotonic()
            print(f"imported {rows}, {rate}", file=self._stream, flush=True)

    def describe(self, done: Done) -> tuple[str, str]:
        """Return 'N of ~M rows' and 'R rows/s' (this run's rate)."""
        rows_now = done.rows_done - self._start.rows_done
        bytes_now = done.next_offset - self._start.next_offset
        elapsed = max(time.monotonic() - self._started, 1e-9)
        if rows_now > 0 and bytes_now > 0:
            left = (self._size - done.next_offset) * rows_now / bytes_now
            total = f"{done.rows_done:,} of ~{done.rows_done + round(left):,} rows"
        else:
            total = f"{done.rows_done:,} rows"
        return total, f"{rows_now / elapsed:,.0f} rows/s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
