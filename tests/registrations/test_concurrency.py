"""Two registrations of one person at once: the later, in commit order, is flagged against
the earlier, exactly once; the earlier was answered before the later existed.

On PostgreSQL the second transaction must wait for the first (an advisory lock per digest,
gateway/registrations/repository.py), else neither would see the other. The first holds its
transaction open until the second is seen waiting on that lock, so the two surely overlap.
On SQLite this process's writers take turns (gateway/store/db.py): the second waits for the
first's commit before it begins.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import text

from gateway.registrations.service import prepare
from gateway.store.db import Database
from gateway.store.group import Batch
from tests.registrations.support import (
    AUTHORITY,
    PSEUDONYMISER,
    in_batch,
    person,
    register,
    registration,
    stored_flags,
    strengths,
)

DEADLINE_SECONDS = 30
WAITING_ON_A_DIGEST = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
)


def _until_the_second_waits_or_ends(db: Database, second: threading.Thread) -> None:
    if db.embedded:
        return  # the second cannot begin before the first commits
    deadline = time.monotonic() + DEADLINE_SECONDS
    with db.engine.connect() as watcher:
        while second.is_alive():
            if watcher.execute(WAITING_ON_A_DIGEST).scalar_one() > 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError("the second registration neither waited nor ended")
            watcher.rollback()  # a fresh snapshot of the activity view
            time.sleep(0.01)


def test_concurrent_registrations_of_one_person_are_flagged_once(db: Database) -> None:
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    first_checked = threading.Event()

    def second_registration() -> None:
        try:
            assert first_checked.wait(DEADLINE_SECONDS)
            results["second"] = register(db, registration(person("Okello", "Amani")))
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    second = threading.Thread(target=second_registration)
    second.start()
    with db.transaction() as connection:
        batch = Batch(connection)
        results["first"] = in_batch(batch, registration(person()))
        first_checked.set()
        _until_the_second_waits_or_ends(db, second)
        batch.write()
    second.join(DEADLINE_SECONDS)

    assert not errors and not second.is_alive()
    first_id, first_flags = results["first"]
    second_id, second_flags = results["second"]
    assert strengths(first_flags) == []
    assert strengths(second_flags) == ["probable"]
    assert [(r["exchange_id"], r["matched_exchange_id"]) for r in stored_flags(db)] == [
        (second_id, first_id)
    ]


def test_a_batch_of_the_same_people_in_another_order_waits_and_is_flagged(
    db: Database,
) -> None:
    amani, juma = registration(person()), registration(person("Juma", "Otieno", "1975-05-05"))
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    first_checked = threading.Event()

    def batch_of(payloads: list[Any], key: str) -> None:
        with db.transaction() as connection:
            batch = Batch(connection)
            prepared = prepare(batch, PSEUDONYMISER, [(p, AUTHORITY) for p in payloads])
            results[key] = [in_batch(batch, p, prepared=prepared) for p in payloads]
            if key == "first":
                first_checked.set()
                _until_the_second_waits_or_ends(db, second)
            batch.write()

    def second_batch() -> None:
        try:
            assert first_checked.wait(DEADLINE_SECONDS)
            batch_of([juma, amani], "second")  # the first batch's people, the other way round
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    second = threading.Thread(target=second_batch)
    second.start()
    batch_of([amani, juma], "first")
    second.join(DEADLINE_SECONDS)

    assert not errors and not second.is_alive()
    (amani_1, _), (juma_1, _) = results["first"]
    (juma_2, _), (amani_2, _) = results["second"]
    assert {(r["exchange_id"], r["matched_exchange_id"]) for r in stored_flags(db)} == {
        (amani_2, amani_1),
        (juma_2, juma_1),
    }
