"""The exchange submission as the document gives it: what it reads, and what it answers.

Why here: the submission reads its headers and body itself (gateway/api/exchanges.py), so
FastAPI sees neither. The envelope headers carry the constraints the Envelope model checks;
the body is documented in each media type an installed adapter reads, with each adapter's
demo message as an example; every answer names the exchange record it left.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from adapters.registry import AdapterRegistry
from gateway.api.openapi.examples import EXCHANGE_ID, SUCCESS_EXAMPLES
from gateway.api.openapi.refusals import JSON, header, refusal, too_large, unauthenticated
from gateway.canonical import Envelope
from gateway.envelope import HEADERS, SOURCE_HEADER
from gateway.errors import (
    AuthenticationError,
    EnvelopeError,
    ForbiddenError,
    GatewayError,
    IdempotencyConflictError,
    ParseError,
    PayloadTooLargeError,
    PolicyDeniedError,
    Problem,
    RequestTimeoutError,
    UnknownSystemError,
    UnsupportedMediaTypeError,
)

SUBMISSION = {"x-gateway-submission": True}
"""`openapi_extra` of the route that reads an exchange submission (envelope headers and a
native message) itself: the document then says what it reads and answers."""
WHAT_IF = {"x-gateway-what-if": True}
"""`openapi_extra` of a route that reads a submission only to explain its decision: the
document says what it reads; its answers are its own."""
EXCHANGE_ID_HEADER = "X-Exchange-Id"

ENVELOPE_MEANINGS = {
    "destination": "The destination system's id.",
    "message_type": "What the message is, e.g. `birth-notification`, "
    "`birth-registration-confirmation`.",
    "purpose": "The declared purpose, e.g. `birth-registration`.",
    "legal_basis": "The lawful basis the source relies on.",
    "agreement": "The id of the data-sharing agreement the exchange falls under; if not "
    "given, the one agreement in force that covers the exchange (two or more: name one).",
    "best_interests": "The reference (case number, never the content) of a best-interests "
    "determination for the children the message is about: needed to trace or return a child, "
    "or to send a child's data beyond child protection and the asylum authority without a "
    "guardian's consent.",
    "idempotency_key": "8 to 128 characters, unique per message: a replay with the same body "
    "and envelope answers 200 with the same exchange; with another, 409.",
}
"""What each envelope header means (gateway/envelope.py HEADERS names the headers)."""
ENVELOPE_EXAMPLES = {
    "destination": "crvs-national",
    "message_type": "birth-notification",
    "purpose": "birth-registration",
    "legal_basis": "consent",
    "idempotency_key": "kakuma-birth-0001",
}
"""The demo birth notification's envelope: what Swagger UI's "Try it out" starts from."""
NATIVE_EXAMPLES = {
    "progres": ("birth-notification", "progres-birth-notification.json"),
    "opencrvs": ("birth-registration-confirmation", "opencrvs-registered-birth.json"),
}
"""Each adapter's example message, a file in gateway/demo/data: the first is shown first."""


def is_submission(operation: dict[str, Any]) -> bool:
    """Whether the operation is marked as the submission (the mark is taken off)."""
    return bool(operation.pop(next(iter(SUBMISSION)), False))


def is_what_if(operation: dict[str, Any]) -> bool:
    """Whether the operation reads a submission to explain it (the mark is taken off)."""
    return bool(operation.pop(next(iter(WHAT_IF)), False))


def document_what_if(operation: dict[str, Any], adapters: AdapterRegistry) -> None:
    operation["parameters"] = [*operation.get("parameters", []), *_envelope_parameters()]
    operation["requestBody"] = _native_message(adapters)


def document_submission(operation: dict[str, Any], adapters: AdapterRegistry) -> None:
    operation["parameters"] = [*_envelope_parameters(), *operation.get("parameters", [])]
    operation["requestBody"] = _native_message(adapters)
    accepted = operation["responses"]["202"]
    answers = {
        "200": {
            "description": "A replay: this Idempotency-Key was used before with the same body "
            "and envelope. The same exchange, answered from its record; no new record.",
            "content": {
                JSON: {
                    "schema": accepted["content"][JSON]["schema"],
                    "example": {**SUCCESS_EXAMPLES["ExchangeAccepted"], "replay": True},
                }
            },
        },
        "202": {
            **accepted,
            "description": "Accepted and recorded: queued for delivery (`status` queued), or "
            "held until the data protection officer approves it (`awaiting-approval`).",
            "content": {
                JSON: {
                    "schema": accepted["content"][JSON]["schema"],
                    "examples": {
                        "queued": {"value": SUCCESS_EXAMPLES["ExchangeAccepted"]},
                        "awaiting-approval": {
                            "value": {
                                **SUCCESS_EXAMPLES["ExchangeAccepted"],
                                "status": "awaiting-approval",
                            }
                        },
                    },
                }
            },
        },
        **_refusals(),
    }
    # Every answer the route gives names its exchange (a replay, the one it replays); the
    # edge's refusals come before there is one.
    for answer in answers.values():
        answer["headers"] = {
            **answer.get("headers", {}),
            EXCHANGE_ID_HEADER: header("the exchange this attempt recorded", {"type": "string"}),
        }
    operation["responses"].update(answers)


def _envelope_parameters() -> list[dict[str, Any]]:
    """The envelope headers, each with the constraints the Envelope model checks."""
    model = Envelope.model_json_schema()
    required, properties, defs = model["required"], model["properties"], model.get("$defs", {})
    parameters = []
    for field, name in HEADERS.items():
        parameter = {
            "name": name,
            "in": "header",
            "required": field in required,
            "description": ENVELOPE_MEANINGS[field],
            "schema": _header_schema(properties[field], defs),
        }
        if field in ENVELOPE_EXAMPLES:
            parameter["example"] = ENVELOPE_EXAMPLES[field]
        parameters.append(parameter)
    parameters.append(
        {
            "name": SOURCE_HEADER,
            "in": "header",
            "required": False,
            "description": "The source system's id. The caller is the source: if given, it must "
            "be the caller's own id (else 403 `forbidden`).",
            "schema": _header_schema(properties["source"], defs),
        }
    )
    return parameters


def _header_schema(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A field's schema as a header's: references inlined, no null, no title or default."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        (schema,) = [option for option in schema["anyOf"] if option.get("type") != "null"]
    return {k: v for k, v in schema.items() if k not in ("title", "default", "description")}


def _native_message(adapters: AdapterRegistry) -> dict[str, Any]:
    """The body: a native message, in a media type its source system's adapter reads."""
    readers: dict[str, list[str]] = {}
    examples: dict[str, dict[str, Any]] = {}
    first = list(NATIVE_EXAMPLES)
    for name in sorted(adapters.names(), key=lambda n: first.index(n) if n in first else 99):
        adapter = adapters.get(name)
        if not adapter.parses:
            continue
        for media_type in sorted(adapter.media_types):
            readers.setdefault(media_type, []).append(name)
            if name in NATIVE_EXAMPLES:
                message_type, filename = NATIVE_EXAMPLES[name]
                examples.setdefault(media_type, {})[f"{name}-{message_type}"] = {
                    "summary": f"{name}: {message_type}",
                    "value": _demo_message(filename),
                }
    content = {}
    # JSON first: what Swagger UI shows, and "Try it out" sends, unless told otherwise.
    for media_type, names in sorted(readers.items(), key=lambda item: item[0] != JSON):
        content[media_type] = {
            "schema": {
                "type": "object",
                "description": f"A native message, as {' or '.join(names)} systems send it "
                "(UTF-8).",
            },
            "examples": examples.get(media_type, {}),
        }
    return {
        "required": True,
        "description": "The source system's native message, in a media type its adapter reads. "
        "The source is the caller: the credential says which system it is.",
        "content": content,
    }


def _demo_message(filename: str) -> Any:
    message = json.loads(files("gateway.demo").joinpath(f"data/{filename}").read_bytes())
    message.pop("_comment", None)
    return message


def _recorded(error: GatewayError) -> GatewayError:
    """Return `error` as the submission answers it: naming the exchange record it left."""
    error.exchange_id = EXCHANGE_ID
    return error


def _refusals() -> dict[str, dict[str, Any]]:
    """What the submission refuses beyond every route's refusals; each leaves its record."""
    wrong_type = "progres reads application/json, not this media type"
    answers: dict[int, dict[str, Any]] = {
        401: unauthenticated(_recorded(AuthenticationError("the credential is not valid"))),
        403: refusal(
            "Denied by policy (`denied`: `reasons` says why, the problems what would be "
            "accepted), or the caller is not the source it names in X-Exchange-Source "
            "(`forbidden`).",
            _recorded(
                PolicyDeniedError(
                    "the exchange is denied by policy", reasons=["origin.risk_country"]
                )
            ),
            _recorded(ForbiddenError("the caller must be the exchange's source system")),
        ),
        408: refusal(
            "The body did not all arrive within GATEWAY_HTTP_BODY_TIMEOUT_SECONDS "
            "(`request_timeout`); the connection is closed.",
            _recorded(RequestTimeoutError("the body did not arrive within 30 s")),
        ),
        409: refusal(
            "The Idempotency-Key was used before with another body or envelope "
            "(`idempotency_conflict`).",
            _recorded(
                IdempotencyConflictError(
                    "this idempotency key was already used with a different message",
                    [Problem("Idempotency-Key", "reused with a different body or envelope")],
                )
            ),
        ),
        413: too_large(_recorded(PayloadTooLargeError("the message body is over the size limit"))),
        415: refusal(
            "The source system's adapter does not read this Content-Type, or its charset is "
            "not UTF-8 (`unsupported_media_type`).",
            _recorded(
                UnsupportedMediaTypeError(
                    "unsupported media type", [Problem("Content-Type", wrong_type)]
                )
            ),
        ),
        422: refusal(
            "The envelope (`invalid_envelope`), the message (`invalid_message`) or a system it "
            "names (`unknown_system`) is invalid: the first 100 problems, each located (a "
            "header, or a JSON pointer into the body), and how many there are.",
            _recorded(
                EnvelopeError(
                    "the exchange envelope is invalid",
                    [Problem("Idempotency-Key", "String should have at least 8 characters")],
                )
            ),
            _recorded(
                ParseError(
                    "invalid proGres birth-notification",
                    [Problem("/individuals/0/progres_sex", "unknown option-set value 7")],
                )
            ),
            _recorded(
                UnknownSystemError(
                    "no destination system 'crvs-nationl'",
                    [Problem("X-Exchange-Destination", "no system is registered under this id")],
                )
            ),
        ),
    }
    return {str(status): answer for status, answer in answers.items()}
