"""A specific request: one state's system asks about one person it names, and why.

Why so strict (seed 001, 8.5): "any data request or sharing of data should be specific and
individualized, and with concrete justification on the part of the requesting state agency
dealing with the individual case". So a request names exactly one person, by identifiers
only (no names, no dates, no lists, no wildcards, no criteria: a search is not a request,
and is answered only as aggregate statistics, STATISTICS_ROUTE); it says under which
agreement and legal basis, for which purpose and case, which data categories it needs, and
why this person's data is needed for that case.

What is checked here depends on the request's text alone, never on the person: so refusing
it (422, every problem listed) reveals nothing about whether the person is registered.
Messages never repeat an identifier or the justification: both may be personal data.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gateway.canonical.categories import DataCategory
from gateway.canonical.envelope import NAME_PATTERN, LegalBasis
from gateway.canonical.identifiers import normalise_identifier, scheme_key
from gateway.canonical.person import Canonical, Identifier, Person
from gateway.canonical.text import Text
from gateway.errors import InvalidInput, Problem

SPECIFIC_REQUEST = "specific-request"
"""The message type of a specific request's exchange: its policy rules and its records."""
STATISTICS_ROUTE = "/statistics/query"
"""Where a question about many people, or about people found by criteria, belongs."""

IDENTIFIER_SHAPES = {
    # UNHCR proGres v4 individual ids: "481-00012345", "KKM-25-001234".
    "progres-individual": re.compile(r"[A-Z0-9]{6,20}"),
    # ICAO Doc 9303 document numbers: 9 characters in the machine-readable zone, some longer.
    "passport": re.compile(r"[A-Z0-9]{5,20}"),
    "national-id": re.compile(r"[A-Z0-9]{4,32}"),
    # OpenCRVS tracking ids (7 characters) and registration numbers.
    "opencrvs-registration": re.compile(r"[A-Z0-9]{7,20}"),
    # Birth registration numbers of a DCI civil registry (e.g. "2023BIYCGRT").
    "brn": re.compile(r"[A-Z0-9]{4,32}"),
}
"""What each scheme's values look like once normalised (data/identifier-schemes.yaml):
a request may name a person by these schemes only, and a value must have its scheme's shape,
so a partial identifier ("KKM-25") is refused, not looked up."""

WILDCARDS = frozenset("*%?")
LIST_SEPARATORS = frozenset(",;|\n\r\t")
MAX_IDENTIFIERS = len(IDENTIFIER_SHAPES)  # at most one per scheme

MIN_CHARACTERS = 40
MIN_DISTINCT_WORDS = 6
MAX_JUSTIFICATION = 2000
REPETITION_RATIO = 0.5
"""A justification must say, beyond the phrases below, at least MIN_CHARACTERS letters or
digits in MIN_DISTINCT_WORDS different words; and no more than half of its words may be
repeats (a sentence pasted three times is one sentence)."""
BOILERPLATE = (
    "as per agreement",
    "as per the agreement",
    "in accordance with the agreement",
    "under the agreement",
    "as required by law",
    "as required",
    "for official purposes",
    "for official use",
    "official use only",
    "for verification purposes",
    "verification purposes",
    "for verification",
    "routine check",
    "routine verification",
    "routine request",
    "standard procedure",
    "standard request",
    "for security reasons",
    "security reasons",
    "security check",
    "security screening",
    "national security",
    "background check",
    "law enforcement purposes",
    "investigation purposes",
    "ongoing investigation",
    "please provide all information",
    "please provide",
    "all available information",
    "any information",
    "information requested",
    "request for information",
    "to whom it may concern",
    "case processing",
    "for processing",
    "not applicable",
    "n/a",
    "none",
    "urgent",
    "test",
    "lorem ipsum",
    "dolor sit amet",
)
"""Phrases that justify nothing on their own: they fit every request about anyone."""
_BOILERPLATE = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(p) for p in BOILERPLATE) + r")(?!\w)", re.IGNORECASE
)
_WORD = re.compile(r"\w+")

CaseReference = Annotated[
    str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
"""The requesting agency's own reference for the case the request serves."""


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _substantive(text: str) -> str:
    """Refuse a justification that is short, boilerplate, or mostly repetition."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) >= 4 and len(set(words)) < REPETITION_RATIO * len(words):
        raise _error(
            "justification_repetition",
            "is mostly repetition: say once why this person's data is needed",
        )
    left = _BOILERPLATE.sub(" ", text)
    meant = {w.casefold() for w in _WORD.findall(left)}
    letters = sum(len(w) for w in _WORD.findall(left))
    if len(meant) < MIN_DISTINCT_WORDS or letters < MIN_CHARACTERS:
        kind = "boilerplate" if _BOILERPLATE.search(text) else "short"
        said = "says nothing beyond boilerplate" if kind == "boilerplate" else "is too short"
        raise _error(
            f"justification_{kind}",
            f"{said}: say why this person's data is needed for this case, in at least "
            f"{MIN_CHARACTERS} letters and {MIN_DISTINCT_WORDS} different words",
        )
    return text


Justification = Annotated[
    Text, Field(min_length=1, max_length=MAX_JUSTIFICATION), AfterValidator(_substantive)
]


class NamedIdentifier(Identifier):
    """An identifier a request names the person by: a known scheme, one whole value."""

    @model_validator(mode="after")
    def _one_exact_value(self) -> NamedIdentifier:
        try:
            key = scheme_key(self.scheme)
        except ValueError:
            key = ""
        shape = IDENTIFIER_SHAPES.get(key)
        if shape is None:
            known = ", ".join(sorted(IDENTIFIER_SHAPES))
            raise _error("identifier_scheme", f"is not a scheme a person can be named by ({known})")
        if WILDCARDS & set(self.value):
            raise _error(
                "wildcard",
                "holds a wildcard (*, % or ?): a request names one person exactly; a search "
                f"is answered only as aggregate statistics ({STATISTICS_ROUTE})",
            )
        if LIST_SEPARATORS & set(self.value):
            raise _error("identifier_list", "holds a list: one value names one person")
        try:
            _, normal = normalise_identifier(self.scheme, self.value)
        except ValueError:
            normal = ""
        if not shape.fullmatch(normal):
            raise _error("identifier_shape", f"is not a whole {key} identifier")
        return self


class NamedSubject(Canonical):
    """The one person a request is about, named by identifiers and nothing else."""

    identifiers: list[NamedIdentifier] = Field(min_length=1, max_length=MAX_IDENTIFIERS)

    @field_validator("identifiers")
    @classmethod
    def _one_per_scheme(cls, identifiers: list[NamedIdentifier]) -> list[NamedIdentifier]:
        schemes = Counter(scheme_key(i.scheme) for i in identifiers)
        if any(count > 1 for count in schemes.values()):
            raise _error(
                "several_people",
                "names one scheme twice: one person has one identifier of a scheme, so two "
                "values are two people",
            )
        return identifiers

    def person(self) -> Person:
        """Return the person as far as the request names them: identifiers only."""
        identifiers = [Identifier(scheme=i.scheme, value=i.value) for i in self.identifiers]
        return Person(ref=SUBJECT_REF, identifiers=identifiers)


SUBJECT_REF = "subject"
"""The one person's reference in a request and in its answer."""


class SpecificRequest(Canonical):
    """One state system's request about one person; `requester` is the authenticated caller."""

    requester: str = Field(pattern=NAME_PATTERN)
    registry: str = Field(pattern=NAME_PATTERN)  # the registration system asked
    subject: NamedSubject
    purpose: str = Field(pattern=NAME_PATTERN)
    legal_basis: LegalBasis
    agreement: str = Field(pattern=NAME_PATTERN)
    categories: frozenset[DataCategory] = Field(min_length=1)
    case_reference: CaseReference
    justification: Justification
    # The reference of a best-interests determination, for a child (gateway/policy/children).
    best_interests: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
    )


class IndividualRecord(Canonical):
    """The answer to a specific request: the one person, as the registry holds them."""

    person: Person

    def subjects(self) -> list[Person]:
        return [self.person]

    def categories(self) -> frozenset[DataCategory]:
        return self.person.categories()

    def minimised(self, allowed: frozenset[DataCategory]) -> IndividualRecord:
        return self.model_copy(update={"person": self.person.minimised(allowed)})


BODY_FIELDS = frozenset(SpecificRequest.model_fields) - {"requester"}
"""What a request's body holds: every field but the requester, who is the caller."""
_PEOPLE = frozenset({"subjects", "persons", "people", "individuals", "list"})
_REASONS = {
    "identifier_scheme": "request.identifier",
    "identifier_shape": "request.identifier",
    "wildcard": "request.wildcard",
    "identifier_list": "request.not_individual",
    "several_people": "request.not_individual",
    "justification_short": "request.justification",
    "justification_boilerplate": "request.justification",
    "justification_repetition": "request.justification",
}
_FIELD_REASONS = {"subject": "request.identifier", "justification": "request.justification"}
CRITERIA = (
    "a request names one person by identifiers only; a search by other criteria (names, "
    f"dates, places, nationality) is answered only as aggregate statistics ({STATISTICS_ROUTE})"
)


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def _shown(key: str) -> str:
    """Name an unknown key in a problem if it looks like a field name; else not at all."""
    return key if _KEY.fullmatch(key) else "<unknown field>"


def read_request(body: dict[str, Any], requester: str) -> SpecificRequest:
    """Read a request's decoded body; raise InvalidInput listing every problem, with reasons.

    The reasons (`request.not_individual`, `request.criteria`, `request.wildcard`,
    `request.identifier`, `request.justification`, `request.invalid`) go into the exchange
    record; locations are `body.<field>`.
    """
    problems: list[Problem] = []
    reasons: set[str] = set()

    def refuse(where: str, reason: str, message: str) -> None:
        problems.append(Problem(f"body.{where}", message))
        reasons.add(reason)

    for key in sorted(set(body) - BODY_FIELDS):
        if key == "requester":
            refuse(key, "request.invalid", "the requester is the authenticated caller, not sent")
        elif key in _PEOPLE:
            refuse(key, "request.not_individual", "a request names exactly one person: subject")
        else:
            refuse(_shown(key), "request.criteria", CRITERIA)
    subject = body.get("subject")
    if subject is None:
        refuse("subject", "request.not_individual", "names nobody: name one person")
    elif isinstance(subject, list):
        refuse("subject", "request.not_individual", "names a list: a request names one person")
    elif isinstance(subject, dict):
        for key in sorted(set(subject) - {"identifiers"}):
            refuse(f"subject.{_shown(key)}", "request.criteria", CRITERIA)
        if subject.get("identifiers") in (None, []):
            refuse("subject.identifiers", "request.not_individual", "names nobody")
    fields = {k: v for k, v in body.items() if k in BODY_FIELDS}
    if isinstance(subject, dict):
        fields["subject"] = {k: v for k, v in subject.items() if k == "identifiers"}
    try:
        request = SpecificRequest.model_validate({**fields, "requester": requester})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            if not any(p.location == f"body.{where}" for p in problems):
                by_field = _FIELD_REASONS.get(str(error["loc"][0]), "request.invalid")
                refuse(where, _REASONS.get(error["type"], by_field), error["msg"])
        request = None
    if problems or request is None:
        raise InvalidInput("the specific request is invalid", problems, reasons=sorted(reasons))
    return request
