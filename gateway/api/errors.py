"""Render every GatewayError one way: JSON with a reason code and every problem.

Callers that speak FHIR (a FHIR content type or Accept header) get an OperationOutcome with
the same facts, since a FHIR client cannot be expected to read anything else.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.errors import (
    GatewayError,
    InvalidInput,
    NotFoundError,
    PayloadTooLargeError,
    Problem,
    validation_problems,
)

FHIR_JSON = "application/fhir+json"
REASON_SYSTEM = "urn:exchange-gateway:reason"
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    408: "timeout",
    409: "conflict",
    413: "too-long",
    422: "invalid",
    429: "throttled",
    431: "too-long",
}


def wants_fhir(request: Request) -> bool:
    return "fhir" in request.headers.get("content-type", "") or "fhir" in request.headers.get(
        "accept", ""
    )


def error_body(error: GatewayError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reason": error.reason,
        "message": error.message,
        "problems": [p.as_dict() for p in error.problems],
        "problem_count": error.problem_count,
    }
    if not error.problem_count_exact:
        body["problem_count_is_lower_bound"] = True
    if error.reasons:
        body["reasons"] = error.reasons
    if error.exchange_id:
        body["exchange_id"] = error.exchange_id
    return body


def operation_outcome(error: GatewayError) -> dict[str, Any]:
    code = _ISSUE_CODES.get(error.status, "exception")
    details = {
        "coding": [{"system": REASON_SYSTEM, "code": r} for r in [error.reason, *error.reasons]]
    }
    issues = [
        {
            "severity": "error",
            "code": code,
            "details": details,
            "diagnostics": p.message,
            "expression": [p.location],
        }
        for p in error.problems
    ] or [{"severity": "error", "code": code, "details": details, "diagnostics": error.message}]
    if unlisted := _unlisted(error):
        issues.append({"severity": "information", "code": "informational", "diagnostics": unlisted})
    outcome: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": issues}
    if error.exchange_id:
        outcome["id"] = error.exchange_id
    return outcome


def _unlisted(error: GatewayError) -> str | None:
    """Say how many problems an answer leaves out, if any (the JSON body has it as a count)."""
    more = error.problem_count - len(error.problems)
    if error.problem_count_exact:
        noun = "problem was" if more == 1 else "problems were"
        return f"{more} more {noun} not listed" if more else None
    return f"at least {more} more problems were not listed (counting stopped)"


def render(request: Request, error: GatewayError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if error.exchange_id:  # the recorded attempt: the access line names it (api/access.py)
        headers["X-Exchange-Id"] = error.exchange_id
    if wants_fhir(request):
        return JSONResponse(
            operation_outcome(error), error.status, headers=headers, media_type=FHIR_JSON
        )
    return JSONResponse(error_body(error), error.status, headers=headers)


def _not_found(request: Request) -> str:
    """Say there is no such resource, and name the path meant if only a slash is wrong."""
    path = request.url.path
    if path.endswith("/") and path != "/":
        bare = path.rstrip("/")
        if bare in request.app.openapi()["paths"]:  # built once; only read on this path
            return f"no such resource: {path} (did you mean {bare}, without the slash?)"
    return "no such resource"


def install(app: FastAPI) -> None:
    async def on_gateway_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        return render(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = validation_problems(exc.errors())
        return render(request, InvalidInput("the request is invalid", problems))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return render(request, NotFoundError(_not_found(request)))
        if exc.status_code == PayloadTooLargeError.status:  # the app's body limit
            return render(request, PayloadTooLargeError("the request body is over the size limit"))
        if exc.status_code == 400:  # FastAPI's: a body it could not decode (not UTF-8 JSON)
            problem = Problem("body", "is not JSON in UTF-8")
            return render(request, InvalidInput("the request body is not valid JSON", [problem]))
        error = GatewayError(str(exc.detail))
        error.status, error.reason = exc.status_code, "http_error"
        return render(request, error)

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
