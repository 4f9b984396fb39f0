"""One root error; each carries its HTTP status and a machine-readable reason code.

GatewayError
├── InvalidInput              422  every problem listed
│   ├── ParseError            422  invalid_message: the source adapter rejected the body
│   ├── EnvelopeError         422  invalid_envelope
│   └── UnknownSystemError    422  unknown_system
├── PayloadTooLargeError      413  payload_too_large
├── AuthenticationError       401  unauthenticated
├── ForbiddenError            403  forbidden: authenticated, but not allowed to do this
├── NotFoundError             404  not_found
├── ConflictError             409  conflict
│   └── IdempotencyConflictError  idempotency_conflict: a key reused with another message
├── PolicyDeniedError         403  denied: the policy engine said no (reasons attached)
└── ConfigurationError        500  a shipped file (adapter, mapping, policy) is broken;
                                   raised at start-up, never in the middle of an exchange
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, and what."""

    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


def dotted(loc: Sequence[Any]) -> str:
    """Write a validation error's location as a.b.0.c."""
    return ".".join(str(part) for part in loc)


def validation_problems(
    errors: Iterable[Mapping[str, Any]], locate: Callable[[Sequence[Any]], str] = dotted
) -> list[Problem]:
    """Turn pydantic's `exc.errors()` into Problems, each located the caller's way."""
    return [Problem(locate(error["loc"]), error["msg"]) for error in errors]


class GatewayError(Exception):
    status = 500
    reason = "internal_error"

    def __init__(
        self,
        message: str,
        problems: list[Problem] | None = None,
        reasons: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.reasons = reasons or []
        self.exchange_id: str | None = None  # set once the attempt is recorded


class InvalidInput(GatewayError):
    status = 422
    reason = "invalid_input"


class ParseError(InvalidInput):
    reason = "invalid_message"


class EnvelopeError(InvalidInput):
    reason = "invalid_envelope"


class UnknownSystemError(InvalidInput):
    reason = "unknown_system"


class PayloadTooLargeError(GatewayError):
    status = 413
    reason = "payload_too_large"


class AuthenticationError(GatewayError):
    status = 401
    reason = "unauthenticated"


class ForbiddenError(GatewayError):
    status = 403
    reason = "forbidden"


class NotFoundError(GatewayError):
    status = 404
    reason = "not_found"


class ConflictError(GatewayError):
    status = 409
    reason = "conflict"


class IdempotencyConflictError(ConflictError):
    reason = "idempotency_conflict"


class PolicyDeniedError(GatewayError):
    status = 403
    reason = "denied"


class ConfigurationError(GatewayError):
    reason = "configuration_error"
