"""The system directory: this process sees a change at once, others within the cache time."""

from __future__ import annotations

import pytest

from gateway import systems
from gateway.crypto import AesGcmSealer
from gateway.errors import AuthenticationError
from gateway.store.db import Database, migrate
from gateway.systems import Directory, SystemSpec

SEALER = AesGcmSealer(b"k" * 32)
SPEC = SystemSpec(id="crvs", name="Civil registry", adapter="opencrvs", jurisdiction="KEN")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def register(db: Database) -> str:
    with db.unit_of_work() as session:
        return systems.register(session, SPEC, SEALER)[1]


def test_a_rotated_credential_fails_at_once_in_this_process(db: Database) -> None:
    directory = Directory(db, ttl_seconds=3600)
    old = register(db)
    assert directory.authenticate(old).id == "crvs"
    with db.unit_of_work() as session:
        new = systems.rotate_credential(session, "crvs")
    with pytest.raises(AuthenticationError):
        directory.authenticate(old)
    assert directory.authenticate(new).id == "crvs"


def test_a_moved_endpoint_counts_from_the_next_lookup(db: Database) -> None:
    directory = Directory(db, ttl_seconds=3600)
    register(db)
    assert directory.get("crvs") is not None
    with db.unit_of_work() as session:
        systems.move(session, "crvs", "http://127.0.0.1:9/new")
    entry = directory.get("crvs")
    assert entry is not None and entry.endpoint == "http://127.0.0.1:9/new"


def test_a_rolled_back_change_keeps_the_copy(db: Database) -> None:
    clock = Clock()
    directory = Directory(db, ttl_seconds=60, clock=clock)
    old = register(db)
    directory.authenticate(old)
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        systems.rotate_credential(session, "crvs")
        raise RuntimeError("abandoned")
    assert directory.authenticate(old).id == "crvs"


def test_another_process_sees_a_change_within_the_cache_time(database_url: str) -> None:
    here, there = Database.connect(database_url), Database.connect(database_url)
    migrate(here.engine)
    try:
        clock = Clock()
        directory = Directory(here, ttl_seconds=5, clock=clock)
        old = register(here)
        assert directory.authenticate(old).id == "crvs"
        with there.unit_of_work() as session:  # another process rotates the credential
            new = systems.rotate_credential(session, "crvs")
        clock.now += 4.9
        assert directory.authenticate(old).id == "crvs"  # still the copy, within 5 s
        clock.now += 0.2
        with pytest.raises(AuthenticationError):
            directory.authenticate(old)
        assert directory.authenticate(new).id == "crvs"
    finally:
        here.dispose()
        there.dispose()


@pytest.mark.parametrize("credential", [None, "", "gw_" + "x" * 43, "x" * 5000])
def test_missing_or_unknown_credentials_are_refused(db: Database, credential: str | None) -> None:
    register(db)
    with pytest.raises(AuthenticationError):
        Directory(db, ttl_seconds=5).authenticate(credential)
