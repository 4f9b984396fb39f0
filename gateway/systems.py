"""The registry of systems: identity, adapter, endpoint, credentials, controlling state."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.registry import AdapterRegistry
from gateway.canonical import NAME_PATTERN
from gateway.canonical.countries import Country
from gateway.canonical.text import Text
from gateway.crypto import Sealer, hash_credential
from gateway.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInput,
    NotFoundError,
    Problem,
    UnknownSystemError,
)
from gateway.store.db import Database
from gateway.store.models import System

SYSTEM_ID = re.compile(NAME_PATTERN)


class SystemSpec(BaseModel):
    """A system as an administrator registers it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NAME_PATTERN)
    name: Text = Field(min_length=1, max_length=200)
    adapter: Text = Field(min_length=1, max_length=64)
    endpoint: HttpUrl | None = None
    # The state that controls the system: an embassy of X anywhere is X. None = unknown, and
    # the origin guard then denies every transfer to it.
    jurisdiction: Country | None = None
    outbound_token: Text | None = Field(default=None, max_length=4096, repr=False)


def new_credential() -> str:
    return "gw_" + secrets.token_urlsafe(32)


class SystemOut(BaseModel):
    """A registered system as an administrator sees it: never a credential or a token."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    adapter: str
    endpoint: str | None
    jurisdiction: str | None
    has_outbound_token: bool

    @classmethod
    def of(cls, system: System) -> SystemOut:
        return cls(
            id=system.id,
            name=system.name,
            adapter=system.adapter,
            endpoint=system.endpoint,
            jurisdiction=system.jurisdiction,
            has_outbound_token=system.outbound_token_sealed is not None,
        )


class Systems:
    """The administration of systems: each call is one unit of work, committed before it returns."""

    def __init__(self, db: Database, sealer: Sealer, adapters: AdapterRegistry) -> None:
        self._db = db
        self._sealer = sealer
        self._adapters = adapters

    def register(self, spec: SystemSpec) -> tuple[SystemOut, str]:
        """Register a system; return it and its credential, shown this once only."""
        try:
            self._adapters.get(spec.adapter)
        except UnknownSystemError as exc:  # the registry cannot know which field named it
            raise InvalidInput(exc.message, [Problem("body.adapter", exc.message)]) from exc
        with self._db.unit_of_work() as session:
            system, credential = register(session, spec, self._sealer)
            view = SystemOut.of(system)
        return view, credential

    def rotate_credential(self, system_id: str) -> str:
        """Issue a new credential; the old one stops working once this returns."""
        with self._db.unit_of_work() as session:
            return rotate_credential(session, system_id)

    def get(self, system_id: str) -> SystemOut:
        with self._db.reading() as session:
            return SystemOut.of(get(session, system_id))

    def list_all(self) -> list[SystemOut]:
        with self._db.reading() as session:
            return [SystemOut.of(s) for s in list_all(session)]


def register(session: Session, spec: SystemSpec, sealer: Sealer) -> tuple[System, str]:
    """Register a system and return it with its credential, shown this once only."""
    if session.get(System, spec.id) is not None:
        raise ConflictError(f"system {spec.id!r} already exists")
    credential = new_credential()
    system = System(
        id=spec.id,
        name=spec.name,
        adapter=spec.adapter,
        endpoint=str(spec.endpoint) if spec.endpoint else None,
        jurisdiction=spec.jurisdiction,
        credential_hash=hash_credential(credential),
        outbound_token_sealed=sealer.seal(spec.outbound_token) if spec.outbound_token else None,
    )
    session.add(system)
    try:
        session.flush()  # a concurrent registration of the same id fails here, not after 201
    except IntegrityError as exc:
        raise ConflictError(f"system {spec.id!r} already exists") from exc
    return system, credential


def rotate_credential(session: Session, system_id: str) -> str:
    """Give a system a new credential; the old one stops working at commit."""
    system = get(session, system_id)
    credential = new_credential()
    system.credential_hash = hash_credential(credential)
    return credential


def move(session: Session, system_id: str, endpoint: str) -> System:
    """Point a system at a new endpoint."""
    system = get(session, system_id)
    system.endpoint = endpoint
    return system


def get(session: Session, system_id: str) -> System:
    """Return a system; an id that no system could have is simply not found."""
    system = session.get(System, system_id) if SYSTEM_ID.fullmatch(system_id) else None
    if system is None:
        raise NotFoundError(f"no system {system_id!r}")
    return system


def list_all(session: Session) -> list[System]:
    return list(session.scalars(select(System).order_by(System.id)))


@dataclass(frozen=True)
class RegisteredSystem:
    """What an exchange needs to know of a registered system."""

    id: str
    adapter: str
    endpoint: str | None
    jurisdiction: str | None


@dataclass(frozen=True)
class _Snapshot:
    by_id: dict[str, RegisteredSystem]
    by_credential: dict[str, RegisteredSystem]
    taken_at: float


class Directory:
    """The registered systems as exchanges see them, read from the store at most every `ttl`.

    A commit in this process that changes a system clears the copy at once, so a rotated
    credential or a moved endpoint counts from the next exchange. Other processes sharing the
    database see such a change within `ttl` seconds.
    """

    def __init__(
        self, db: Database, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._generation = 0
        db.on_commit_changing(System, self.clear)

    def clear(self) -> None:
        with self._lock:
            self._snapshot = None
            self._generation += 1

    def get(self, system_id: str) -> RegisteredSystem | None:
        return self._current().by_id.get(system_id)

    def recognises(self, credential: str | None) -> bool:
        """Tell whether a credential belongs to a registered system."""
        if not credential:
            return False
        return hash_credential(credential) in self._current().by_credential

    def authenticate(self, credential: str | None) -> RegisteredSystem:
        """Return the system holding this credential, or fail without saying what was wrong."""
        if not credential:
            raise AuthenticationError("a system credential is required (Authorization: Bearer ...)")
        entry = self._current().by_credential.get(hash_credential(credential))
        if entry is None:
            raise AuthenticationError("the credential is not valid")
        return entry

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot.taken_at < self._ttl:
            return snapshot
        with self._lock:
            generation = self._generation
        taken_at = self._clock()
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(
                    System.id,
                    System.adapter,
                    System.endpoint,
                    System.jurisdiction,
                    System.credential_hash,
                )
            ).all()
        by_id, by_credential = {}, {}
        for row in rows:
            entry = RegisteredSystem(row.id, row.adapter, row.endpoint, row.jurisdiction)
            by_id[row.id] = entry
            by_credential[row.credential_hash] = entry
        snapshot = _Snapshot(by_id, by_credential, taken_at)
        with self._lock:
            if generation == self._generation:  # no change was committed while reading
                self._snapshot = snapshot
        return snapshot
