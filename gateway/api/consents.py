"""Record and withdraw consent (administrator only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway import consents
from gateway.api.deps import AdminDep, RuntimeDep
from gateway.api.schemas import ConsentOut
from gateway.consents import ConsentGrant
from gateway.store.models import ConsentRow

router = APIRouter(prefix="/consents", tags=["consents"])


def _out(row: ConsentRow) -> ConsentOut:
    return ConsentOut.model_validate(row, from_attributes=True)


@router.post("", status_code=201, response_model=ConsentOut)
def grant(request: ConsentGrant, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    """Record a consent; the subject's identifier is kept only as a pseudonym."""
    with rt.db.unit_of_work() as session:
        row = consents.grant(session, request, rt.pseudonymiser, rt.clock())
        session.flush()
        granted = _out(row)
    return granted


@router.get("/{consent_id}", response_model=ConsentOut)
def get_consent(consent_id: str, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    with rt.db.reading() as session:
        return _out(consents.get(session, consent_id))


@router.post("/{consent_id}/withdraw", response_model=ConsentOut)
def withdraw(consent_id: str, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    """Withdraw a consent: every exchange that starts after this answer is bound by it."""
    with rt.db.unit_of_work() as session:
        withdrawn = _out(consents.withdraw(session, consent_id, rt.clock()))
    return withdrawn
