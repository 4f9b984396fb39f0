"""The refusals of specific requests, in the gateway's one error tree (gateway/errors.py).

GatewayError
├── PolicyDeniedError      403
│   └── RequestDeniedError 403  denied: every denial of a specific request, one and the same
└── RateLimitedError       429  rate_limited: the requesting party asked too often (Retry-After)

Why one denial for all: a specific request is answered "neither confirm nor deny". Refused
before the registry was asked, refused on what it answered, or "no such person" (or the
registry could not be asked): the requester gets the same status, the same body and the same
time (gateway/requests/service.py). The real reasons go only into the exchange record, for the
data protection officer.
"""

from __future__ import annotations

from gateway.errors import GatewayError, PolicyDeniedError

DENIED = "request.denied"
"""The one reason a requester is ever given for a denial."""


class RequestDeniedError(PolicyDeniedError):
    """A specific request is denied; `recorded_as` is its exchange, never put in the body.

    Not `exchange_id`, which the renderer writes into the body: a fresh id in each body would
    make two denials differ. The route sends it as X-Exchange-Id only.
    """

    recorded_as = ""

    @classmethod
    def of(cls, exchange_id: str) -> RequestDeniedError:
        """Return the one denial, for the exchange recorded as `exchange_id`."""
        denied = cls("the request is denied", reasons=[DENIED])
        denied.recorded_as = exchange_id
        return denied


class RateLimitedError(GatewayError):
    """The requesting system has used up its requests for now."""

    status = 429
    reason = "rate_limited"
    retry_after = 1  # whole seconds until it may ask again, for Retry-After

    @classmethod
    def after(cls, seconds: int) -> RateLimitedError:
        """Return the refusal of a system that may ask again in `seconds`."""
        limited = cls("too many specific requests from this system; try again later")
        limited.retry_after = seconds
        return limited
