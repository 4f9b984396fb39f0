"""The DPO's web console, under /console: server-rendered pages, no script, one stylesheet.

Every page but sign-in needs a console session (gateway/console/session.py); without one it
sends the browser to sign-in. A page reads only through the services the runtime built (the
DPO views, the exchange log), as the data protection officer.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import runtime_of
from gateway.audit.service import Reader
from gateway.audit.views import DisclosureQuery
from gateway.console import pages, reports
from gateway.console.chart import Point, periods
from gateway.console.forms import BadForm, day, end_of, read_form, same_origin, start_of
from gateway.console.markup import Html
from gateway.console.session import (
    COOKIE,
    LIFETIME_SECONDS,
    PATH,
    Session,
    Sessions,
    session_key,
)
from gateway.errors import GatewayError, InvalidInput

router = APIRouter(prefix="/console", include_in_schema=False)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
"""No script at all, styles from this origin's stylesheet only, forms sent only here."""
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make a browser send Origin: null
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGE_SIZE = 50
RECENT_DENIALS = 20
DEFAULT_DAYS = 30
EXCHANGE_FILTERS = ("recipient", "jurisdiction", "purpose", "decision", "since", "until")
DPO = Reader(role="dpo")
NOT_THE_DPO = (
    "That is not the data protection officer's token. Only the DPO's token opens the console: "
    "the administrator's token and the systems' credentials do not."
)
CROSS_SITE = "This form can only be sent from the console's own pages."
_STYLESHEET = files("gateway.console").joinpath("static/console.css").read_bytes()


# --- sessions ----------------------------------------------------------------------------------


def sessions(request: Request) -> Sessions:
    """The session signer: the app's key (derived on first use), the DPO token as it is now.

    The token is read on every request, as the API reads it: a new one opens the console at
    once, and ends every session signed under the old one.
    """
    settings = runtime_of(request).settings
    key = getattr(request.app.state, "console_session_key", None)
    if not isinstance(key, bytes):
        key = request.app.state.console_session_key = session_key(settings)
    return Sessions(key, settings.resolved_dpo_token())


def signed_in(request: Request) -> Session | None:
    return sessions(request).read(request.cookies.get(COOKIE))


def html(page: Html, status: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status, headers=HEADERS)


def go(path: str) -> RedirectResponse:
    return RedirectResponse(path, 303, headers=HEADERS)


def to_sign_in() -> RedirectResponse:
    return go("/console/login")


def _cookie_options(request: Request) -> dict[str, Any]:
    secure = request.url.scheme == "https"
    return {"path": PATH, "secure": secure, "httponly": True, "samesite": "strict"}


# --- signing in and out --------------------------------------------------------------------------


@router.get("/static/console.css")
async def stylesheet() -> Response:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(_STYLESHEET, media_type="text/css; charset=utf-8", headers=headers)


@router.get("")
def home(request: Request) -> Response:
    return go("/console/exchanges") if signed_in(request) else to_sign_in()


@router.get("/login")
def login_page(request: Request) -> Response:
    if signed_in(request):
        return go("/console/exchanges")
    return html(pages.login(signed_out="signed-out" in request.query_params))


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in with the DPO's token; a wrong one is a 401, which the edge's throttle counts."""
    if not same_origin(request):
        return html(pages.login(CROSS_SITE), 403)
    try:
        token = (await read_form(request)).get("token", "").strip()
    except BadForm as problem:
        return html(pages.login(str(problem)), 400)
    signer = sessions(request)
    if not token or not signer.is_dpo_token(token):
        return html(pages.login(NOT_THE_DPO), 401)
    cookie, _ = signer.issue()
    answer = go("/console/exchanges")
    answer.set_cookie(COOKIE, cookie, max_age=LIFETIME_SECONDS, **_cookie_options(request))
    return answer


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = signed_in(request)
    if not same_origin(request):
        return html(pages.login(CROSS_SITE), 403)
    if session is not None:
        try:
            given = (await read_form(request)).get("form_token")
        except BadForm:
            given = None
        if not sessions(request).form_token_ok(session, given):
            return html(pages.login(CROSS_SITE), 403)
    answer = go("/console/login?signed-out")
    answer.delete_cookie(COOKIE, **_cookie_options(request))
    return answer


# --- the pages -----------------------------------------------------------------------------------


def _filters(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The filters asked for, as typed (blank ones left out)."""
    found = {n: request.query_params.get(n, "").strip() for n in names}
    return {n: v for n, v in found.items() if v}


Moment = dt.datetime | None


def _period(filters: dict[str, str], trouble: list[str]) -> tuple[Moment, Moment]:
    """The period of the since/until dates: UTC days, `until` inclusive."""
    since = start_of(day(filters.get("since"), "Since", trouble))
    until = end_of(day(filters.get("until"), "Until", trouble))
    if since and until and since >= until:
        trouble.append("Since must be on or before Until")
    return since, until


def _iso(moment: Moment) -> str | None:
    """A moment as the views' queries take one: ISO 8601 text, with its zone."""
    return None if moment is None else moment.isoformat()


def _problems(error: ValidationError | GatewayError) -> list[str]:
    if isinstance(error, GatewayError):
        return [error.message, *(f"{p.location}: {p.message}" for p in error.problems)]
    return [f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in error.errors()]


def _query(
    filters: dict[str, str], trouble: list[str], cursor: str | None = None
) -> DisclosureQuery | None:
    since, until = _period(filters, trouble)
    criteria = {k: v for k, v in filters.items() if k not in ("since", "until")}
    try:
        query = DisclosureQuery.model_validate(
            {
                **criteria,
                "since": _iso(since),
                "until": _iso(until),
                "limit": PAGE_SIZE,
                "cursor": cursor,
            }
        )
    except ValidationError as error:
        trouble.extend(_problems(error))
        return None
    return None if trouble else query


@router.get("/exchanges")
def exchanges(request: Request) -> Response:
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    token = sessions(request).form_token(session)
    filters = _filters(request, EXCHANGE_FILTERS)
    trouble: list[str] = []
    query = _query(filters, trouble, request.query_params.get("cursor") or None)
    if query is None:
        return html(pages.exchanges(token, filters, None, None, trouble), 400)
    page = runtime_of(request).views.exchanges(DPO, query)
    next_url = None
    if page.next_cursor:
        next_url = "/console/exchanges?" + urlencode({**filters, "cursor": page.next_cursor})
    return html(pages.exchanges(token, filters, page.exchanges, next_url))


@router.get("/subject")
def subject_form(request: Request) -> Response:
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    return html(pages.subject(sessions(request).form_token(session)))


@router.post("/subject")
async def subject(request: Request) -> Response:
    """One person's disclosures: the identifier comes in the body, and goes nowhere else."""
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    token = sessions(request).form_token(session)
    if not same_origin(request):
        return html(pages.subject(token, trouble=[CROSS_SITE]), 403)
    try:
        fields = await read_form(request)
    except BadForm as problem:
        return html(pages.subject(token, trouble=[str(problem)]), 400)
    if not sessions(request).form_token_ok(session, fields.get("form_token")):
        return html(pages.subject(token, trouble=[CROSS_SITE]), 403)
    scheme, value = fields.get("scheme", "").strip(), fields.get("value", "").strip()
    trouble: list[str] = []
    if not scheme or not value:
        trouble.append("Give both the identifier's scheme and its value.")
    query = _query({}, trouble, fields.get("cursor") or None)
    if query is None:
        return html(pages.subject(token, scheme, value, trouble=trouble), 400)
    views = runtime_of(request).views
    try:
        page = await run_in_threadpool(views.subject_history, DPO, scheme, value, query)
    except InvalidInput as error:
        return html(pages.subject(token, scheme, value, trouble=_problems(error)), 400)
    return html(pages.subject(token, scheme, value, page.exchanges, page.next_cursor))


@router.get("/denials")
def denials(request: Request) -> Response:
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    token = sessions(request).form_token(session)
    filters = _filters(request, ("since", "until"))
    trouble: list[str] = []
    since, until = _period(filters, trouble)
    if trouble:
        return html(reports.denials(token, filters, None, trouble), 400)
    report = runtime_of(request).views.denials(DPO, since, until, RECENT_DENIALS)
    return html(reports.denials(token, filters, report))


@router.get("/transfers")
def transfers(request: Request) -> Response:
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    token = sessions(request).form_token(session)
    filters = _filters(request, ("since", "until", "bucket"))
    trouble: list[str] = []
    bucket = filters.setdefault("bucket", "day")
    if bucket not in reports.BUCKETS:
        trouble.append("Per: a day or a week")
    # Always a period of both ends: the chart's axis runs from one to the other.
    today = runtime_of(request).clock().astimezone(dt.UTC).date()
    last = day(filters.setdefault("until", today.isoformat()), "Until", []) or today
    default_first = last - dt.timedelta(days=DEFAULT_DAYS - 1)
    first = day(filters.setdefault("since", default_first.isoformat()), "Since", []) or last
    since, until = _period(filters, trouble)
    if trouble:
        return html(reports.transfers(token, filters, None, trouble=trouble), 400)
    step = reports.BUCKETS[bucket][1]
    counts = runtime_of(request).views.transfers_per_recipient(
        DPO, since, until, "week" if bucket == "week" else "day"
    )
    points = [Point(c.bucket_start, c.recipient or "(none)", c.count) for c in counts]
    shown = periods(first, last, step)
    return html(reports.transfers(token, filters, points, shown))


@router.get("/integrity")
def integrity(request: Request) -> Response:
    session = signed_in(request)
    if session is None:
        return to_sign_in()
    found = runtime_of(request).log.integrity()
    return html(reports.integrity(sessions(request).form_token(session), found))
