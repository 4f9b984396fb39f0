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
    status: Literal["queued", "awaiting-approval"] = Field(
        default="queued",
        description="queued for delivery, or held until the data protection officer approves "
        "it (then queued) or rejects it (never sent); a replay answers as the first time",
    )


class SystemRegistered(SystemOut):
    credential: str  # shown once, at registration or rotation


class Credential(BaseModel):
    system_id: str
    credential: str


class ConsentNoticeOut(BaseModel):
    """The notice of a withdrawal to one recipient, and where its delivery stands."""

    exchange_id: str = Field(description="the notice's own exchange record")
    recipient: str
    covers: list[str] = Field(
        description="the exchanges the recipient received (or may have) under the consent"
    )
    status: str = Field(
        description="the delivery's (pending, delivered, dead), or not-rendered when the "
        "recipient's adapter could not write the notice (then nothing was sent)"
    )
    attempts: int
    delivered_at: dt.datetime | None
    last_error: str | None
    problem: str | None = Field(description="why the notice could not be rendered")


class ConsentOut(BaseModel):
    id: str
    subject: str  # the pseudonym: the identifier given is not kept
    recipient: str
    purpose: str
    categories: list[str]
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    granted_by: Literal["subject", "guardian"] = "subject"
    guardian_relationship: str | None = None
    child_views_recorded: bool = Field(
        default=False, description="the child's views were recorded (kept sealed, never shown)"
    )
    exchanges: int = Field(default=0, description="how many allowed exchanges relied on it")
    cancelled: list[str] = Field(
        default_factory=list,
        description="exchanges that relied on it whose messages had not left when a consent "
        "they relied on was withdrawn: cancelled, never sent",
    )
    notices: list[ConsentNoticeOut] = Field(
        default_factory=list,
        description="once withdrawn: one notice per recipient that received data under it",
    )


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


class RuleFiredOut(BaseModel):
    """One rule that fired while deciding; details never hold names or identifiers."""

    stage: str = Field(examples=["agreement"])
    rule: str = Field(examples=["no exchange without an agreement that covers it"])
    outcome: Literal["allow", "deny", "info"]
    detail: str = Field(examples=["birth-registration@v1 covers birth-registration under consent"])


class PolicyExplanation(BaseModel):
    """What the policy would decide for a hypothetical exchange, and every rule that fired."""

    allowed: bool
    reasons: list[str] = Field(examples=[["allowed"]])
    meanings: dict[str, str] = Field(description="Each reason code in words.")
    categories: list[str] = Field(description="The categories that would be sent.")
    rule: str | None
    agreement: str | None = Field(description="The agreement version relied on, 'id@vN'.")
    approval: str | None = Field(description="Why the DPO would have to approve it, if so.")
    policy_version: str
    trace: list[RuleFiredOut]


class AgreementOut(BaseModel):
    """One version of an agreement, as `policies/agreements.toml` states it."""

    id: str = Field(examples=["birth-registration"])
    version: int = Field(examples=[1])
    citation: str = Field(examples=["birth-registration@v1"])
    title: str
    parties: list[str]
    purposes: list[str]
    categories: list[str]
    legal_bases: list[str]
    valid_from: dt.date
    valid_until: dt.date | None
    onward_transfer: str = Field(examples=["forbidden"])
    dpo_approval: bool
    origin_exceptions: list[str]
    in_force: bool = Field(description="Whether this is the version in force now.")
