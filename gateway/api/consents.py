"""Record and withdraw consent (administrator only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import AdminDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.api.schemas import ConsentOut
from gateway.consents import ConsentGrant
from gateway.errors import ConflictError, NotFoundError

router = APIRouter(prefix="/consents", tags=["consents"])


@router.post(
    "",
    status_code=201,
    response_model=ConsentOut,
    summary="Record a consent",
    responses={
        404: refusal(
            "The recipient is not a registered system (`not_found`).",
            NotFoundError("no system 'crvs-nationl'"),
        )
    },
)
def grant(request: ConsentGrant, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    """Record a consent; the subject's identifier is kept only as a pseudonym."""
    return ConsentOut.model_validate(rt.consents.grant(request), from_attributes=True)


@router.get("/{consent_id}", response_model=ConsentOut, summary="Read a consent")
def get_consent(consent_id: str, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    return ConsentOut.model_validate(rt.consents.get(consent_id), from_attributes=True)


@router.post(
    "/{consent_id}/withdraw",
    response_model=ConsentOut,
    summary="Withdraw a consent",
    responses={
        409: refusal(
            "The consent was withdrawn already (`conflict`).",
            ConflictError("consent already withdrawn"),
        )
    },
)
def withdraw(consent_id: str, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    """Withdraw a consent: every exchange that starts after this answer is bound by it."""
    return ConsentOut.model_validate(rt.consents.withdraw(consent_id), from_attributes=True)
