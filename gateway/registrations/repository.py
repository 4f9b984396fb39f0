"""Registration digests and flags in the store: what a registration reads, what it writes.

A registration reads the authority's earlier evidence equal to its own, through its batch's
connection and among the rows its batch has yet to write (store/group.py), so two
registrations of one person in one batch see each other. Two in concurrent transactions on
PostgreSQL would not: each first takes a transaction-scoped advisory lock on each of its
digests, so the later waits for the earlier's commit, then reads what it wrote (READ
COMMITTED reads afresh at each statement). A prepared batch (`service.prepare`) locks all
its digests in one statement, in sorted order, so two prepared batches never wait for each
other crosswise; registrations checked one by one lock theirs one by one, and two batches
that do so crosswise deadlock: PostgreSQL aborts one, and the batch is run again
(`GroupCommit._write`). On SQLite, writers take turns already.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BindParameter,
    Connection,
    Select,
    bindparam,
    case,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from gateway.registrations.digest import EVIDENCE, NAME_YEAR_SEX, Digest
from gateway.store.group import Batch, Row, Write
from gateway.store.models import RegistrationDigest, RegistrationFlag

MAX_CANDIDATES = 500
"""Earlier digests read for one registration, strongest evidence first: a common name with a
common birth year must not make a registration's work grow with the register."""
LOCK_NAMESPACE = 0x52454731  # "REG1": the advisory locks of registration digests
_CHUNK = 400  # digests per IN list (SQLite binds at most 32766 parameters)

INSERT_DIGESTS = insert(RegistrationDigest)
INSERT_FLAGS = insert(RegistrationFlag)
_LOCK = text(
    "SELECT pg_advisory_xact_lock(:namespace, k) FROM unnest(CAST(:keys AS integer[])) AS k"
)


@dataclass(frozen=True)
class Earlier:
    """A piece of evidence about a person registered before."""

    kind: str
    digest: str
    estimated: bool
    exchange_id: str
    position: int
    subject: str


def lock(connection: Connection, digests: Iterable[Digest]) -> None:
    """Hold the digests' advisory locks to the end of the transaction (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(d.value) for d in digests})
    if keys:
        connection.execute(_LOCK, {"namespace": LOCK_NAMESPACE, "keys": keys})


@dataclass(frozen=True)
class Wanted:
    """Digests to look for: year digests of exact dates match estimated years only."""

    any_: frozenset[str]  # matched by any earlier digest of that value
    estimated_only: frozenset[str]  # matched only by an earlier estimated year

    @classmethod
    def of(cls, digests: Iterable[Digest]) -> Wanted:
        """Return what to look for to match these digests (a year matters beside an estimate)."""
        digests = list(digests)
        any_ = {d.value for d in digests if d.kind != NAME_YEAR_SEX or d.estimated}
        exact_years = {d.value for d in digests if d.kind == NAME_YEAR_SEX and not d.estimated}
        return cls(frozenset(any_), frozenset(exact_years - any_))

    def matches(self, e: Earlier) -> bool:
        return e.digest in self.any_ or (e.estimated and e.digest in self.estimated_only)


def committed(
    connection: Connection, authority: str, wanted: Wanted, limit: int = MAX_CANDIDATES
) -> list[Earlier]:
    """Return the authority's committed evidence `wanted` matches, strongest first, bounded."""
    every = sorted(wanted.any_ | wanted.estimated_only)
    found: list[Earlier] = []
    for start in range(0, len(every), _CHUNK):
        chunk = every[start : start + _CHUNK]
        parameters = {
            "authority": authority,
            "every": chunk,
            "any": [value for value in chunk if value in wanted.any_],
            "limit": limit,
        }
        rows = connection.execute(_MATCHING, parameters)
        found += [Earlier(k, d, e, x, p, s) for k, d, e, x, p, s in rows]
    return strongest_first(found)[:limit]


def pending(batch: Batch, authority: str, wanted: Wanted) -> list[Earlier]:
    """Return the authority's evidence `wanted` matches among the rows the batch has yet to
    write (registrations decided earlier in the same batch)."""
    every = wanted.any_ | wanted.estimated_only
    rows = batch.deferred(INSERT_DIGESTS)
    found = (_earlier(r) for r in rows if r["digest"] in every and r["authority"] == authority)
    return [e for e in found if wanted.matches(e)]


def strongest_first(found: Iterable[Earlier]) -> list[Earlier]:
    """Sort evidence strongest kind first, keeping the order within a kind."""
    return sorted(found, key=lambda e: _RANK[e.kind])


_RANK = {kind: i for i, kind in enumerate(EVIDENCE)}


def _matching() -> Select[str, str, bool, str, int, str]:
    d = RegistrationDigest
    every: BindParameter[list[str]] = bindparam("every", expanding=True)
    any_: BindParameter[list[str]] = bindparam("any", expanding=True)
    return (
        select(d.kind, d.digest, d.estimated, d.exchange_id, d.position, d.subject)
        .where(
            d.authority == bindparam("authority"),
            # One IN for the index to look up (an OR of two would scan the authority's rows).
            d.digest.in_(every),
            or_(d.digest.in_(any_), d.estimated.is_(True)),
        )
        .order_by(case(_RANK, value=d.kind), d.id.desc())
        .limit(bindparam("limit"))
    )


_MATCHING = _matching()  # built once: SQLAlchemy caches its compiled form


def _earlier(row: Row) -> Earlier:
    return Earlier(
        row["kind"],
        row["digest"],
        row["estimated"],
        row["exchange_id"],
        row["position"],
        row["subject"],
    )


def digest_writes(rows: Sequence[Row]) -> list[Write]:
    """Return the write of a registration's digests (nothing if it has none)."""
    return [(INSERT_DIGESTS, rows)] if rows else []


def flag_writes(rows: Sequence[Row]) -> list[Write]:
    """Return the write of a registration's flags (nothing if none was raised)."""
    return [(INSERT_FLAGS, rows)] if rows else []


def flags(
    session: Session,
    authority: str | None,
    exchange_id: str | None,
    strength: str | None,
    after: int | None,
    limit: int,
) -> list[RegistrationFlag]:
    """Return flags in the order they were raised, filtered, from after the id `after`."""
    f = RegistrationFlag
    query = select(f).order_by(f.id).limit(limit)
    conditions = [
        condition
        for condition, given in (
            (f.authority == authority, authority),
            (f.exchange_id == exchange_id, exchange_id),
            (f.strength == strength, strength),
            (f.id > (after or 0), after),
        )
        if given is not None
    ]
    if conditions:
        query = query.where(*conditions)
    return list(session.scalars(query))


def _lock_key(digest: str) -> int:
    """Return a 32-bit signed key for a digest (collisions only make two wait for each other)."""
    value = int(digest.removeprefix("ps_")[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value
