"""Record, read and withdraw consent (administrator only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import AdminDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.api.schemas import ConsentOut
from gateway.consents import ConsentGrant, ConsentView
from gateway.errors import ConflictError, NotFoundError

router = APIRouter(prefix="/consents", tags=["consents"])


def _out(view: ConsentView) -> ConsentOut:
    return ConsentOut.model_validate(view, from_attributes=True)


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
    """Record a consent; the subject's identifier is kept only as a pseudonym.

    A guardian's grant for a child (`granted_by: guardian`) names the guardian's relationship
    and records the child's views, which are kept sealed and never shown again; a person's
    own grant has neither. An expiry must be in the future.
    """
    return _out(rt.consents.grant(request))


@router.get("/{consent_id}", response_model=ConsentOut, summary="Read a consent")
def get_consent(consent_id: str, _: AdminDep, rt: RuntimeDep) -> ConsentOut:
    """Read a consent: who granted it, how many exchanges relied on it, and, once withdrawn,
    the messages cancelled and each recipient's notice with its delivery."""
    return _out(rt.consents.get(consent_id))


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
    """Withdraw a consent: every exchange that starts after this answer is bound by it.

    Committed with it: the messages of exchanges that relied on it and have not left are
    cancelled, and each recipient that received data under it is sent a notice through its
    adapter (a `consent-withdrawal` exchange, delivered like any other).
    """
    return _out(rt.consents.withdraw(consent_id))
