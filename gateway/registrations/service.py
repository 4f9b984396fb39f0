"""Multiple registration: a registered person who matches one registered before is flagged.

Issue 14: "a registration whose identifiers, or whose keyed digest of normalised name, date
of birth and sex, match a known subject is flagged to the registration authority with the
match's strength, never merged silently and never revealing the other record's content."

Where it runs: in the pipeline (gateway/pipeline.py), in the transaction of a batch's
exchange records. `prepare` reads once, for the whole batch, the evidence its registrations
will be checked against; `flag`, for each exchange accepted, checks the registration's
persons against what the same authority (the destination) holds of persons registered
before (committed, or earlier in the same batch) and returns the rows to write with the
exchange record: the new persons' digests, and one flag per (new person, earlier person)
matched, with the strongest evidence found. Nothing is merged and nothing is refused: the
authority decides. The sender's accept answer says nothing of flags: they are the
authority's to read (`RegistrationFlags`, GET /registrations/flags). Why one authority's
register only: a match across authorities would tell one that another registered the
person, which is itself content.

Of two registrations of one person, the later (in commit order) is flagged against the
earlier: the earlier was answered before the later existed. So each pair is flagged once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.audit.service import Reader
from gateway.canonical import DataCategory, Payload
from gateway.canonical.registration import Registration
from gateway.crypto import Pseudonymiser
from gateway.errors import ForbiddenError
from gateway.registrations import repository
from gateway.registrations.digest import (
    EVIDENCE,
    IDENTIFIER,
    NAME_DOB_SEX,
    NAME_YEAR_SEX,
    STRENGTH,
    Digest,
    digests,
)
from gateway.registrations.repository import Earlier, Wanted
from gateway.registrations.schemas import FlagOut, FlagPage, FlagQuery
from gateway.store.db import Database
from gateway.store.group import Batch, Row, Write
from gateway.subjects import identify

log = logging.getLogger(__name__)

MAX_FLAGS_PER_PERSON = 20
"""Earlier persons one person is flagged against at most, strongest first."""


@dataclass(frozen=True)
class Flagged:
    """What checking a registration found, and the rows it leaves to write."""

    flags: tuple[Row, ...]  # for the registration authority only (GET /registrations/flags)
    writes: list[Write]


@dataclass(frozen=True)
class _Checked:
    """A registration's persons as checked: their pseudonyms and evidence."""

    registration: Registration
    authority: str
    subjects: tuple[str, ...]  # each person's primary pseudonym, by position
    evidence: tuple[frozenset[Digest], ...]  # each person's digests, by position

    @classmethod
    def of(
        cls, registration: Registration, authority: str, pseudonymiser: Pseudonymiser
    ) -> _Checked:
        persons = registration.subjects()
        subjects = tuple(s.primary for s in identify(persons, pseudonymiser))
        evidence = tuple(digests(p, pseudonymiser) for p in persons)
        return cls(registration, authority, subjects, evidence)

    @property
    def wanted(self) -> Wanted:
        return Wanted.of(d for own in self.evidence for d in own)


@dataclass(frozen=True)
class Registered:
    """What `prepare` read for a batch: each registration checked, the evidence committed."""

    checked: dict[int, _Checked]  # by id() of the registration (held in `_Checked`)
    committed: dict[str, dict[str, list[Earlier]]]  # by authority, then by digest


def prepare(
    batch: Batch, pseudonymiser: Pseudonymiser, payloads: Iterable[tuple[Payload, str]]
) -> Registered:
    """Read once, for a whole batch, the evidence its registrations (each payload with its
    authority, the destination; other payloads are left alone) will be checked against.

    Why: a read per registration is a round trip per exchange, which a batch exists to avoid.
    On PostgreSQL the batch locks all its digests in one statement, in one order, so two
    batches never wait for each other crosswise. `flag` without it reads for itself.
    """
    checked = {
        id(r): _Checked.of(r, authority, pseudonymiser)
        for r, authority in payloads
        if isinstance(r, Registration)
    }
    if not checked:
        return Registered({}, {})
    repository.lock(batch.connection, (d for c in checked.values() for e in c.evidence for d in e))
    committed: dict[str, dict[str, list[Earlier]]] = {}
    for authority in sorted({c.authority for c in checked.values()}):
        mine = [c for c in checked.values() if c.authority == authority]
        wanted = Wanted.of(d for c in mine for own in c.evidence for d in own)
        limit = repository.MAX_CANDIDATES * len(mine)
        by_digest = committed[authority] = {}
        for e in repository.committed(batch.connection, authority, wanted, limit):
            by_digest.setdefault(e.digest, []).append(e)
    return Registered(checked, committed)


def flag(
    batch: Batch,
    pseudonymiser: Pseudonymiser,
    registration: Payload,
    exchange_id: str,
    authority: str,
    at: dt.datetime,
    prepared: Registered | None = None,
    *,
    allowed: frozenset[DataCategory] | None = None,
) -> Flagged:
    """Check a registration's persons against the authority's register; return the writes.

    Any other payload is no registration: nothing is checked, nothing written. Only evidence
    of the categories the authority is `allowed` counts or is kept (identifiers, identity):
    a flag never rests on what its recipient may not receive.
    """
    if not isinstance(registration, Registration):
        return Flagged((), [])
    kinds = usable_evidence(allowed)
    checked = None if prepared is None else prepared.checked.get(id(registration))
    if prepared is not None and checked is not None and checked.authority == authority:
        wanted, by_digest = checked.wanted, prepared.committed[authority]
        values = wanted.any_ | wanted.estimated_only
        committed = [e for v in sorted(values) for e in by_digest.get(v, ()) if wanted.matches(e)]
    else:  # not prepared: read for this one
        checked = _Checked.of(registration, authority, pseudonymiser)
        wanted = checked.wanted
        repository.lock(batch.connection, (d for own in checked.evidence for d in own))
        committed = repository.committed(batch.connection, authority, wanted)
    found = repository.strongest_first([*committed, *repository.pending(batch, authority, wanted)])
    digest_rows: list[Row] = []
    flag_rows: list[Row] = []
    for position, (subject, evidence) in enumerate(
        zip(checked.subjects, checked.evidence, strict=True)
    ):
        own = frozenset(d for d in evidence if d.kind in kinds)
        mine = {"exchange_id": exchange_id, "position": position, "subject": subject}
        digest_rows += [
            {**mine, "authority": authority, "kind": d.kind, "digest": d.value,
             "estimated": d.estimated}
            for d in sorted(own)
        ]  # fmt: skip
        for e in _matched(own, found):
            flag_rows.append(
                {
                    **mine,
                    "authority": authority,
                    "matched_exchange_id": e.exchange_id,
                    "matched_position": e.position,
                    "matched_subject": e.subject,
                    "strength": STRENGTH[e.kind],
                    "evidence": e.kind,
                    "flagged_at": at,
                }
            )
    if flag_rows:
        counts = Counter(str(f["strength"]) for f in flag_rows)
        log.info(
            "registration %s flagged to %s: %s",
            exchange_id,
            authority,
            ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
            extra={"exchange_id": exchange_id, "flags": dict(counts)},
        )
    return Flagged(
        tuple(flag_rows),
        [*repository.digest_writes(digest_rows), *repository.flag_writes(flag_rows)],
    )


def usable_evidence(allowed: frozenset[DataCategory] | None) -> frozenset[str]:
    """Return the kinds of evidence a recipient allowed these categories may be flagged on."""
    if allowed is None:
        return frozenset(EVIDENCE)
    kinds = {IDENTIFIER} if DataCategory.IDENTIFIERS in allowed else set()
    if DataCategory.IDENTITY in allowed:
        kinds |= {NAME_DOB_SEX, NAME_YEAR_SEX}
    return frozenset(kinds)


def _matched(own: frozenset[Digest], found: Iterable[Earlier]) -> list[Earlier]:
    """Return the earlier persons this person's evidence matches, each once, strongest first.

    `found` comes strongest first, so the first match of an earlier person is its strongest.
    """
    mine: Mapping[str, Digest] = {d.value: d for d in own}
    best: dict[tuple[str, int], Earlier] = {}
    for e in found:
        d = mine.get(e.digest)
        if d is None or (e.kind == NAME_YEAR_SEX and not (d.estimated or e.estimated)):
            continue
        best.setdefault((e.exchange_id, e.position), e)
    return list(best.values())[:MAX_FLAGS_PER_PERSON]


class RegistrationFlags:
    """The flags raised, as the administrator and each registration authority read them.

    Why these two: the flags are the authority's to act on; the administrator runs the
    gateway. A system reads only the flags raised to itself. The DPO answers for transfers,
    and a flag is not one.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def listing(self, reader: Reader, query: FlagQuery) -> FlagPage:
        """List flags in the order they were raised, a page at a time; pseudonyms only."""
        authority = _authority_for(reader, query.authority)
        after = None if query.cursor is None else int(query.cursor)
        with self._db.reading() as session:
            rows = repository.flags(
                session, authority, query.exchange_id, query.strength, after, query.limit + 1
            )
            page = [FlagOut.model_validate(r) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return FlagPage(flags=page, next_cursor=str(rows[query.limit - 1].id) if more else None)


def _authority_for(reader: Reader, asked: str | None) -> str | None:
    """Return whose flags a reader may list (None: everyone's); refuse anyone else's."""
    if reader.admin:
        return asked
    if reader.role == "system" and reader.system_id is not None:
        if asked is not None and asked != reader.system_id:
            raise ForbiddenError("a system reads only the flags raised to itself")
        return reader.system_id
    raise ForbiddenError("this needs the administrator or the registration authority's system")
