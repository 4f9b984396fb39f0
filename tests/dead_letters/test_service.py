"""Dead letters as the administrator works them, on the real database: list, inspect, replay,
discard; every action recorded, each taken once, and a replay really delivered."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from gateway.audit.service import Reader
from gateway.crypto import Keyring
from gateway.dead_letters.errors import BodyPurgedError, NotDeadError
from gateway.dead_letters.repository import DISCARDED
from gateway.dead_letters.schemas import DeadLetterOut, DeadLetterQuery
from gateway.delivery.bodies import SEAL_OVERHEAD
from gateway.delivery.repository import DEAD, DELIVERED, PENDING
from gateway.errors import ForbiddenError, GatewayError, NotFoundError
from gateway.runtime import Runtime
from gateway.store.models import OutboxMessage
from tests.dead_letters.support import ADMIN, DPO, SYSTEM, Letters, actions, statuses
from tests.delivery.servers import Destination
from tests.delivery.support import BODY, Clock, outbox_row

UNKNOWN = "0b5a6a9e-55a0-4c1e-9b8a-3d2f0e1c7a11"


def test_a_dead_letter_is_listed_and_shown_with_its_attempts_but_never_its_body(
    runtime: Runtime, letters: Letters, clock: Clock
) -> None:
    first = letters.dead()
    clock.advance(60)
    second = letters.dead(body=b'{"n": 22}')
    letters.queued()  # pending: not a dead letter

    page = runtime.dead_letters.listing(ADMIN, DeadLetterQuery())
    shown = runtime.dead_letters.get(ADMIN, first)

    assert [d.exchange_id for d in page.dead_letters] == [first, second]  # oldest first
    assert page.next_cursor is None
    summary = page.dead_letters[0]
    assert (summary.destination, summary.source, summary.attempts) == ("dst", "src", 1)
    assert (summary.last_error, summary.body_held) == ("HTTP 400", True)
    assert summary.last_attempt_at == Clock().now
    assert (shown.status, shown.content_type, shown.body_bytes) == (DEAD, "application/json", 8)
    assert runtime.dead_letters.get(ADMIN, second).body_bytes == len(b'{"n": 22}')
    assert shown.first_attempt_at == shown.last_attempt_at == Clock().now
    assert [(a.status_code, a.error) for a in shown.attempt_log] == [(400, None)]
    assert shown.actions == []
    assert BODY.decode() not in shown.model_dump_json()
    assert outbox_row(runtime, first).body is not None  # kept, for a replay


def test_the_listing_pages_and_filters_by_destination(runtime: Runtime, letters: Letters) -> None:
    ids = [letters.dead() for _ in range(3)]
    other = letters.dead(to="elsewhere")

    first = runtime.dead_letters.listing(ADMIN, DeadLetterQuery(limit=2))
    rest = runtime.dead_letters.listing(ADMIN, DeadLetterQuery(limit=2, cursor=first.next_cursor))
    only = runtime.dead_letters.listing(ADMIN, DeadLetterQuery(destination="elsewhere"))
    none = runtime.dead_letters.listing(ADMIN, DeadLetterQuery(destination="nowhere"))

    assert [d.exchange_id for d in first.dead_letters] == ids[:2] and first.next_cursor
    assert [d.exchange_id for d in rest.dead_letters] == [ids[2], other]
    assert rest.next_cursor is None
    assert [d.exchange_id for d in only.dead_letters] == [other]
    assert none.dead_letters == []


def test_a_replay_is_recorded_wakes_the_relay_and_is_really_delivered(
    runtime: Runtime, letters: Letters, destination: Destination, clock: Clock
) -> None:
    exchange_id = letters.dead()
    woken: list[bool] = []
    runtime.dead_letters.on_replayed = lambda: woken.append(True)
    clock.advance(3600)

    replayed = runtime.dead_letters.replay(ADMIN, exchange_id)

    assert woken == [True]
    assert (replayed.status, replayed.body_held) == (PENDING, True)
    assert [(a.action, a.actor) for a in replayed.actions] == [("replay", "admin")]
    row = outbox_row(runtime, exchange_id)
    assert (row.attempts, row.next_attempt_at, row.lease_token) == (0, clock.now, None)
    destination.status = 202
    assert runtime.relay.drain() == 1
    assert outbox_row(runtime, exchange_id).status == DELIVERED
    assert destination.applied[exchange_id] == 1 and destination.bodies == [BODY]
    shown = runtime.dead_letters.get(ADMIN, exchange_id)  # still shown: it was a dead letter
    assert (shown.status, shown.attempts, shown.body_held) == (DELIVERED, 2, False)
    assert [a.status_code for a in shown.attempt_log] == [400, 202]


def test_only_a_dead_letter_can_be_replayed_or_discarded(
    runtime: Runtime, letters: Letters
) -> None:
    dead = letters.dead()
    pending = letters.queued()  # after: the relay tried the dead one only
    runtime.dead_letters.discard(ADMIN, dead, "the registry refuses births before 2020")

    for exchange_id, state in ((pending, PENDING), (dead, DISCARDED)):
        with pytest.raises(NotDeadError) as replayed:
            runtime.dead_letters.replay(ADMIN, exchange_id)
        with pytest.raises(NotDeadError):
            runtime.dead_letters.discard(ADMIN, exchange_id, "again")
        assert replayed.value.status == 409
        assert f"is {state}, not dead" in replayed.value.message
    with pytest.raises(NotFoundError):
        runtime.dead_letters.get(ADMIN, pending)  # never dead: not a dead letter
    assert actions(runtime, dead) == [
        ("discard", "admin", "the registry refuses births before 2020")
    ]
    assert statuses(runtime) == {pending: PENDING, dead: DISCARDED}


def test_a_discard_erases_the_body_and_keeps_the_row_and_the_reason(
    runtime: Runtime, letters: Letters, destination: Destination
) -> None:
    exchange_id = letters.dead()
    erased: list[bool] = []
    runtime.dead_letters.on_erased = lambda: erased.append(True)

    discarded = runtime.dead_letters.discard(ADMIN, exchange_id, "sent anew by its source")

    assert erased == [True]
    assert (discarded.status, discarded.body_held, discarded.body_bytes) == (
        DISCARDED,
        False,
        None,
    )
    assert [(a.action, a.reason) for a in discarded.actions] == [
        ("discard", "sent anew by its source")
    ]
    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.body) == (DISCARDED, None)
    destination.status = 202
    assert runtime.relay.drain() == 0  # never sent
    assert destination.applied[exchange_id] == 0


def test_a_dead_letter_without_its_body_cannot_be_replayed(
    runtime: Runtime, letters: Letters
) -> None:
    exchange_id = letters.dead()
    with runtime.db.unit_of_work() as session:
        session.execute(update(OutboxMessage).values(body=None))  # as a purge leaves it

    with pytest.raises(BodyPurgedError) as refused:
        runtime.dead_letters.replay(ADMIN, exchange_id)

    assert (refused.value.status, refused.value.reason) == (409, "body_purged")
    assert outbox_row(runtime, exchange_id).status == DEAD
    assert actions(runtime, exchange_id) == []
    runtime.dead_letters.discard(ADMIN, exchange_id, "purged: nothing to send")  # still can


def test_replaying_a_destination_replays_each_of_its_dead_letters_with_a_body_at_once(
    runtime: Runtime, letters: Letters, destination: Destination
) -> None:
    kept = [letters.dead() for _ in range(3)]
    purged = letters.dead()
    other = letters.dead(to="elsewhere")
    with runtime.db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.exchange_id == purged).values(body=None)
        )
    woken: list[bool] = []
    runtime.dead_letters.on_replayed = lambda: woken.append(True)

    done = runtime.dead_letters.replay_all(ADMIN, "dst")
    again = runtime.dead_letters.replay_all(ADMIN, "dst")

    assert (done.replayed, done.left_without_body) == (3, 1)
    assert (again.replayed, again.left_without_body) == (0, 1)
    assert woken == [True]  # only when something became due
    assert statuses(runtime) == {**dict.fromkeys(kept, PENDING), purged: DEAD, other: DEAD}
    assert all(actions(runtime, e) == [("replay", "admin", None)] for e in kept)
    destination.status = 202
    runtime.relay.drain()
    assert destination.order == kept  # in acceptance order
    with pytest.raises(NotFoundError):
        runtime.dead_letters.replay_all(ADMIN, "nowhere")


def test_two_replays_of_one_dead_letter_at_once_exactly_one_wins(
    runtime: Runtime, letters: Letters
) -> None:
    exchange_id = letters.dead()
    start = threading.Barrier(2)

    def replay() -> DeadLetterOut | GatewayError:
        start.wait(timeout=30)
        try:
            return runtime.dead_letters.replay(ADMIN, exchange_id)
        except GatewayError as error:
            return error

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: replay(), range(2)))

    won = [o for o in outcomes if isinstance(o, DeadLetterOut)]
    lost = [o for o in outcomes if isinstance(o, GatewayError)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], NotDeadError) and "is pending" in lost[0].message
    assert actions(runtime, exchange_id) == [("replay", "admin", None)]


def test_a_replay_and_a_discard_at_once_exactly_one_wins(
    runtime: Runtime, letters: Letters
) -> None:
    exchange_id = letters.dead()
    start = threading.Barrier(2)

    def act(discard: bool) -> str:
        start.wait(timeout=30)
        try:
            if discard:
                runtime.dead_letters.discard(ADMIN, exchange_id, "no longer wanted")
            else:
                runtime.dead_letters.replay(ADMIN, exchange_id)
        except NotDeadError:
            return "lost"
        return "won"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(act, (False, True)))

    assert sorted(outcomes) == ["lost", "won"]
    recorded = actions(runtime, exchange_id)
    assert len(recorded) == 1
    state = statuses(runtime)[exchange_id]
    assert state == {"replay": PENDING, "discard": DISCARDED}[recorded[0][0]]


@pytest.mark.parametrize("reader", [DPO, SYSTEM], ids=["dpo", "system"])
def test_only_the_administrator_works_dead_letters(
    runtime: Runtime, letters: Letters, reader: Reader
) -> None:
    exchange_id = letters.dead()
    service = runtime.dead_letters

    for act in (
        lambda: service.listing(reader, DeadLetterQuery()),
        lambda: service.get(reader, exchange_id),
        lambda: service.replay(reader, exchange_id),
        lambda: service.replay_all(reader, "dst"),
        lambda: service.discard(reader, exchange_id, "not mine to discard"),
    ):
        with pytest.raises(ForbiddenError):
            act()
    assert statuses(runtime) == {exchange_id: DEAD}
    assert actions(runtime, exchange_id) == []


@pytest.mark.parametrize("exchange_id", [UNKNOWN, "not-an-id", "\x00", "x" * 5000])
def test_an_unknown_or_malformed_id_is_not_found(
    runtime: Runtime, letters: Letters, exchange_id: str
) -> None:
    letters.dead()
    for act in (
        lambda: runtime.dead_letters.get(ADMIN, exchange_id),
        lambda: runtime.dead_letters.replay(ADMIN, exchange_id),
        lambda: runtime.dead_letters.discard(ADMIN, exchange_id, "x"),
    ):
        with pytest.raises(NotFoundError) as absent:
            act()
        assert len(absent.value.message) < 200


def test_the_size_shown_is_the_size_sent() -> None:
    """A body's stored size less the seal's overhead (nonce and tag) is what is sent."""
    keyring = Keyring.derive([b"master"], "p")
    _, sealed = keyring.seal(b"x" * 1234, b"exchange")
    assert len(sealed) - SEAL_OVERHEAD == 1234
