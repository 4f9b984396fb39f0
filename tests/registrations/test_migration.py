"""Migration 0010 makes the registration tables, and its downgrade takes them away again."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from gateway.store.db import make_engine, migrate

pytestmark = pytest.mark.fresh_schema
TABLES = {"registration_digests", "registration_flags"}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(files("gateway.store").joinpath("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0010_up_down_and_up_again(engine: Engine) -> None:
    migrate(engine, "0010")
    assert TABLES <= set(inspect(engine).get_table_names())

    downgrade(engine, "0009")
    assert not TABLES & set(inspect(engine).get_table_names())

    migrate(engine, "0010")
    assert TABLES <= set(inspect(engine).get_table_names())
