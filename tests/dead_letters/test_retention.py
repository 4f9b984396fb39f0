"""Dead letters' bodies are erased once the retention period has passed since their last
attempt; their rows, attempts and records stay, and a purged one can no longer be replayed.

The clock is injected: attempts are made at hand-set times, and the purge is asked "now"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from gateway.dead_letters.errors import BodyPurgedError
from gateway.dead_letters.retention import purge_dead_bodies
from gateway.delivery.repository import DEAD, PENDING
from gateway.runtime import Runtime
from gateway.store.models import ExchangeRecord
from tests.dead_letters.support import ADMIN, Letters, actions
from tests.delivery.support import Clock, outbox_row

DAYS = dt.timedelta(days=30)


def test_only_bodies_past_the_retention_period_are_erased_and_the_rows_stay(
    runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    old = letters.dead()
    clock.advance(DAYS.total_seconds() / 2)
    recent = letters.dead()
    waiting = letters.queued()  # pending: never purged, however old
    purge_at = Clock().now + DAYS + dt.timedelta(seconds=1)

    too_soon = purge_dead_bodies(runtime.db, purge_at - dt.timedelta(seconds=2), DAYS)
    purged = purge_dead_bodies(runtime.db, purge_at, DAYS)
    again = purge_dead_bodies(runtime.db, purge_at, DAYS)

    assert (too_soon, purged, again) == (0, 1, 0)
    gone = outbox_row(runtime, old)
    assert (gone.status, gone.body, gone.last_error) == (DEAD, None, "HTTP 400")
    assert outbox_row(runtime, recent).body is not None
    assert outbox_row(runtime, waiting).status == PENDING
    reason = "kept 30 days after its last attempt (the retention period)"
    assert actions(runtime, old) == [("purge", "retention", reason)]
    assert actions(runtime, recent) == []
    with runtime.db.reading() as session:  # the exchange's record is kept
        assert session.scalar(select(ExchangeRecord.id).where(ExchangeRecord.id == old)) == old
    shown = runtime.dead_letters.get(ADMIN, old)
    assert (shown.status, shown.body_held, shown.attempts) == (DEAD, False, 1)
    assert [a.action for a in shown.actions] == ["purge"]


def test_a_purged_dead_letter_cannot_be_replayed_but_can_be_discarded(
    runtime: Runtime, letters: Letters
) -> None:
    exchange_id = letters.dead()
    purge_dead_bodies(runtime.db, Clock().now + DAYS * 2, DAYS)

    with pytest.raises(BodyPurgedError) as refused:
        runtime.dead_letters.replay(ADMIN, exchange_id)
    replayed_all = runtime.dead_letters.replay_all(ADMIN, "dst")
    runtime.dead_letters.discard(ADMIN, exchange_id, "its body is gone")

    assert refused.value.reason == "body_purged"
    assert "erased after the retention period" in refused.value.message
    assert (replayed_all.replayed, replayed_all.left_without_body) == (0, 1)
    assert [a for a, _, _ in actions(runtime, exchange_id)] == ["purge", "discard"]


def test_the_last_attempt_counts_so_a_replayed_letter_that_died_again_is_kept(
    runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    exchange_id = letters.dead()
    clock.advance(DAYS.total_seconds() - 60)
    runtime.dead_letters.replay(ADMIN, exchange_id)
    runtime.relay.drain()  # refused again: dead again, tried just now

    assert purge_dead_bodies(runtime.db, clock.now + dt.timedelta(days=1), DAYS) == 0
    assert purge_dead_bodies(runtime.db, clock.now + DAYS + dt.timedelta(seconds=1), DAYS) == 1


def test_purges_in_batches(runtime: Runtime, letters: Letters) -> None:
    ids = [letters.dead() for _ in range(5)]

    assert purge_dead_bodies(runtime.db, Clock().now + DAYS * 2, DAYS, batch=2) == 5
    assert all(outbox_row(runtime, e).body is None for e in ids)


def test_the_retention_period_is_positive(runtime: Runtime) -> None:
    with pytest.raises(ValueError):
        purge_dead_bodies(runtime.db, Clock().now, dt.timedelta(0))
