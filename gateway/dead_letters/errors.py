"""The refusals of dead-letter actions, in the gateway's one error tree (gateway/errors.py).

GatewayError
└── ConflictError          409
    ├── NotDeadError       409  not_dead: the message is not (or no longer) a dead letter
    └── BodyPurgedError    409  body_purged: its body was erased, so it cannot be sent again

Why two codes, not one: an operator acts differently on each. A message that is no longer
dead was replayed, discarded or cancelled by someone else (read it again); one whose body
was erased after the retention period can only be discarded, or sent again by its source.
"""

from __future__ import annotations

from gateway.errors import ConflictError


class NotDeadError(ConflictError):
    """Only a dead letter can be replayed or discarded."""

    reason = "not_dead"


class BodyPurgedError(ConflictError):
    """A dead letter whose body was erased after the retention period cannot be replayed."""

    reason = "body_purged"
