"""Record and withdraw consent (administrator only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway import consents
from gateway.api.deps import AdminDep, RuntimeDep, SessionDep
from gateway.api.schemas import ConsentOut
from gateway.consents import ConsentGrant
from gateway.store.models import ConsentRow

router = APIRouter(prefix="/consents", tags=["consents"])


def _out(row: ConsentRow) -> ConsentOut:
    return ConsentOut.model_validate(row, from_attributes=True)


@router.post("", status_code=201, response_model=ConsentOut)
def grant(request: ConsentGrant, _: AdminDep, rt: RuntimeDep, session: SessionDep) -> ConsentOut:
    """Record a consent; the subject's identifier is kept only as a pseudonym."""
    row = consents.grant(session, request, rt.pseudonymiser, rt.clock())
    session.flush()
    return _out(row)


@router.get("/{consent_id}", response_model=ConsentOut)
def get_consent(consent_id: str, _: AdminDep, session: SessionDep) -> ConsentOut:
    return _out(consents.get(session, consent_id))


@router.post("/{consent_id}/withdraw", response_model=ConsentOut)
def withdraw(consent_id: str, _: AdminDep, rt: RuntimeDep, session: SessionDep) -> ConsentOut:
    """Withdraw a consent: every transfer decided from now on is stopped."""
    return _out(consents.withdraw(session, consent_id, rt.clock()))
