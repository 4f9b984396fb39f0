"""Logging for the serving process and the command line: a JSON object a line, or text.

`GATEWAY_LOG_FORMAT=json` (the default) writes one JSON object per line on stderr, for a log
collector: `time` (ISO 8601, UTC), `level`, `logger`, `message`, then whatever fields the line
carries (an access line's `method`, `path`, `status`, `duration_ms`, `exchange_id`), and
`error` with the trace when there is one. `GATEWAY_LOG_FORMAT=text` writes the same as one
readable line for a person at a terminal.

`GATEWAY_LOG_LEVEL` (`info`) is the gateway's level. uvicorn's INFO lines are left out but at
`debug`: they repeat what the gateway says itself (its address) or mislead ("Application
startup complete" comes before the socket is bound, so before the server is ready); its
warnings and errors are always there. Libraries stay at WARNING whatever the level, and Casbin
at ERROR: Casbin logs every decision it takes (twice for a denial, as the rules ask it twice),
httpx every request the relay sends; at DEBUG some write request details that have no place
in a log.

`config` is one `logging.config.dictConfig` dictionary, the one uvicorn is given too
(`gateway/api/server.py`), so `gateway serve`, each `--workers` process and the test server all
log alike. What must never be logged (credentials, personal data, query strings) is kept out by
what the gateway logs, not filtered here: no filter can recognise a name.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import sys
from typing import Any, Literal

LogFormat = Literal["json", "text"]
LogLevel = Literal["critical", "error", "warning", "info", "debug"]

# Loggers that say more than an operator needs, at the level they are held to.
LIBRARY_LEVELS = {
    # Every enforce is a line (INFO when allowed, WARNING when not), with the request's values.
    "casbin": "ERROR",
    # One INFO line per request the relay sends; httpcore's DEBUG lines trace each step.
    "httpx": "WARNING",
    "httpcore": "WARNING",
    # Migrations at start-up: "Context impl ...", "Will assume transactional DDL."
    "alembic": "WARNING",
}

# What every LogRecord has: anything else on a record is a field the caller gave (`extra=`).
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's coloured copy of the message
}
# Control characters a text line shows escaped, so one record stays one line.
_ESCAPES = {code: f"\\x{code:02x}" for code in [*range(32), 127]} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields a record carries besides its message (given through `extra=`)."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}


def timestamp(record: logging.LogRecord) -> str:
    """Return when the record was made, ISO 8601 in UTC, to the millisecond."""
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: what a log collector reads."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in fields(record).items():
            entry.setdefault(name, value)  # a field never hides the four above
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """One readable line per record: time, level, logger, message, then any field it adds.

    A field whose value is already a word of the message is not repeated. Control characters are
    shown escaped, so nothing a caller sent can start a line that looks like another record.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        words = message.split()
        extra = " ".join(
            f"{name}={value}"
            for name, value in fields(record).items()
            if value is not None and str(value) not in words
        )
        line = f"{timestamp(record)} {record.levelname:<7} {record.name}: {message}"
        line = (f"{line}  {extra}" if extra else line).translate(_ESCAPES)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


class StderrHandler(logging.Handler):
    """Write each record to the process's stderr of the moment.

    Why not StreamHandler(sys.stderr): that keeps the stream it was given, and a test run or a
    command line that replaces sys.stderr afterwards would leave it writing to a closed one.
    """

    terminator = "\n"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + self.terminator)
            stream.flush()
        except Exception:
            self.handleError(record)


def server_level(level: LogLevel) -> str:
    """Return uvicorn's level for the gateway's `level`: WARNING, unless debug or stricter."""
    return level.upper() if level in ("debug", "error", "critical") else "WARNING"


def config(log_format: LogFormat = "json", level: LogLevel = "info") -> dict[str, Any]:
    """Return the logging configuration: one handler on stderr, in `log_format`.

    The root logger holds the handler at WARNING, so a library's warning is a line in the same
    format; the gateway's loggers are at `level`, uvicorn's at `server_level(level)`. uvicorn's
    access log is off: the gateway writes its own access line (`gateway/api/access.py`), and
    two would be one too many.
    """
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": {"()": FORMATTERS[log_format]}},
        "handlers": {"stderr": {"()": StderrHandler, "formatter": "gateway"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "gateway": {"level": upper},
            # uvicorn's lines go to the same handler; not through the root, as uvicorn's own
            # configuration has it, so that a handler on the root sees only the gateway's.
            "uvicorn": {"handlers": ["stderr"], "level": server_level(level), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            **{name: {"level": floor} for name, floor in LIBRARY_LEVELS.items()},
        },
    }


def configure(log_format: LogFormat = "json", level: LogLevel = "info") -> None:
    """Configure this process's logging (the command line, before it serves)."""
    logging.config.dictConfig(config(log_format, level))
