"""A PostgreSQL database made for one bench run and dropped after it, even when the run fails."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from bench.figures import Unavailable

SERVER = "postgres@127.0.0.1:5432"


@contextmanager
def scratch_database(server: str = SERVER) -> Iterator[str]:
    """Create `bench_<random>` through the `postgres` database; yield the gateway's URL to it.

    A fresh name each run: never the `test` database the test suite empties, nor another run's.
    """
    name = f"bench_{secrets.token_hex(4)}"
    try:
        maintenance = psycopg.connect(
            f"postgresql://{server}/postgres", autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise Unavailable(f"PostgreSQL at {server} cannot be reached: {reason}") from exc
    with maintenance:
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"postgresql+psycopg://{server}/{name}"
        finally:
            # FORCE: a server process that has not yet let go of its connections is ended.
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            maintenance.execute(drop.format(sql.Identifier(name)))
