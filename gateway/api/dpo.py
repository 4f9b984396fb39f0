"""The data protection officer's views: HTTP in, one `DpoViews` call, HTTP out. DPO only.

Every route needs the DPO's token (var/dpo.token, or GATEWAY_DPO_TOKEN): the administrator
and the systems are refused (403). A person's history is asked for with the identifier in
the body, never in the URL: URLs are written to access logs and pass through proxies.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from gateway.api import approvals
from gateway.api.deps import DpoDep, RuntimeDep
from gateway.audit import disclosures
from gateway.audit.service import MAX_PAGE, ExchangePage, Period
from gateway.audit.views import (
    EXPORT_LIMIT,
    FHIR_EXPORT_LIMIT,
    DenialReport,
    DisclosureQuery,
    ExportQuery,
    FhirExportQuery,
    RegisterEntry,
    TransferCount,
)
from gateway.canonical import Text

router = APIRouter(prefix="/dpo", tags=["data protection officer"])

CSV, FHIR_JSON = "text/csv", "application/fhir+json"
_EXPORT_HEADERS = {
    "X-Export-Count": {
        "description": "how many exchanges this part holds",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Export-Next-Cursor": {
        "description": "only when the export was cut at its limit: pass it as `cursor` for "
        "the next part (also given as a `Link` header with rel=next)",
        "required": False,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"},
    },
}


class SubjectHistoryRequest(DisclosureQuery):
    """One person's exchanges: an identifier the DPO holds, and the listing's filters."""

    scheme: Text = Field(
        min_length=1, max_length=64, description="the identifier's scheme, e.g. progres-individual"
    )
    value: Text = Field(
        min_length=1,
        max_length=128,
        description="the identifier, as any spelling its scheme treats as the same",
    )


class DenialQuery(Period):
    """A period, and how many of its latest denials to list."""

    limit: int = Field(default=20, ge=1, le=MAX_PAGE)


class TransferQuery(Period):
    """A period, counted per recipient and day or week (UTC; weeks start on Monday)."""

    bucket: Literal["day", "week"] = "day"


@router.get(
    "/exchanges",
    response_model=ExchangePage,
    summary="List exchanges by recipient, jurisdiction, purpose, decision, source, period",
    description="Newest first, a page at a time (`next_cursor`). Every filter given must "
    "match; an unknown one is refused. Metadata only: subjects as pseudonyms.",
)
def exchanges(
    query: Annotated[DisclosureQuery, Query()], who: DpoDep, rt: RuntimeDep
) -> ExchangePage:
    return rt.views.exchanges(who, query)


@router.post(
    "/subjects/history",
    response_model=ExchangePage,
    summary="List every exchange about one person",
    description="The body names the person by an identifier the DPO holds (scheme and "
    "value); the gateway pseudonymises it as it does every identifier it is sent, adds every "
    "identifier linked to it, and answers the exchanges about any of them. The identifier is "
    "not kept, logged or answered. An identifier never seen gives an empty page, like one "
    "seen in no exchange of the period.",
)
def subject_history(body: SubjectHistoryRequest, who: DpoDep, rt: RuntimeDep) -> ExchangePage:
    return rt.views.subject_history(who, body.scheme, body.value, body)  # body: the filters too


@router.get(
    "/register",
    response_model=list[RegisterEntry],
    summary="The transfer register of a period (a record of processing activities)",
    description="One line per recipient, jurisdiction, purpose, legal basis, agreement and set "
    "of data categories of the allowed exchanges: how many, the first and the last, and the "
    "rules they were allowed under.",
)
def register(period: Annotated[Period, Query()], who: DpoDep, rt: RuntimeDep) -> Any:
    return rt.views.register(who, period.since, period.until)


@router.get(
    "/register.csv",
    response_class=Response,
    summary="The transfer register as CSV",
    responses={
        200: {
            "description": "RFC 4180 CSV in UTF-8 with a header row; a cell that would run as "
            "a formula starts with an apostrophe.",
            "content": {CSV: {"schema": {"type": "string"}, "example": "controller,recipient\r\n"}},
        }
    },
)
def register_csv(period: Annotated[Period, Query()], who: DpoDep, rt: RuntimeDep) -> Response:
    entries = rt.views.register(who, period.since, period.until)
    return Response(
        disclosures.register_csv(entries),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@router.get(
    "/denials",
    response_model=DenialReport,
    summary="Denials of a period: by reason, by recipient, the latest",
)
def denials(query: Annotated[DenialQuery, Query()], who: DpoDep, rt: RuntimeDep) -> DenialReport:
    return rt.views.denials(who, query.since, query.until, query.limit)


@router.get(
    "/transfers",
    response_model=list[TransferCount],
    summary="Allowed exchanges per recipient and day or week (chart data)",
)
def transfers(query: Annotated[TransferQuery, Query()], who: DpoDep, rt: RuntimeDep) -> Any:
    return rt.views.transfers_per_recipient(who, query.since, query.until, query.bucket)


@router.get(
    "/exchanges.csv",
    response_class=Response,
    summary="Export exchanges as CSV",
    description=f"The filters of the listing; at most {EXPORT_LIMIT:,} exchanges a part, "
    "newest first. A part cut at its limit says where the next starts (`X-Export-Next-"
    "Cursor`, `Link: rel=next`).",
    responses={
        200: {
            "description": "RFC 4180 CSV in UTF-8 with a header row; a cell that would run as "
            "a formula starts with an apostrophe.",
            "headers": _EXPORT_HEADERS,
            "content": {
                CSV: {"schema": {"type": "string"}, "example": "exchange_id,recorded_at\r\n"}
            },
        }
    },
)
def exchanges_csv(
    request: Request, query: Annotated[ExportQuery, Query()], who: DpoDep, rt: RuntimeDep
) -> Response:
    page = rt.views.exchanges(who, query)
    return Response(
        disclosures.exchanges_csv(page.exchanges),
        media_type=CSV,
        headers=_export_headers(request, page, "exchanges.csv"),
    )


@router.get(
    "/exchanges.fhir",
    response_class=Response,
    summary="Export exchanges as FHIR AuditEvents (IHE BALP)",
    description=f"The filters of the listing; at most {FHIR_EXPORT_LIMIT:,} exchanges a part, "
    "newest first, cut as the CSV export is (and a Bundle link `next`). A collection Bundle "
    "of FHIR R4 AuditEvents, one per subject: an allowed exchange as BALP's "
    "PrivacyDisclosure.Source, a denied one as BALP's AuthZconsent; invalid attempts are left "
    "out (they decided and disclosed nothing).",
    responses={
        200: {
            "description": "A FHIR R4 Bundle (type collection) of AuditEvents.",
            "headers": _EXPORT_HEADERS,
            "content": {
                FHIR_JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["resourceType", "type", "entry"],
                        "properties": {
                            "resourceType": {"const": "Bundle"},
                            "type": {"const": "collection"},
                            "entry": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    "example": {
                        "resourceType": "Bundle",
                        "type": "collection",
                        "timestamp": "2026-12-01T18:30:00Z",
                        "entry": [],
                    },
                }
            },
        }
    },
)
def exchanges_fhir(
    request: Request, query: Annotated[FhirExportQuery, Query()], who: DpoDep, rt: RuntimeDep
) -> Response:
    page = rt.views.exchanges(who, query)
    headers = _export_headers(request, page, "exchanges.fhir.json")
    bundle = disclosures.audit_bundle(
        page.exchanges,
        operator=rt.settings.controller,
        now=rt.clock(),
        next_url=_next_url(request, page),
    )
    return Response(json.dumps(bundle), media_type=FHIR_JSON, headers=headers)


def _export_headers(request: Request, page: ExchangePage, file_name: str) -> dict[str, str]:
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name}"',
        "X-Export-Count": str(len(page.exchanges)),
    }
    if (next_url := _next_url(request, page)) is not None:
        assert page.next_cursor is not None
        headers["X-Export-Next-Cursor"] = page.next_cursor
        headers["Link"] = f'<{next_url}>; rel="next"'
    return headers


def _next_url(request: Request, page: ExchangePage) -> str | None:
    if page.next_cursor is None:
        return None
    return str(request.url.include_query_params(cursor=page.next_cursor))


router.include_router(approvals.router)  # /dpo/approvals: the approval queue
