"""The exchange log: every exchange record, a leaf of one append-only Merkle tree (RFC 9162).

How it works, and why this way:

- The exchange path writes each record with its leaf hash (audit/record.py) and nothing else:
  the log costs a request nothing.
- One appender, off the request path (`BackgroundAppender`, one thread in each serving
  process), seals what has committed: it reads records not yet in the log (`log_index` is
  null), oldest first, gives them the next indexes, stores the complete subtrees they make
  (`log_nodes`), and signs one checkpoint for the whole batch, in one transaction. Records
  commit out of order on PostgreSQL (several processes, group commit), and a record whose
  transaction commits late is simply found by a later batch: nothing is skipped, because the
  appender does not read "after the last index" but "every committed record not yet sealed".
  The log's order is the order of sealing.
- One appender at a time: on PostgreSQL each batch takes a transaction-scoped advisory lock
  (another waits its turn, then finds what is left); on SQLite writers are serialised
  anyway. Indexes are unique in the schema, and each batch marks only rows still unsealed:
  no gap, no duplicate, no fork.
- Before it signs, the appender proves the new tree consistent with the last checkpoint
  (RFC 9162 consistency proof from the stored nodes, checked against both roots): it never
  signs a checkpoint that contradicts one it signed before.
- The tree commits to the leaf hash written with the record, in the same transaction. A
  record changed afterwards, sealed or not, no longer matches its leaf: the verifier names it.
- The signing key is derived from the master secret and a generation number (nothing to
  store); a rotation adds a generation, and every generation's public key is kept, so older
  checkpoints still verify.

How far the log lags the exchanges: at most one appender interval
(`GATEWAY_LOG_APPEND_INTERVAL_SECONDS`, 1 s) plus the time to seal what came meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, bindparam, func, insert, select, text

from gateway.audit import checkpoint, merkle
from gateway.audit.export import Header, write_export
from gateway.audit.record import FIELD_NAMES, Record
from gateway.canonical.json import canonical_json
from gateway.store.db import Database
from gateway.store.models import ExchangeRecord, LogCheckpoint, LogKey, LogNode, node_key

log = logging.getLogger(__name__)

BATCH = 10_000
"""Records sealed under one checkpoint at most: one signature amortised over many leaves."""
MAX_ENTRIES_PER_READ = 1_000
"""Entries one `entries` call returns at most (the API's page)."""
_ADVISORY_LOCK = 0x6C6F67  # "log": PostgreSQL's transaction-scoped lock for the appender
_NODES = select(LogNode.key, LogNode.hash).where(LogNode.key.in_(bindparam("keys", expanding=True)))
_RECORD_FIELDS = tuple(ExchangeRecord.__table__.c[name] for name in FIELD_NAMES)


class LogEntry(BaseModel):
    """One leaf: its index, its RFC 9162 leaf hash (hex) and the record it commits to."""

    model_config = ConfigDict(frozen=True)

    index: int
    leaf_hash: str
    entry: dict[str, object]


class InclusionProof(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]  # hex, RFC 9162 order


class ConsistencyProof(BaseModel):
    model_config = ConfigDict(frozen=True)

    old_size: int
    new_size: int
    proof: list[str]  # hex, RFC 9162 order


class Integrity(BaseModel):
    """The stored log checked against its latest checkpoint, and when."""

    model_config = ConfigDict(frozen=True)

    checkpoint: str | None
    size: int
    root: str | None
    key_ids: list[str]
    verified: bool
    problem: str | None
    checked_at: dt.datetime


class TransparencyLog:
    """The exchange log: seal records in batches, sign checkpoints, answer proofs, export."""

    def __init__(
        self,
        db: Database,
        master: bytes,
        origin: str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._db = db
        self._master = master
        self.origin = origin
        self._clock = clock
        checkpoint.signer_for(master, 0, origin)  # a bad origin fails at start, not at sealing

    # --- appending ---------------------------------------------------------------------------

    def append(self, limit: int = BATCH) -> int:
        """Seal up to `limit` committed records under one new checkpoint; return how many."""
        with self._db.transaction() as connection:
            if not self._db.embedded:  # wait for another process's appender to finish
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK}
                )
            waiting = connection.execute(
                select(ExchangeRecord.seq, ExchangeRecord.leaf_hash)
                .where(ExchangeRecord.log_index.is_(None))
                .order_by(ExchangeRecord.seq)
                .limit(limit)
            ).all()
            if not waiting:
                return 0
            size, old_root = _latest_size_and_root(connection)
            edge = merkle.frontier(size)
            frontier = _nodes(connection, edge)
            appended = merkle.append(
                size,
                [frontier[node] for node in edge],
                [bytes.fromhex(leaf_hash) for _, leaf_hash in waiting],
            )
            new_size = size + len(waiting)
            nodes = [(node_key(*node), h) for node, h in appended.nodes.items()]
            indexes = [(size + i, seq) for i, (seq, _) in enumerate(waiting)]
            if _store_batch(connection, nodes, indexes) != len(waiting):
                raise RuntimeError("records were sealed by another appender meanwhile")
            _check_consistent(connection, size, old_root, new_size, appended.root)
            generation = self._current_generation(connection)
            signer = checkpoint.signer_for(self._master, generation, self.origin)
            note = signer.sign(checkpoint.Checkpoint(self.origin, new_size, appended.root))
            connection.execute(
                insert(LogCheckpoint).values(
                    size=new_size,
                    root=appended.root,
                    note=note,
                    key_generation=generation,
                    signed_at=self._clock(),
                )
            )
        return len(waiting)

    def append_all(self) -> int:
        """Seal every committed record not yet in the log; return how many."""
        total = 0
        while sealed := self.append():
            total += sealed
        return total

    def rotate_key(self) -> str:
        """Start signing with a new key generation; return its verifier key.

        Checkpoints signed before keep verifying with the earlier generations' keys, which
        `verifier_keys` goes on listing.
        """
        with self._db.transaction() as connection:
            generation = self._current_generation(connection) + 1
            return self._add_key(connection, generation)

    def _current_generation(self, connection: Connection) -> int:
        generation = connection.scalar(select(func.max(LogKey.generation)))
        if generation is None:
            self._add_key(connection, 0)
            return 0
        return int(generation)

    def _add_key(self, connection: Connection, generation: int) -> str:
        signer = checkpoint.signer_for(self._master, generation, self.origin)
        verifier_key = str(signer.verifier_key)
        connection.execute(
            insert(LogKey).values(
                generation=generation, verifier_key=verifier_key, created_at=self._clock()
            )
        )
        return verifier_key

    # --- reading -----------------------------------------------------------------------------

    def verifier_keys(self) -> list[str]:
        """Return every generation's verifier key (C2SP vkey), oldest first."""
        with self._db.reading() as session:
            return list(session.scalars(select(LogKey.verifier_key).order_by(LogKey.generation)))

    def latest(self) -> str | None:
        """Return the latest signed checkpoint (the note text), or None before the first."""
        with self._db.reading() as session:
            return session.scalar(
                select(LogCheckpoint.note).order_by(LogCheckpoint.size.desc()).limit(1)
            )

    def size(self) -> int:
        with self._db.reading() as session:
            return _latest_size_and_root(session.connection())[0]

    def entries(self, start: int, end: int) -> list[LogEntry]:
        """Return entries [start, end) of the log (at most MAX_ENTRIES_PER_READ)."""
        size = self.size()
        if not 0 <= start < end <= size:
            raise merkle.ProofRangeError(
                f"entries {start} to {end} are not within the log's {size} entries"
            )
        if end - start > MAX_ENTRIES_PER_READ:
            raise merkle.ProofRangeError(f"at most {MAX_ENTRIES_PER_READ} entries at a time")
        with self._db.reading() as session:
            return list(_entries(session.connection(), start, end))

    def inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        """Prove entry `index` is in the tree of `size` entries (default: the latest)."""
        with self._db.reading() as session:
            connection = session.connection()
            size = _checked_size(connection, size)
            needed = merkle.inclusion_nodes(index, size)
            hashes = _nodes(connection, [*needed, (0, index)])
        path = merkle.inclusion_proof(index, size, hashes)
        return InclusionProof(
            index=index,
            tree_size=size,
            leaf_hash=hashes[(0, index)].hex(),
            audit_path=[h.hex() for h in path],
        )

    def index_of(self, exchange_id: str) -> int | None:
        """Return an exchange's index in the log, or None if it is not sealed (or absent)."""
        with self._db.reading() as session:
            return session.scalar(
                select(ExchangeRecord.log_index).where(ExchangeRecord.id == exchange_id)
            )

    def consistency(self, old: int, new: int | None = None) -> ConsistencyProof:
        """Prove the tree of `new` entries (default: the latest) extends that of `old`."""
        with self._db.reading() as session:
            connection = session.connection()
            new = _checked_size(connection, new)
            hashes = _nodes(connection, merkle.consistency_nodes(old, new))
        proof = merkle.consistency_proof(old, new, hashes)
        return ConsistencyProof(old_size=old, new_size=new, proof=[h.hex() for h in proof])

    def checkpoint_at(self, size: int) -> str:
        """Return the checkpoint signed at exactly `size` entries (one per batch)."""
        with self._db.reading() as session:
            note = session.scalar(select(LogCheckpoint.note).where(LogCheckpoint.size == size))
        if note is None:
            raise merkle.ProofRangeError(f"no checkpoint was signed at size {size}")
        return note

    def export(self, out: BinaryIO) -> int:
        """Write the whole log as an export (gateway/audit/export.py); return its entries.

        Read in one transaction, so entries and checkpoints are of one moment.
        """
        with self._db.reading() as session:
            connection = session.connection()
            size = _latest_size_and_root(connection)[0]
            keys = list(connection.scalars(select(LogKey.verifier_key).order_by(LogKey.generation)))
            notes = connection.scalars(
                select(LogCheckpoint.note)
                .where(LogCheckpoint.size <= size)
                .order_by(LogCheckpoint.size)
            )
            entries = (
                (e.entry, bytes.fromhex(e.leaf_hash))
                for start in range(0, size, MAX_ENTRIES_PER_READ)
                for e in _entries(connection, start, min(start + MAX_ENTRIES_PER_READ, size))
            )
            return write_export(out, Header(origin=self.origin, keys=tuple(keys)), entries, notes)

    def integrity(self) -> Integrity:
        """Check the stored log against its latest checkpoint: every leaf, the root, the
        signature; say what is wrong first, if anything."""
        note, keys = self.latest(), self.verifier_keys()
        at = self._clock()
        if note is None:
            return Integrity(
                checkpoint=None,
                size=0,
                root=None,
                key_ids=[],
                verified=True,
                problem=None,
                checked_at=at,
            )
        signed = checkpoint.parse(note)
        key_ids = [s.key_id.hex() for s in signed.signatures]
        problem = _first_problem(self._db, note, keys, signed.size, signed.root)
        return Integrity(
            checkpoint=note,
            size=signed.size,
            root=signed.root.hex(),
            key_ids=key_ids,
            verified=problem is None,
            problem=problem,
            checked_at=at,
        )


def _first_problem(
    db: Database, note: str, keys: Sequence[str], size: int, root: bytes
) -> str | None:
    try:
        checkpoint.verify(note, [checkpoint.VerifierKey.parse(k) for k in keys])
    except checkpoint.CheckpointError as error:
        return f"the latest checkpoint does not verify: {error}"
    tree = merkle.CompactRange()
    with db.reading() as session:
        connection = session.connection()
        for start in range(0, size, MAX_ENTRIES_PER_READ):
            for found in _entries(connection, start, min(start + MAX_ENTRIES_PER_READ, size)):
                recomputed = merkle.leaf_hash(canonical_json(found.entry))
                if recomputed.hex() != found.leaf_hash:
                    return f"entry {found.index}: the record no longer matches its leaf"
                tree.add(recomputed)
    if tree.size != size:
        return f"the log holds {tree.size} entries, the checkpoint says {size}"
    if tree.root() != root:
        return "the root of the stored leaves is not the checkpoint's"
    return None


def _entries(connection: Connection, start: int, end: int) -> Iterator[LogEntry]:
    rows = connection.execute(
        select(ExchangeRecord.log_index, LogNode.hash, *_RECORD_FIELDS)
        .join(LogNode, LogNode.key == ExchangeRecord.log_index)  # level 0: the key is the index
        .where(ExchangeRecord.log_index >= start, ExchangeRecord.log_index < end)
        .order_by(ExchangeRecord.log_index)
    ).mappings()
    for row in rows:
        record = Record.of(dict(row))
        yield LogEntry(
            index=row["log_index"], leaf_hash=bytes(row["hash"]).hex(), entry=record.leaf_entry()
        )


def _store_batch(
    connection: Connection, nodes: list[tuple[int, bytes]], indexes: list[tuple[int, int]]
) -> int:
    """Insert a batch's nodes and give its records their indexes; return the records marked.

    In driver-level statements: per row, SQLAlchemy's parameter handling cost more than the
    database's own work. PostgreSQL takes each as one statement over arrays (one round trip
    for 10,000 rows, where executemany made one per row); sqlite3's executemany is in-process.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "INSERT INTO log_nodes (key, hash) SELECT * FROM unnest(%s::bigint[], %s::bytea[])",
            ([k for k, _ in nodes], [h for _, h in nodes]),
        )
        marked = connection.exec_driver_sql(
            "UPDATE exchange_records AS r SET log_index = v.i"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(i, s)"
            " WHERE r.seq = v.s AND r.log_index IS NULL",
            ([i for i, _ in indexes], [s for _, s in indexes]),
        )
        return int(marked.rowcount)
    connection.exec_driver_sql("INSERT INTO log_nodes (key, hash) VALUES (?, ?)", nodes)
    marked = connection.exec_driver_sql(
        "UPDATE exchange_records SET log_index = ? WHERE seq = ? AND log_index IS NULL", indexes
    )
    return int(marked.rowcount)


def _latest_size_and_root(connection: Connection) -> tuple[int, bytes]:
    found = connection.execute(
        select(LogCheckpoint.size, LogCheckpoint.root).order_by(LogCheckpoint.size.desc()).limit(1)
    ).first()
    return (0, merkle.root_of([])) if found is None else (int(found[0]), bytes(found[1]))


def _checked_size(connection: Connection, size: int | None) -> int:
    latest = _latest_size_and_root(connection)[0]
    if size is None:
        return latest
    if not 0 < size <= latest:
        raise merkle.ProofRangeError(f"tree size {size} is not within 1 to {latest}")
    return size


def _nodes(connection: Connection, wanted: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
    """Read these nodes in one query; a missing one is a broken store, said as such."""
    if not wanted:
        return {}
    keys = {node_key(*node): node for node in wanted}
    rows = connection.execute(_NODES, {"keys": list(keys)})
    found = {keys[key]: bytes(h) for key, h in rows}
    if missing := [node for node in wanted if node not in found]:
        raise RuntimeError(f"the log's store lacks nodes {missing[:5]}")
    return found


def _check_consistent(
    connection: Connection, old: int, old_root: bytes, new: int, new_root: bytes
) -> None:
    """Refuse to sign a tree that does not extend the last signed one."""
    if old == 0:
        return
    proof = merkle.consistency_proof(
        old, new, _nodes(connection, merkle.consistency_nodes(old, new))
    )
    if not merkle.verify_consistency(old, new, old_root, new_root, proof):
        raise RuntimeError(
            f"the log at {new} entries is not consistent with its checkpoint at {old}"
        )


class BackgroundAppender:
    """Seal committed records into the log every interval, in a thread of its own."""

    def __init__(self, log_: TransparencyLog, interval_seconds: float) -> None:
        self._log = log_
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-appender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._log.append_all()
            except Exception:  # the appender must outlive a database hiccup; nothing is lost
                log.exception("sealing the exchange log failed; retrying")
