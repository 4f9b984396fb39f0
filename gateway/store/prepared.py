"""Statements of the exchange path, compiled once per dialect and run on the driver's cursor.

Why: SQLAlchemy spends 30 to 50 µs around each statement that the driver itself runs in about
5, and an exchange runs six of them. The statements are still written in Core against the
models, so the schema keeps one source; only their execution skips SQLAlchemy. Values pass
through each column type's own bind and result processors, so a row written here reads back
through the ORM exactly as if the ORM had written it. Driver errors are raised as SQLAlchemy's,
with parameters and the driver's detail left out (they can quote payload values).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Select

Processor = Callable[[Any], Any]
TransactionFactory = Callable[[], AbstractContextManager["Transaction"]]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # parameter order for positional paramstyles, else None
    binds: Mapping[str, Processor]
    row: Callable[..., Any] | None  # builds a named row, for statements that select
    results: tuple[Processor | None, ...]
    expanding: frozenset[str]  # parameters that are IN lists

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        named: dict[str, Any] = {}
        for key, value in values.items():
            process = self.binds.get(key)
            if key in self.expanding:  # an IN list: one placeholder per item
                for i, item in enumerate(value, 1):
                    named[f"{key}_{i}"] = process(item) if process else item
            else:
                named[key] = process(value) if process else value
        return named if self.order is None else [named[name] for name in self.order]

    def make_row(self, raw: Sequence[Any]) -> Any:
        assert self.row is not None
        return self.row(*(p(v) if p else v for p, v in zip(self.results, raw, strict=True)))


_Shape = tuple[str, tuple[str, ...], tuple[tuple[str, int], ...]]


class Statement:
    """A Core statement (or one per dialect, from a function of the dialect's name).

    An INSERT writes the columns named by the values given; an IN list takes any length.
    """

    def __init__(self, statement: ClauseElement | Callable[[str], ClauseElement]) -> None:
        self._statement = statement
        self._compiled: dict[_Shape, _Compiled] = {}

    def compiled(self, dialect: Dialect, values: Mapping[str, Any]) -> _Compiled:
        """Return the statement compiled for this dialect, these names and these IN lengths."""
        names = tuple(values)
        base = self._compiled.get((dialect.name, names, ()))
        if base is None:
            base = self._compiled[(dialect.name, names, ())] = self._compile(dialect, names, ())
        if not base.expanding:
            return base
        lengths = tuple((k, len(values[k])) for k in sorted(base.expanding))
        found = self._compiled.get((dialect.name, names, lengths))
        if found is None:
            found = self._compile(dialect, names, lengths)
            self._compiled[(dialect.name, names, lengths)] = found
        return found

    def _compile(
        self, dialect: Dialect, names: tuple[str, ...], lengths: tuple[tuple[str, int], ...]
    ) -> _Compiled:
        statement = self._statement
        if not isinstance(statement, ClauseElement):
            statement = statement(dialect.name)
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        binds = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        expanding = frozenset(name for name, bind in compiled.binds.items() if bind.expanding)
        sql, order = compiled.string, tuple(compiled.positiontup or ())
        if lengths:  # render one placeholder per item of each IN list
            state = compiled.construct_expanded_state(
                {**dict.fromkeys(compiled.binds), **{k: [None] * n for k, n in lengths}}
            )
            sql, order = state.statement, tuple(state.positiontup or ())
        positional = order if compiled.positional else None
        if not isinstance(statement, Select):
            return _Compiled(sql, positional, binds, None, (), expanding)
        columns = list(statement.selected_columns)
        return _Compiled(
            sql,
            positional,
            binds,
            namedtuple("Row", [c.key for c in columns]),  # type: ignore[misc]
            tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns),
            expanding,
        )


class Transaction:
    """A driver cursor inside one transaction, running prepared statements."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self.dialect = dialect

    def execute(self, statement: Statement, values: Mapping[str, Any]) -> None:
        compiled = statement.compiled(self.dialect, values)
        parameters = compiled.parameters(values)
        self._run(compiled.sql, lambda: self._cursor.execute(compiled.sql, parameters))

    def execute_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        compiled = statement.compiled(self.dialect, rows[0])
        batch = [compiled.parameters(values) for values in rows]
        self._run(compiled.sql, lambda: self._cursor.executemany(compiled.sql, batch))

    def rows(self, statement: Statement, values: Mapping[str, Any]) -> list[Any]:
        """Return every row, each a named tuple of processed values."""
        compiled = statement.compiled(self.dialect, values)

        parameters = compiled.parameters(values)

        def fetch() -> list[Any]:
            self._cursor.execute(compiled.sql, parameters)
            return [compiled.make_row(raw) for raw in self._cursor.fetchall()]

        found: list[Any] = self._run(compiled.sql, fetch)
        return found

    def first(self, statement: Statement, values: Mapping[str, Any]) -> Any | None:
        """Return the first row, or None."""
        found = self.rows(statement, values)
        return found[0] if found else None

    def one(self, statement: Statement, values: Mapping[str, Any]) -> Any:
        """Return the only row; fail if there is none or more than one."""
        found = self.rows(statement, values)
        if len(found) != 1:
            raise LookupError(f"expected one row, found {len(found)}")
        return found[0]

    def _run(self, sql: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except self.dialect.loaded_dbapi.Error as exc:
            # The driver's first line names the constraint; PostgreSQL's detail quotes values.
            summary = type(exc)((str(exc).splitlines() or [type(exc).__name__])[0])
            raise DBAPIError.instance(
                sql, None, summary, self.dialect.loaded_dbapi.Error, hide_parameters=True
            ) from None


@contextmanager
def transaction(
    connection: Any, dialect: Dialect, commit: bool = True, begin: str | None = None
) -> Iterator[Transaction]:
    """Run a block in one transaction on a DBAPI connection.

    It commits if the block succeeds and `commit` is set, else rolls back. `begin` is the
    statement that opens the transaction, where the driver's implicit begin will not do.
    """
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        yield Transaction(cursor, dialect)
        if commit:
            connection.commit()
        else:
            connection.rollback()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()
