"""One root error; each carries its HTTP status and a machine-readable reason code.

GatewayError
├── InvalidInput              422  every problem listed
│   ├── ParseError            422  invalid_message: the source adapter rejected the body
│   ├── EnvelopeError         422  invalid_envelope
│   └── UnknownSystemError    422  unknown_system
├── PayloadTooLargeError      413  payload_too_large
├── UnsupportedMediaTypeError 415  unsupported_media_type: a Content-Type the adapter does not read
├── AuthenticationError       401  unauthenticated
├── ForbiddenError            403  forbidden: authenticated, but not allowed to do this
├── NotFoundError             404  not_found
├── ConflictError             409  conflict
│   └── IdempotencyConflictError  idempotency_conflict: a key reused with another message
├── PolicyDeniedError         403  denied: the policy engine said no (reasons attached)
├── DuplicateHeaderError      400  duplicate_header: a header that must appear once came twice
├── DuplicateParameterError   400  duplicate_parameter: a query parameter came twice
├── RequestTimeoutError       408  request_timeout: the body did not arrive in time
├── TooManyFailedAuthenticationsError  429  too_many_failed_authentications (Retry-After)
├── HeadersTooLargeError      431  headers_too_large: answered by the server, before any route
├── SealError                 500  sealed_data_unreadable: sealed data does not verify (altered,
│   │                              moved to another row); an outbox message's failed attempt
│   └── UnknownKeyError            unknown_key_id: sealed under a key the keyring lacks
├── TransportError            502  destination_unreachable: a destination could not be reached
│                                  (refused, timed out, reset); a delivery's failed attempt
└── ConfigurationError        500  a shipped file (adapter, mapping, policy) is broken;
                                   raised at start-up, never in the middle of an exchange

An error lists at most MAX_PROBLEMS problems and counts up to COUNT_LIMIT: one hostile body
can hold a million faults, and listing them all took half a minute of CPU and a 115 MiB answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

MAX_PROBLEMS = 100
"""How many problems an error lists: enough to fix a body by, small enough to answer at once."""
COUNT_LIMIT = 1000
"""How many problems are counted before counting stops; beyond it the count is a lower bound."""


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


def first_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Take the problems an error counts, and one more to show that the count is a lower bound.

    Why: a producer that lists lazily (a schema validator, a walk of the body) stops here, so
    its work is bounded by COUNT_LIMIT, not by how many faults a hostile body holds.
    """
    return list(islice(problems, COUNT_LIMIT + 1))


def validation_problems(
    errors: Iterable[Mapping[str, Any]], locate: Callable[[Sequence[Any]], str] = dotted
) -> list[Problem]:
    """Turn pydantic's `exc.errors()` into Problems, each located the caller's way."""
    return [Problem(locate(error["loc"]), error["msg"]) for error in errors]


class GatewayError(Exception):
    """The root error: a status, a reason code, and the first MAX_PROBLEMS problems with a count.

    `problems` is read no further than COUNT_LIMIT + 1 items, so it may be a lazy iterable.
    `problem_count` is the total when `problem_count_exact`, else a lower bound.
    """

    status = 500
    reason = "internal_error"

    def __init__(
        self,
        message: str,
        problems: Iterable[Problem] | None = None,
        reasons: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        counted = first_problems(problems or ())
        self.problems = counted[:MAX_PROBLEMS]
        self.problem_count = min(len(counted), COUNT_LIMIT)
        self.problem_count_exact = len(counted) <= COUNT_LIMIT
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


class UnsupportedMediaTypeError(GatewayError):
    status = 415
    reason = "unsupported_media_type"


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


class DuplicateHeaderError(GatewayError):
    status = 400
    reason = "duplicate_header"


class DuplicateParameterError(GatewayError):
    status = 400
    reason = "duplicate_parameter"


class RequestTimeoutError(GatewayError):
    status = 408
    reason = "request_timeout"


class TooManyFailedAuthenticationsError(GatewayError):
    status = 429
    reason = "too_many_failed_authentications"


class HeadersTooLargeError(GatewayError):
    status = 431
    reason = "headers_too_large"


class SealError(GatewayError):
    """Sealed data cannot be opened: altered, moved to another row, or sealed by another key."""

    reason = "sealed_data_unreadable"


class UnknownKeyError(SealError):
    """Sealed data names a key id the keyring does not hold (a retired or foreign key)."""

    reason = "unknown_key_id"


class TransportError(GatewayError):
    """A destination could not be reached (refused, timed out, reset); the message waits."""

    status = 502
    reason = "destination_unreachable"
