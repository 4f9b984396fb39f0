"""Dead letters as the administrator works them: list, inspect, replay, discard; all recorded.

A message goes dead when its destination refused it for good (a 4xx) or after the last
attempt the retry policy allows (gateway/delivery/retry.py). Its sealed body is kept, so an
operator can act once the cause is known: replay it (due again at once, its attempts counted
afresh, the relay woken) once the destination is mended, or discard it with a reason (never
sent, body erased, row kept). Each action is one conditional UPDATE and the record of it,
in one transaction, answered once committed; of two operators acting on one dead letter at
once exactly one does, and the other is told what happened instead.

Why the administrator, not the DPO: a replay sends a person's data. The administrator runs
delivery; the DPO answers for transfers and runs nothing (gateway/approvals/ for the converse).
Nothing here reads a body: an answer gives its size and whether it is still kept, never it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from gateway.audit.service import Reader
from gateway.dead_letters import repository
from gateway.dead_letters.errors import BodyPurgedError, NotDeadError
from gateway.dead_letters.repository import DISCARD, REPLAY, Letter, Tried
from gateway.dead_letters.schemas import (
    SHOWN,
    ActionOut,
    AttemptOut,
    DeadLetterOut,
    DeadLetterPage,
    DeadLetterQuery,
    DeadLetterSummary,
    Replayed,
)
from gateway.delivery.bodies import plain_size
from gateway.delivery.repository import DEAD
from gateway.errors import ForbiddenError, NotFoundError
from gateway.ids import is_uuid
from gateway.store.db import Database

log = logging.getLogger(__name__)


class DeadLetters:
    """The dead letters, as the administrator works them."""

    def __init__(
        self, db: Database, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self._db = db
        self._clock = clock
        self.on_replayed: Callable[[], None] = lambda: None  # after the commit: wake the relay
        # After the commit of a discard: its erased body leaves SQLite's log at the relay's
        # next compaction (OutboxRelay.note_erased), off the request path.
        self.on_erased: Callable[[], None] = lambda: None

    def listing(self, reader: Reader, query: DeadLetterQuery) -> DeadLetterPage:
        """List dead letters, all or one destination's, oldest first, a page at a time."""
        _only_the_administrator(reader)
        after = None if query.cursor is None else int(query.cursor)
        with self._db.reading() as session:
            rows = repository.listed(session, query.destination, query.limit + 1, after)
            page = rows[: query.limit]
            tries = repository.tried(session, [r.exchange_id for r in page])
        found = [_summary(r, tries.get(r.exchange_id)) for r in page]
        more = len(rows) > query.limit
        return DeadLetterPage(dead_letters=found, next_cursor=str(page[-1].id) if more else None)

    def get(self, reader: Reader, exchange_id: str) -> DeadLetterOut:
        """Return a dead letter: its metadata, attempts and the actions taken; never its body."""
        _only_the_administrator(reader)
        _check_id(exchange_id)
        with self._db.reading() as session:
            return _found(session, exchange_id)

    def replay(self, reader: Reader, exchange_id: str) -> DeadLetterOut:
        """Make a dead letter due again at once, tried afresh; the relay is woken."""
        _only_the_administrator(reader)
        _check_id(exchange_id)
        now = self._clock()
        with self._db.unit_of_work() as session:
            if not repository.replay(session, exchange_id, now):
                raise _why_not(session, exchange_id, "replayed")
            repository.record(session, [exchange_id], REPLAY, reader.role, None, now)
            replayed = _found(session, exchange_id)
        log.info("dead letter of exchange %s replayed by the %s", exchange_id, reader.role)
        self.on_replayed()
        return replayed

    def replay_all(self, reader: Reader, destination: str) -> Replayed:
        """Make every dead letter of a destination that keeps its body due again, at once."""
        _only_the_administrator(reader)
        now = self._clock()
        with self._db.unit_of_work() as session:
            if not repository.system_exists(session, destination):
                raise NotFoundError(f"no system {destination!r} is registered")
            replayed = repository.replay_destination(session, destination, now)
            repository.record(session, replayed, REPLAY, reader.role, None, now)
            left = repository.without_body(session, destination)
        log.info(
            "%d dead letters of %s replayed by the %s (%d left without a body)",
            len(replayed),
            destination,
            reader.role,
            left,
        )
        if replayed:
            self.on_replayed()
        return Replayed(destination=destination, replayed=len(replayed), left_without_body=left)

    def discard(self, reader: Reader, exchange_id: str, reason: str) -> DeadLetterOut:
        """Close a dead letter for good, its body erased, its row and the reason kept."""
        _only_the_administrator(reader)
        _check_id(exchange_id)
        now = self._clock()
        with self._db.unit_of_work() as session:
            if not repository.discard(session, exchange_id):
                raise _why_not(session, exchange_id, "discarded")
            repository.record(session, [exchange_id], DISCARD, reader.role, reason, now)
            discarded = _found(session, exchange_id)
        log.info("dead letter of exchange %s discarded by the %s", exchange_id, reader.role)
        self.on_erased()
        return discarded


def _only_the_administrator(reader: Reader) -> None:
    if not reader.admin:
        raise ForbiddenError("this needs the administrator role")


def _check_id(exchange_id: str) -> None:
    """Refuse an id no exchange can have as absent, without repeating it (it may be anything)."""
    if not is_uuid(exchange_id):
        raise NotFoundError("no dead letter has this id")


def _why_not(session: Session, exchange_id: str, done: str) -> Exception:
    """Say why an exchange's message could not be `done`: absent, not dead, or no body."""
    found = repository.status_of(session, exchange_id)
    if found is None:
        return NotFoundError(f"no message was queued for exchange {exchange_id}")
    status, has_body = found
    if status != DEAD:
        return NotDeadError(
            f"the message of exchange {exchange_id} is {status}, not dead: only a dead letter "
            f"can be {done}"
        )
    assert not has_body  # dead and keeping its body: the UPDATE would have matched
    return BodyPurgedError(
        f"the body of exchange {exchange_id} was erased after the retention period, so it "
        "cannot be sent again: discard it, or have its source send it anew"
    )


def _found(session: Session, exchange_id: str) -> DeadLetterOut:
    letter = repository.one(session, exchange_id)
    if letter is None:
        raise NotFoundError(f"exchange {exchange_id} has no dead letter")
    tries = repository.tried(session, [exchange_id]).get(exchange_id)
    return DeadLetterOut(
        **_summary(letter, tries).model_dump(),
        status=letter.status,
        content_type=letter.content_type,
        body_bytes=plain_size(letter.key_id, letter.stored_bytes),
        first_attempt_at=None if tries is None else tries.first,
        attempt_log=[
            AttemptOut.model_validate(a) for a in repository.attempts(session, exchange_id, SHOWN)
        ],
        actions=[
            ActionOut.model_validate(a) for a in repository.actions(session, exchange_id, SHOWN)
        ],
    )


def _summary(letter: Letter, tries: Tried | None) -> DeadLetterSummary:
    return DeadLetterSummary(
        exchange_id=letter.exchange_id,
        destination=letter.destination,
        source=letter.source,
        message_type=letter.message_type,
        recorded_at=letter.recorded_at,
        attempts=0 if tries is None else tries.count,
        last_error=letter.last_error,
        last_attempt_at=None if tries is None else tries.last,
        body_held=letter.stored_bytes is not None,
    )
