"""The agreements registry, read-only: every version, and which is in force (administrator or
DPO). Agreements change with the policy files, never through the API."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from gateway.api.deps import AdminOrDpoDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.api.schemas import AgreementOut
from gateway.errors import NotFoundError
from gateway.policy.agreements import Agreement, AgreementBook

router = APIRouter(prefix="/agreements", tags=["agreements"])


@router.get("", response_model=list[AgreementOut], summary="List every agreement version")
def list_agreements(_: AdminOrDpoDep, rt: RuntimeDep) -> list[AgreementOut]:
    book = rt.exchanges.policy.agreements
    now = rt.clock()
    return [shown(a, book, now) for a in book.all()]


@router.get(
    "/{agreement_id}",
    response_model=list[AgreementOut],
    summary="Read an agreement's versions, oldest first",
    responses={
        404: refusal("No agreement has this id (`not_found`).", NotFoundError("no agreement 'x'"))
    },
)
def get_agreement(agreement_id: str, _: AdminOrDpoDep, rt: RuntimeDep) -> list[AgreementOut]:
    book = rt.exchanges.policy.agreements
    versions = book.versions(agreement_id)
    if not versions:
        raise NotFoundError(f"no agreement {agreement_id[:64]!r}")
    now = rt.clock()
    return [shown(a, book, now) for a in versions]


def shown(agreement: Agreement, book: AgreementBook, now: dt.datetime) -> AgreementOut:
    """Return one version as the API shows it."""
    return AgreementOut(
        id=agreement.id,
        version=agreement.version,
        citation=agreement.citation,
        title=agreement.title,
        parties=sorted(agreement.parties),
        purposes=sorted(agreement.purposes),
        categories=sorted(agreement.categories),
        legal_bases=sorted(agreement.legal_bases),
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
        onward_transfer=agreement.onward_transfer.value,
        dpo_approval=agreement.dpo_approval,
        origin_exceptions=sorted(agreement.origin_exceptions),
        in_force=book.current(agreement.id, now) == agreement,
    )
