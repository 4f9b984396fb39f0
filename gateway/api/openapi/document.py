"""Correct FastAPI's document of the app: security, every answer, and the submission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic.json_schema import models_json_schema

from adapters.registry import AdapterRegistry
from gateway.api.openapi.examples import add_success_examples
from gateway.api.openapi.refusals import FASTAPI_VALIDATION_ERRORS, SCHEMAS, add_refusals, refs
from gateway.api.openapi.submission import (
    document_submission,
    document_what_if,
    is_submission,
    is_what_if,
)
from gateway.api.schemas import ErrorAnswer, OperationOutcome

BEARER = "bearer"
"""The security scheme's name in the document."""


def install(app: FastAPI, adapters: AdapterRegistry) -> None:
    """Make `app.openapi()` answer the corrected document, built on its first call."""
    build_default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_default()
            correct(document, app, adapters)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def correct(document: dict[str, Any], app: FastAPI, adapters: AdapterRegistry) -> None:
    """Correct FastAPI's document of `app` in place.

    The bearer scheme goes on every operation but those that declare `security: []`: deny
    by default, so a new route is documented as needing a credential until it says not.
    """
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_error_schemas())
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A system's credential (given at its registration or rotation), or "
            "the administrator's token (var/admin.token, or GATEWAY_ADMIN_TOKEN).",
        }
    }
    for dependant, operation in _operations(app, document):
        if is_submission(operation):
            document_submission(operation, adapters)
        elif is_what_if(operation):
            document_what_if(operation, adapters)
        operation.setdefault("security", [{BEARER: []}])
        add_refusals(dependant, operation)
        add_success_examples(operation)
    for name in FASTAPI_VALIDATION_ERRORS:
        schemas.pop(name, None)
    if left := sorted({r for r in refs(document) if r.removeprefix(SCHEMAS) not in schemas}):
        raise RuntimeError(f"the OpenAPI document refers to schemas it lacks: {left}")


def _error_schemas() -> dict[str, Any]:
    _, schema = models_json_schema(
        [(ErrorAnswer, "serialization"), (OperationOutcome, "serialization")],
        ref_template=SCHEMAS + "{model}",
    )
    defs: dict[str, Any] = schema["$defs"]
    return defs


def _operations(app: FastAPI, document: dict[str, Any]) -> Iterator[tuple[Dependant, Any]]:
    """Yield each documented route's dependencies with its operation, one per method."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.include_in_schema:
            # Seen through its context: the path and dependencies as included in the app.
            dependant = getattr(context, "dependant", None) or route.dependant
            for method in sorted(context.methods or ()):
                yield dependant, document["paths"][context.path_format][method.lower()]
