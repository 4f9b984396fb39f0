"""API models: what callers send and get back (never the store's rows themselves).

The error answers (`ErrorAnswer`, `OperationOutcome`) describe what gateway/api/errors.py
writes; they are not used to write it, since every refusal would pay for a validation. The
tests validate real answers against them (extra keys forbidden), so the two cannot drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.errors import COUNT_LIMIT, MAX_PROBLEMS
from gateway.systems import SystemOut


class ExchangeAccepted(BaseModel):
    exchange_id: str
    categories: list[str]
    replay: bool = False


class SystemRegistered(SystemOut):
    credential: str  # shown once, at registration or rotation


class Credential(BaseModel):
    system_id: str
    credential: str


class ConsentOut(BaseModel):
    id: str
    subject: str  # the pseudonym: the identifier given is not kept
    recipient: str
    purpose: str
    categories: list[str]
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None


class OutboxCounts(BaseModel):
    pending: int
    delivered: int
    dead: int


class Health(BaseModel):
    """The database answers; how many outbox messages wait, were delivered, or gave up."""

    status: Literal["ok"]
    outbox: OutboxCounts


def _absent_not_null(schema: dict[str, Any]) -> None:
    """Drop the `default: null` pydantic writes for a key that is left out when it is None."""
    for field in schema.get("properties", {}).values():
        if "default" in field and field["default"] is None:
            del field["default"]


class Answer(BaseModel):
    """An answer's model: no key it does not name, no key null, no conversion of types."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_absent_not_null)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and (null := [k for k, v in data.items() if v is None]):
            raise ValueError(f"left out when they do not apply, never null: {null}")
        return data


class ProblemOut(Answer):
    """One thing wrong with the request: where (a header, `body.a.b`, a JSON pointer), and what."""

    location: str
    message: str


class ErrorAnswer(Answer):
    """Every refusal, for callers that do not speak FHIR: a reason code and what was wrong.

    A key that does not apply is left out, never null: `problem_count_is_lower_bound` is
    there only when counting stopped, `reasons` only when there are some (a policy denial's),
    `exchange_id` only when the attempt was recorded.
    """

    reason: str = Field(description="machine-readable code of the refusal")
    message: str = Field(description="what went wrong, for people")
    problems: list[ProblemOut] = Field(
        max_length=MAX_PROBLEMS, description=f"the first {MAX_PROBLEMS} problems found"
    )
    problem_count: int = Field(
        ge=0, le=COUNT_LIMIT, description=f"how many problems there are, counted to {COUNT_LIMIT}"
    )
    problem_count_is_lower_bound: Literal[True] | SkipJsonSchema[None] = Field(
        default=None, description="there when counting stopped at the limit"
    )
    reasons: Annotated[list[str], Field(min_length=1)] | SkipJsonSchema[None] = Field(
        default=None,
        description="the policy's reason codes, e.g. origin.risk_country, consent.missing",
    )
    exchange_id: str | SkipJsonSchema[None] = Field(
        default=None, description="the exchange record this attempt left"
    )


class Coding(Answer):
    system: str
    code: str


class CodeableConcept(Answer):
    coding: list[Coding] = Field(min_length=1)


class OperationOutcomeIssue(Answer):
    """One issue: a problem (its location in `expression`), or the refusal itself."""

    severity: Literal["error", "information"]
    code: str = Field(description="FHIR issue type, e.g. invalid, login, forbidden, throttled")
    details: CodeableConcept | SkipJsonSchema[None] = Field(
        default=None, description="the reason code, then the policy's reason codes"
    )
    diagnostics: str
    expression: Annotated[list[str], Field(min_length=1)] | SkipJsonSchema[None] = None


class OperationOutcome(Answer):
    """Every refusal, for callers that speak FHIR (a FHIR Content-Type or Accept header)."""

    resourceType: Literal["OperationOutcome"]  # FHIR's name for it
    id: str | SkipJsonSchema[None] = Field(
        default=None, description="the exchange record this attempt left"
    )
    issue: list[OperationOutcomeIssue] = Field(min_length=1)
