"""Refusals as the document gives them: the error answer in JSON and as FHIR, with examples.

Each refusal is documented with the answers the renderers (gateway/api/errors.py) write for
example errors, so an example cannot say what the gateway would not; and its schema narrows
`reason` to the codes the error tree has for its status. The refusals every route of a kind
gives are here too: `add_refusals` picks them by what the route is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant

from gateway.api import deps
from gateway.api.errors import FHIR_JSON, error_body, operation_outcome
from gateway.api.schemas import ErrorAnswer, OperationOutcome
from gateway.errors import (
    AuthenticationError,
    DuplicateHeaderError,
    ForbiddenError,
    GatewayError,
    HeadersTooLargeError,
    InvalidInput,
    NotFoundError,
    PayloadTooLargeError,
    Problem,
    TooManyFailedAuthenticationsError,
)

JSON = "application/json"
SCHEMAS = "#/components/schemas/"
FASTAPI_VALIDATION_ERRORS = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 schemas: a shape the gateway never sends."""


def refusal(description: str, *examples: GatewayError, fhir: bool = True) -> dict[str, Any]:
    """Document a refusal (an OpenAPI response) with the answers the renderers write for
    `examples`: the error answer, and unless `fhir` is False the OperationOutcome that FHIR
    callers get.
    """
    statuses = {error.status for error in examples}
    if len(statuses) != 1:
        raise ValueError(f"a refusal's examples share one status, not {sorted(statuses)}")
    reasons = reasons_by_status()[statuses.pop()]
    narrowed = {"properties": {"reason": {"type": "string", "enum": reasons}}}
    content: dict[str, Any] = {
        JSON: {
            "schema": {"allOf": [{"$ref": SCHEMAS + ErrorAnswer.__name__}, narrowed]},
            "examples": {e.reason: {"value": error_body(e)} for e in examples},
        }
    }
    if fhir:
        content[FHIR_JSON] = {
            "schema": {"$ref": SCHEMAS + OperationOutcome.__name__},
            "examples": {e.reason: {"value": operation_outcome(e)} for e in examples},
        }
    return {"description": description, "content": content}


def reasons_by_status() -> dict[int, list[str]]:
    """Every reason code the error tree answers with, by status."""
    found: dict[int, set[str]] = {}
    kinds: list[type[GatewayError]] = [GatewayError]
    while kinds:
        kind = kinds.pop()
        found.setdefault(kind.status, set()).add(kind.reason)
        kinds.extend(kind.__subclasses__())
    return {status: sorted(reasons) for status, reasons in found.items()}


def header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A response header that is always there."""
    return {"description": description, "required": True, "schema": schema}


def add_refusals(dependant: Dependant, operation: dict[str, Any]) -> None:
    """Add the refusals this kind of route gives, unless the route documents its own.

    The edge's on every route; 401 where a credential is needed, 403 where a role is, 404
    where the path names something, 413 and 422 where there is something to read.
    FastAPI's own 422 (a shape the gateway never sends) goes.
    """
    responses = operation["responses"]
    for status, response in list(responses.items()):
        if _refers_to_fastapi_validation_error(response):
            del responses[status]
    common: dict[int, Callable[[], dict[str, Any]]] = {400: duplicate_header}
    if operation["security"]:
        common[401] = unauthenticated
    if set(_calls(dependant)) & ROLE_GUARDS:
        common[403] = wrong_role
    if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
        common[404] = not_found
    if "requestBody" in operation:
        common[413] = too_large
    if "requestBody" in operation or any(map(_may_be_invalid, operation.get("parameters", []))):
        common[422] = invalid
    common.update({429: throttled, 431: headers_too_large, 503: busy})
    for status, document in common.items():
        if str(status) not in responses:
            responses[str(status)] = document()
    operation["responses"] = dict(sorted(responses.items()))


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _may_be_invalid(parameter: dict[str, Any]) -> bool:
    """Whether a parameter can fail validation: any but an unconstrained path segment."""
    schema = {k: v for k, v in parameter["schema"].items() if k not in ("title", "description")}
    return parameter["in"] != "path" or schema != {"type": "string"}


def _refers_to_fastapi_validation_error(response: dict[str, Any]) -> bool:
    return any(ref.removeprefix(SCHEMAS) in FASTAPI_VALIDATION_ERRORS for ref in refs(response))


def refs(node: Any) -> Iterator[str]:
    """Every `$ref` in a piece of the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def duplicate_header() -> dict[str, Any]:
    name = "Idempotency-Key"
    return refusal(
        "A header the gateway reads once (Authorization, Idempotency-Key, Content-Type, "
        "Content-Length, X-Exchange-*) came more than once (`duplicate_header`). Answered "
        "before anything else; no exchange record is left.",
        DuplicateHeaderError(
            f"the {name} header appears more than once",
            [Problem(name, "appears more than once; send it once")],
        ),
    )


def unauthenticated(*examples: GatewayError) -> dict[str, Any]:
    answer = refusal(
        "No credential, or not a valid one (`unauthenticated`).",
        *(examples or [AuthenticationError("the credential is not valid")]),
    )
    answer["headers"] = {
        "WWW-Authenticate": header("the scheme to authenticate with", {"const": "Bearer"})
    }
    return answer


ROLE_GUARDS = {deps.admin, deps.dpo, deps.admin_or_dpo}
"""The dependencies that refuse a credential of the wrong role (403)."""


def wrong_role() -> dict[str, Any]:
    return refusal(
        "The credential's role may not call this: a system's where the administrator's or "
        "the data protection officer's is needed, or one of those two where the other is "
        "(`forbidden`).",
        ForbiddenError("this needs the administrator role"),
    )


def not_found() -> dict[str, Any]:
    return refusal("Nothing has this id (`not_found`).", NotFoundError("no such resource"))


def too_large(*examples: GatewayError) -> dict[str, Any]:
    return refusal(
        "The body is over GATEWAY_MAX_BODY_BYTES, 1 MiB by default (`payload_too_large`); "
        "the rest of it is not read, and the connection is closed.",
        *(examples or [PayloadTooLargeError("the request body is over the size limit")]),
    )


def invalid() -> dict[str, Any]:
    return refusal(
        "The request is invalid (`invalid_input`), or its body is not JSON in UTF-8: the first "
        "100 problems, each located, and how many there are.",
        InvalidInput(
            "the request is invalid",
            [Problem("body.id", "String should match pattern '^[a-z0-9][a-z0-9._-]{0,63}$'")],
        ),
    )


def throttled() -> dict[str, Any]:
    answer = refusal(
        "This client address failed to authenticate too often "
        "(GATEWAY_AUTH_FAILURE_LIMIT times within GATEWAY_AUTH_FAILURE_WINDOW_SECONDS): "
        "`too_many_failed_authentications` until its oldest failure leaves the window. The "
        "request is not read, and leaves no exchange record.",
        TooManyFailedAuthenticationsError(
            "too many failed authentications from this address; try again later"
        ),
    )
    answer["headers"] = {
        "Retry-After": header(
            "seconds until this address may try again", {"type": "integer", "minimum": 1}
        )
    }
    return answer


def headers_too_large() -> dict[str, Any]:
    return refusal(
        "The request's headers are over GATEWAY_HTTP_MAX_HEADER_BYTES (`headers_too_large`): "
        "answered by the server before any route, in JSON only, and the connection closed.",
        HeadersTooLargeError("the request's headers are over 32768 bytes"),
        fhir=False,
    )


def busy() -> dict[str, Any]:
    return {
        "description": "This serving process holds its maximum of connections "
        "(GATEWAY_HTTP_MAX_CONNECTIONS): answered by the server, before any route.",
        "content": {"text/plain": {"schema": {"type": "string"}, "example": "Service Unavailable"}},
    }
