"""The National Reference Guide: who takes which referral, and how to reach them.

Seed 001, section 6.2 and Annex 2: a directory of the competent authorities (refugee status
determination, child protection, protection of victims of trafficking, protection of victims
of violence, assistance programmes, UNHCR) with services, department, telephone, address,
working hours and duty-officer hotline, kept up to date by one agency, with concise
instructions for the officers. Here it is data with versions: a published version is never
edited, and every routed referral records the version that routed it.

Each authority says how a person is referred to it: by an exchange to a registered system
(`referral: exchange`, with the envelope's purpose and legal basis), or by informing the
person of the contact (`referral: inform`, seed section 6: "the person should be informed
about the existence of UNHCR").
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.kit.jsonbody import load_object
from gateway.canonical import NAME_PATTERN, LegalBasis
from gateway.canonical.countries import Country
from gateway.canonical.referral import ReferralKind
from gateway.canonical.text import Text
from gateway.errors import InvalidInput, Problem, validation_problems

MAX_GUIDE_BYTES = 256 * 1024
REQUIRED_KINDS = (
    ReferralKind.ASYLUM,
    ReferralKind.CHILD_PROTECTION,
    ReferralKind.ANTI_TRAFFICKING,
)
"""Kinds a guide must name a national authority for: the seed's minimum content (6.2)."""


class ReferralMode(StrEnum):
    EXCHANGE = "exchange"  # sent as an exchange to the authority's registered system
    INFORM = "inform"  # the person is given the contact; nothing is sent


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Authority(_Data):
    """One competent authority or service, as Annex 2 describes it."""

    id: str = Field(pattern=NAME_PATTERN)
    takes: list[ReferralKind] = Field(min_length=1, max_length=6)
    name: Text = Field(min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)  # the services provided
    department: Text | None = Field(default=None, max_length=200)
    telephone: Text | None = Field(default=None, max_length=64)
    email: Text | None = Field(default=None, max_length=200)
    address: Text | None = Field(default=None, max_length=500)
    hours: Text | None = Field(default=None, max_length=200)  # working hours
    hotline: Text | None = Field(default=None, max_length=64)  # duty officer, if any
    region: Text | None = Field(default=None, max_length=64)  # None: the whole country
    referral: ReferralMode = ReferralMode.EXCHANGE
    system: str | None = Field(default=None, pattern=NAME_PATTERN)  # registered system id
    purpose: str | None = Field(default=None, pattern=NAME_PATTERN)
    legal_basis: LegalBasis | None = None
    agreement: str | None = Field(default=None, pattern=NAME_PATTERN)

    @model_validator(mode="after")
    def _reachable(self) -> Authority:
        if len(set(self.takes)) != len(self.takes):
            raise ValueError("takes lists a kind twice")
        envelope = (self.system, self.purpose, self.legal_basis)
        if self.referral is ReferralMode.EXCHANGE and None in envelope:
            raise ValueError("an exchange referral needs system, purpose and legal_basis")
        if self.referral is ReferralMode.INFORM and self.system is not None:
            raise ValueError("an inform-only authority has no system")
        return self


class ReferenceGuide(_Data):
    """One version of the National Reference Guide of a country."""

    version: int = Field(ge=1, le=1_000_000)
    effective_from: dt.date
    country: Country
    maintained_by: Text = Field(min_length=1, max_length=200)  # the agency keeping it current
    instructions: Text | None = Field(default=None, max_length=4000)  # for the officers
    authorities: list[Authority] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unambiguous(self) -> ReferenceGuide:
        # Why: a routing must name exactly one authority for a kind in a region, or the
        # officer would be left to choose, and the same interview could go two ways.
        ids = [a.id for a in self.authorities]
        if len(set(ids)) != len(ids):
            raise ValueError("two authorities share an id")
        seen: set[tuple[ReferralKind, str | None]] = set()
        for authority in self.authorities:
            for kind in authority.takes:
                if (kind, authority.region) in seen:
                    where = authority.region or "the whole country"
                    raise ValueError(f"two authorities take {kind.value} referrals in {where}")
                seen.add((kind, authority.region))
        missing = [k.value for k in REQUIRED_KINDS if (k, None) not in seen]
        if missing:
            raise ValueError(f"no national authority takes {', '.join(missing)} referrals")
        return self

    def authority_for(self, kind: ReferralKind, region: str | None) -> Authority | None:
        """Return the authority taking this kind in the region, else the national one."""
        national = None
        for authority in self.authorities:
            if kind in authority.takes:
                if region is not None and authority.region == region:
                    return authority
                if authority.region is None:
                    national = authority
        return national


def checked(document: Any, where: str = "guide") -> ReferenceGuide:
    """Validate a guide document; raise InvalidInput naming each field, never its value."""
    try:
        return ReferenceGuide.model_validate(document)
    except ValidationError as exc:
        problems = validation_problems(
            exc.errors(include_input=False), lambda loc: ".".join([where, *map(str, loc)])
        )
        raise InvalidInput("the reference guide is invalid", problems) from exc


def from_yaml(text: bytes) -> ReferenceGuide:
    """Read a guide from YAML (the file a publishing agency keeps)."""
    if len(text) > MAX_GUIDE_BYTES:
        raise InvalidInput(
            "the reference guide is too large", [Problem("guide", f"over {MAX_GUIDE_BYTES} bytes")]
        )
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark is not None else "guide"
        raise InvalidInput("the reference guide is not YAML", [Problem(at, "not YAML")]) from exc
    if not isinstance(document, dict):
        raise InvalidInput("the reference guide is invalid", [Problem("guide", "not a mapping")])
    return checked(document)


def from_json(body: bytes) -> ReferenceGuide:
    """Read a guide from a JSON body (the API's), as safely as any message body."""
    return checked(load_object(body))
