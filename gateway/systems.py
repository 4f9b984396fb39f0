"""The registry of systems: identity, adapter, endpoint, credentials, controlling state."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.canonical.countries import Country
from gateway.crypto import Sealer, hash_credential
from gateway.errors import AuthenticationError, ConflictError, NotFoundError
from gateway.store.models import System


class SystemSpec(BaseModel):
    """A system as an administrator registers it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    adapter: str = Field(min_length=1, max_length=64)
    endpoint: HttpUrl | None = None
    # The state that controls the system: an embassy of X anywhere is X. None = unknown, and
    # the origin guard then denies every transfer to it.
    jurisdiction: Country | None = None
    outbound_token: str | None = Field(default=None, max_length=4096, repr=False)


def new_credential() -> str:
    return "gw_" + secrets.token_urlsafe(32)


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
    system = session.get(System, system_id)
    if system is None:
        raise NotFoundError(f"no system {system_id!r}")
    return system


def list_all(session: Session) -> list[System]:
    return list(session.scalars(select(System).order_by(System.id)))


def authenticate(session: Session, credential: str | None) -> System:
    """Return the system holding this credential, or fail without saying which part was wrong."""
    if not credential:
        raise AuthenticationError("a system credential is required (Authorization: Bearer ...)")
    system = session.scalar(
        select(System).where(System.credential_hash == hash_credential(credential))
    )
    if system is None:
        raise AuthenticationError("the credential is not valid")
    return system
