"""What a batch of exchanges needs from the store, read once for the whole batch.

Why: each exchange needs three reads (its idempotency key, what is remembered of its
subjects, their consents), and a round trip costs more than its query, most of all to a
database server. A batch reads them for all its exchanges at once. What an exchange of the
batch writes that a later one must see is kept up to date: a key bound earlier in the batch
is found (audit.repository.bound_in), and risk countries or links learnt by one exchange
are added to what the next one recalls (`learnt`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from gateway import consents as consent_registry
from gateway.audit import repository as audit_log
from gateway.audit.repository import Bound
from gateway.store.group import Batch
from gateway.subjects import Recalled, Subject, recall, recalled_after


class Known:
    """The store's answers for a batch: bound keys, remembered subjects, consents."""

    def __init__(
        self,
        connection: Connection,
        keys: Iterable[tuple[str, str]],
        subjects: Sequence[Subject],
    ) -> None:
        self._connection = connection
        self._subjects = subjects
        self._keys = audit_log.bound_keys(connection, keys)
        self._recalled: Recalled | None = None
        pseudonyms = {p for s in subjects for p in s.pseudonyms}
        self._grants = consent_registry.held_by(connection, pseudonyms)

    def bound(self, batch: Batch, source: str, key: str) -> Bound | None:
        """Return what a key is bound to: earlier in this batch, or in the store."""
        return audit_log.bound_in(batch, source, key) or self._keys.get((source, key))

    def recalled(self) -> Recalled:
        """Return what is remembered of the batch's subjects, what the batch learnt included."""
        if self._recalled is None:
            self._recalled = recall(self._connection, self._subjects)
        return self._recalled

    def learnt(self, subjects: Iterable[Subject], risk: Mapping[str, frozenset[str]]) -> None:
        """Add what an exchange of the batch remembered of its subjects (`remember` wrote it)."""
        self._recalled = recalled_after(self.recalled(), subjects, risk)

    def grants(self, subjects: Mapping[str, str], recipient: str, purpose: str) -> list[Any]:
        """Return the grants these pseudonyms gave this recipient for this purpose."""
        return [
            g
            for g in self._grants
            if g.subject in subjects and g.recipient == recipient and g.purpose == purpose
        ]
