"""Body keys in generations: rows sealed under an older key still open, a rotation re-seals
them under the current one, fenced, so that a message delivered meanwhile stays erased."""

from __future__ import annotations

from sqlalchemy import select, update

from gateway.config import Settings
from gateway.crypto import Keyring
from gateway.delivery.bodies import (
    body_key_generations,
    body_keyring,
    kept_by_key,
    reseal_bodies,
    reseal_rows,
)
from gateway.delivery.repository import AWAITING_APPROVAL, DEAD, DELIVERED, PENDING
from gateway.runtime import Runtime
from gateway.store.models import OutboxMessage
from tests.dead_letters.support import ADMIN, Letters
from tests.delivery.servers import Destination
from tests.delivery.support import BODY, Clock, outbox_row, queue

MASTER = b"a master secret of the tests"


def test_generation_one_is_the_key_bodies_were_sealed_under_before_generations() -> None:
    before = Keyring.derive([MASTER], "seal-outbox-bodies")
    first, second = body_keyring(MASTER, 1), body_keyring(MASTER, 2)
    key, sealed = before.seal(b"payload", b"exchange")

    assert first.current_id == key
    assert second.current_id != key
    assert second.open(key, sealed, b"exchange") == b"payload"  # earlier generations open
    assert body_key_generations(MASTER, 2) == {key: 1, second.current_id: 2}
    assert body_keyring(b"another master", 2).current_id != second.current_id


def test_a_rotation_reseals_every_kept_body_under_the_new_key_once(
    runtime: Runtime, letters: Letters
) -> None:
    dead = letters.dead()
    pending = letters.queued()
    held = letters.queued()
    with runtime.db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.exchange_id == held)
            .values(status=AWAITING_APPROVAL)
        )
    old = runtime.bodies.current_id
    master = runtime.settings.master_secret()
    rotated = body_keyring(master, 2)

    done = reseal_bodies(runtime.db, rotated, batch=2)
    again = reseal_bodies(runtime.db, rotated)

    assert (done.resealed, done.changed_meanwhile, done.unknown_key) == (3, 0, 0)
    assert again.resealed == 0  # idempotent
    for exchange_id, state in ((dead, DEAD), (pending, PENDING), (held, AWAITING_APPROVAL)):
        row = outbox_row(runtime, exchange_id)
        assert (row.status, row.key_id) == (state, rotated.current_id)
        assert row.body is not None
        assert rotated.open(row.key_id, row.body, exchange_id.encode()) == BODY
    assert old != rotated.current_id
    assert kept_by_key(runtime.db) == {
        (rotated.current_id, DEAD): 1,
        (rotated.current_id, PENDING): 1,
        (rotated.current_id, AWAITING_APPROVAL): 1,
    }


def test_rows_of_either_generation_are_delivered_by_a_gateway_at_generation_two(
    settings: Settings, runtime: Runtime, letters: Letters, destination: Destination
) -> None:
    resealed = letters.dead()
    unrotated = letters.dead()
    rotated = body_keyring(runtime.settings.master_secret(), 2)
    with runtime.db.unit_of_work() as session:  # the first only: the second keeps generation 1
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.exchange_id,
                OutboxMessage.key_id,
                OutboxMessage.body,
            ).where(OutboxMessage.exchange_id == resealed)
        ).all()
        assert reseal_rows(session, rotated, rows).resealed == 1
    runtime.close()
    second = Runtime.build(settings.model_copy(update={"body_key_generation": 2}), clock=Clock())
    try:
        assert second.bodies.current_id == rotated.current_id
        destination.status = 202
        second.dead_letters.replay_all(ADMIN, "dst")
        assert second.relay.drain() == 2
        assert destination.bodies == [BODY, BODY]
        assert {outbox_row(second, e).status for e in (resealed, unrotated)} == {DELIVERED}
        new = queue(second, destination.url, Clock())
        assert outbox_row(second, new).key_id == rotated.current_id  # new ones: the new key
    finally:
        second.close()


def test_a_row_delivered_while_the_rotation_ran_is_not_resurrected(
    runtime: Runtime, letters: Letters, destination: Destination
) -> None:
    exchange_id = letters.queued()
    rotated = body_keyring(runtime.settings.master_secret(), 2)
    with runtime.db.reading() as session:  # the rotation reads the row ...
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.exchange_id,
                OutboxMessage.key_id,
                OutboxMessage.body,
            )
        ).all()
    destination.status = 202
    assert runtime.relay.drain() == 1  # ... the relay delivers it and erases its body ...
    with runtime.db.unit_of_work() as session:  # ... and the rotation writes
        done = reseal_rows(session, rotated, rows)

    assert (done.resealed, done.changed_meanwhile) == (0, 1)
    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.body, row.key_id) == (DELIVERED, None, runtime.bodies.current_id)


def test_rows_under_an_unknown_key_are_left_as_they_are_and_listed(
    runtime: Runtime, letters: Letters
) -> None:
    foreign = letters.dead()
    altered = letters.dead()
    kept = letters.dead()
    with runtime.db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.exchange_id == foreign)
            .values(key_id="0123456789abcdef")
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.exchange_id == altered)
            .values(body=b"\x00" * 40)
        )
    rotated = body_keyring(runtime.settings.master_secret(), 2)

    done = reseal_bodies(runtime.db, rotated)

    assert (done.resealed, done.unknown_key, done.unreadable) == (1, 1, 1)
    assert done.left_alone == [foreign, altered]
    assert outbox_row(runtime, foreign).key_id == "0123456789abcdef"
    assert outbox_row(runtime, altered).body == b"\x00" * 40
    assert outbox_row(runtime, kept).key_id == rotated.current_id
