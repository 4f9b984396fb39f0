"""Queries for the reference guide's versions and the routed interviews. No commits here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.errors import ConflictError, Problem
from gateway.store.models import InterviewRouting, ReferenceGuideVersion, ReferralRoute


def add_guide(session: Session, row: ReferenceGuideVersion) -> None:
    """Add a new guide version; a version that exists is a conflict, never an edit."""
    if session.get(ReferenceGuideVersion, row.version) is not None:
        raise _version_exists(row.version)
    session.add(row)
    try:
        session.flush()  # a concurrent publication of the same version fails here
    except IntegrityError as exc:
        raise _version_exists(row.version) from exc


def _version_exists(version: int) -> ConflictError:
    return ConflictError(
        f"reference guide version {version} exists; publish the next version",
        [Problem("version", "this version is already published")],
    )


def guide_in_force(session: Session, on: dt.date) -> ReferenceGuideVersion | None:
    """Return the newest version in force on a date (its effective date reached)."""
    return session.scalars(
        select(ReferenceGuideVersion)
        .where(ReferenceGuideVersion.effective_from <= on)
        .order_by(ReferenceGuideVersion.version.desc())
        .limit(1)
    ).first()


def guide(session: Session, version: int) -> ReferenceGuideVersion | None:
    return session.get(ReferenceGuideVersion, version)


def versions(session: Session) -> list[tuple[int, dt.date]]:
    rows = session.execute(
        select(ReferenceGuideVersion.version, ReferenceGuideVersion.effective_from).order_by(
            ReferenceGuideVersion.version
        )
    )
    return [(row.version, row.effective_from) for row in rows]


def routing_of(session: Session, source: str, key: str) -> InterviewRouting | None:
    """Return the routing of an interview a system sent under this Idempotency-Key."""
    return session.scalars(
        select(InterviewRouting).where(
            InterviewRouting.source == source, InterviewRouting.idempotency_key == key
        )
    ).first()


def routes_of(session: Session, routing_id: str) -> dict[str, ReferralRoute]:
    rows = session.scalars(select(ReferralRoute).where(ReferralRoute.routing_id == routing_id))
    return {row.kind: row for row in rows}


def add_routing(session: Session, row: InterviewRouting) -> None:
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same key, routed at this very moment by another call
        raise ConflictError(
            "this interview is being routed already; send it again to read the outcome",
            [Problem("Idempotency-Key", "in use by a routing in progress")],
        ) from exc


def keep_routes(session: Session, rows: Sequence[ReferralRoute]) -> None:
    """Record each referral's outcome once: a replay finds the first one kept."""
    if not rows:
        return
    known = routes_of(session, rows[0].routing_id)
    session.add_all(row for row in rows if row.kind not in known)
