"""Agreements: the registry of what parties agreed to exchange, and the check that one covers
an exchange.

Why: no system exchanges anything without an agreement that covers it. A Casbin rule says
which message may flow between which systems; an agreement is the legal instrument behind
it: its parties, purposes, data categories, legal bases, validity period, onward-transfer
conditions and whether the DPO must approve each transfer. Agreements are data
(`policies/agreements.toml`), versioned: a version is never edited, a new one is added, and
every decision cites the version it relied on ("id@v2").

    [[agreement]]
    id = "birth-registration-jor"       # the envelope's X-Exchange-Agreement names it
    version = 1
    title = "Birth registration of refugee children"
    parties = ["registration-authority", "civil-registry"]   # systems or policy groups
    purposes = ["birth-registration"]
    categories = ["identity", "nationality", "identifiers", "family", "birth"]
    legal_bases = ["consent", "public-interest"]
    valid_from = 2024-01-01
    valid_until = 2028-01-01             # optional; exclusive
    onward_transfer = "forbidden"        # forbidden | with-consent | same-terms
    dpo_approval = false                 # true: every transfer waits for the DPO
    origin_exceptions = []               # "return", "nationality-documents" (see engine)
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from gateway.canonical import NAME_PATTERN, DataCategory, Envelope, LegalBasis
from gateway.errors import ConfigurationError, Problem
from gateway.policy.model import RuleFired, categories_text

AGREEMENTS_FILE = "agreements.toml"
# The exchange record holds "id@vN" in 64 characters: ids leave room for the version.
ID_LENGTH = 56
AGREEMENT_RULE = "no exchange without an agreement that covers it"
_NAME = re.compile(NAME_PATTERN)
E = TypeVar("E", bound=StrEnum)
_ID = re.compile(rf"^[a-z0-9][a-z0-9._-]{{0,{ID_LENGTH - 1}}}$")


class OnwardTransfer(StrEnum):
    """What the recipient may do with the data beyond the agreed purpose."""

    FORBIDDEN = "forbidden"
    WITH_CONSENT = "with-consent"
    SAME_TERMS = "same-terms"


class OriginException(StrEnum):
    """The two narrow exceptions to the origin block an agreement may open (engine settings
    must allow them too, and the DPO must approve each transfer)."""

    RETURN = "return"
    NATIONALITY_DOCUMENTS = "nationality-documents"


@dataclass(frozen=True)
class Agreement:
    """One version of one agreement."""

    id: str
    version: int
    title: str
    parties: frozenset[str]
    purposes: frozenset[str]
    categories: frozenset[DataCategory]
    legal_bases: frozenset[LegalBasis]
    valid_from: dt.date
    valid_until: dt.date | None
    onward_transfer: OnwardTransfer
    dpo_approval: bool
    origin_exceptions: frozenset[OriginException]

    @property
    def citation(self) -> str:
        """Return how a decision cites this version: 'id@v2'."""
        return f"{self.id}@v{self.version}"

    def in_force(self, at: dt.datetime) -> bool:
        day = at.astimezone(dt.UTC).date()
        return self.valid_from <= day and (self.valid_until is None or day < self.valid_until)


@dataclass(frozen=True)
class AgreementCheck:
    """The agreement in force that covers an exchange, or the reason codes why none does."""

    agreement: Agreement | None
    reasons: tuple[str, ...]
    trace: tuple[RuleFired, ...]


GroupsOf = Callable[[str], frozenset[str]]


class AgreementBook:
    """Every version of every agreement, looked up by id; immutable once loaded."""

    def __init__(self, agreements: Iterable[Agreement]) -> None:
        versions: dict[str, list[Agreement]] = {}
        for agreement in agreements:
            versions.setdefault(agreement.id, []).append(agreement)
        self._versions = {
            key: tuple(sorted(found, key=lambda a: a.version)) for key, found in versions.items()
        }

    def __len__(self) -> int:
        return len(self._versions)

    def versions(self, agreement_id: str) -> tuple[Agreement, ...]:
        """Return an agreement's versions, oldest first (empty if unknown)."""
        return self._versions.get(agreement_id, ())

    def all(self) -> tuple[Agreement, ...]:
        """Return every version of every agreement, by id then version."""
        return tuple(a for key in sorted(self._versions) for a in self._versions[key])

    def current(self, agreement_id: str, at: dt.datetime) -> Agreement | None:
        """Return the newest version in force at `at`, or None."""
        live = [a for a in self.versions(agreement_id) if a.in_force(at)]
        return live[-1] if live else None

    def check(
        self,
        envelope: Envelope,
        categories: frozenset[DataCategory],
        groups_of: GroupsOf,
        at: dt.datetime,
    ) -> AgreementCheck:
        """Find the agreement in force covering this exchange; the envelope may name it.

        Named: it must exist, be in force and cover the exchange. Not named: exactly one
        agreement in force may cover it (two would make the choice a hidden policy).
        """
        source = {envelope.source, *groups_of(envelope.source)}
        destination = {envelope.destination, *groups_of(envelope.destination)}
        if envelope.agreement is not None:
            return self._check_named(envelope, categories, source, destination, at)
        covering = [
            agreement
            for key in sorted(self._versions)
            if (agreement := self.current(key, at)) is not None
            and not _gaps(agreement, envelope, categories, source, destination)
        ]
        if len(covering) == 1:
            return _covered(covering[0], envelope)
        if covering:
            named = ", ".join(a.citation for a in covering)
            detail = f"several agreements cover it ({named}); the envelope must name one"
            return _refused("agreement.ambiguous", detail)
        detail = (
            f"no agreement in force covers {envelope.source} -> {envelope.destination} "
            f"for {envelope.purpose} under {envelope.legal_basis.value}"
        )
        return _refused("agreement.missing", detail)

    def _check_named(
        self,
        envelope: Envelope,
        categories: frozenset[DataCategory],
        source: set[str],
        destination: set[str],
        at: dt.datetime,
    ) -> AgreementCheck:
        name = envelope.agreement
        assert name is not None
        versions = self.versions(name)
        if not versions:
            return _refused("agreement.unknown", f"no agreement {name!r} is registered")
        agreement = self.current(name, at)
        if agreement is None:
            latest = versions[-1]
            detail = f"{latest.citation} is not in force on {at.date().isoformat()}"
            return _refused("agreement.inactive", detail)
        gaps = _gaps(agreement, envelope, categories, source, destination)
        if gaps:
            reason, detail = gaps[0]
            return _refused(reason, f"{agreement.citation}: {detail}")
        return _covered(agreement, envelope)


def _gaps(
    agreement: Agreement,
    envelope: Envelope,
    categories: frozenset[DataCategory],
    source: set[str],
    destination: set[str],
) -> list[tuple[str, str]]:
    """Return what the agreement does not cover, as (reason, detail), first the most basic."""
    gaps = []
    if not (source & agreement.parties and destination & agreement.parties):
        gaps.append(("agreement.parties", "the two systems are not both parties to it"))
    if envelope.purpose not in agreement.purposes:
        gaps.append(("agreement.purpose", f"it does not cover the purpose {envelope.purpose}"))
    if envelope.legal_basis not in agreement.legal_bases:
        basis = envelope.legal_basis.value
        gaps.append(("agreement.legal_basis", f"it does not rest on the basis {basis}"))
    if not categories & agreement.categories:
        gaps.append(("agreement.categories", "it covers none of the categories allowed"))
    return gaps


def _covered(agreement: Agreement, envelope: Envelope) -> AgreementCheck:
    detail = (
        f"{agreement.citation} covers {envelope.purpose} under {envelope.legal_basis.value}: "
        f"{categories_text(agreement.categories)}; onward transfer "
        f"{agreement.onward_transfer.value}"
    )
    return AgreementCheck(agreement, (), (RuleFired("agreement", AGREEMENT_RULE, "allow", detail),))


def _refused(reason: str, detail: str) -> AgreementCheck:
    return AgreementCheck(
        None, (reason,), (RuleFired("agreement", AGREEMENT_RULE, "deny", detail),)
    )


def parse_agreements(text: str) -> tuple[Agreement, ...]:
    """Parse `agreements.toml`; raise listing every problem, each with its entry."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error([Problem(AGREEMENTS_FILE, f"not TOML: {exc}")]) from exc
    unknown = sorted(set(document) - {"agreement"})
    problems = [Problem(AGREEMENTS_FILE, f"unknown table {key!r}") for key in unknown]
    entries = document.get("agreement", [])
    if not isinstance(entries, list):
        raise _error([Problem(AGREEMENTS_FILE, "'agreement' must be an array of tables")])
    agreements: list[Agreement] = []
    seen: set[tuple[str, int]] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{AGREEMENTS_FILE}:agreement[{number}]"
        found: list[str] = []
        agreement = _parse_entry(entry, found) if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            found.append("each agreement must be a table")
        if agreement is not None and not found:
            key = (agreement.id, agreement.version)
            if key in seen:
                found.append(f"{agreement.citation} is defined twice; add a new version instead")
            seen.add(key)
            agreements.append(agreement)
        problems.extend(Problem(where, message) for message in found)
    if problems:
        raise _error(problems)
    return tuple(agreements)


_FIELDS = {
    "id",
    "version",
    "title",
    "parties",
    "purposes",
    "categories",
    "legal_bases",
    "valid_from",
    "valid_until",
    "onward_transfer",
    "dpo_approval",
    "origin_exceptions",
}


def _parse_entry(entry: dict[str, Any], found: list[str]) -> Agreement | None:
    for key in sorted(set(entry) - _FIELDS):
        found.append(f"unknown field {key!r}")
    agreement_id = entry.get("id")
    if not isinstance(agreement_id, str) or not _ID.match(agreement_id):
        found.append(
            f"id must be a name of at most {ID_LENGTH} characters "
            "(lower case letters, digits, '.', '_', '-')"
        )
    version = entry.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        found.append("version must be a whole number from 1")
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        found.append("title must be a non-empty text of at most 200 characters")
    parties = _names(entry, "parties", found)
    if len(parties) < 2:
        found.append("parties must name at least two systems or groups")
    purposes = _names(entry, "purposes", found)
    categories = _enums(entry, "categories", DataCategory, found)
    bases = _enums(entry, "legal_bases", LegalBasis, found)
    exceptions = _enums(entry, "origin_exceptions", OriginException, found, required=False)
    valid_from = entry.get("valid_from")
    valid_until = entry.get("valid_until")
    if not _is_date(valid_from):
        found.append("valid_from must be a date (YYYY-MM-DD)")
    if valid_until is not None and not _is_date(valid_until):
        found.append("valid_until must be a date (YYYY-MM-DD) when given")
    if (
        isinstance(valid_from, dt.date)
        and isinstance(valid_until, dt.date)
        and valid_until <= valid_from
    ):
        found.append("valid_until must be after valid_from")
    onward: OnwardTransfer | None = None
    try:
        onward = OnwardTransfer(str(entry.get("onward_transfer")))
    except ValueError:
        known = ", ".join(o.value for o in OnwardTransfer)
        found.append(f"onward_transfer must be one of: {known}")
    approval = entry.get("dpo_approval", False)
    if not isinstance(approval, bool):
        found.append("dpo_approval must be true or false")
    if found or onward is None:
        return None
    # Checked above; the asserts tell the type checker.
    assert isinstance(agreement_id, str) and isinstance(version, int)
    assert isinstance(title, str) and isinstance(valid_from, dt.date)
    return Agreement(
        id=agreement_id,
        version=version,
        title=title.strip(),
        parties=parties,
        purposes=purposes,
        categories=categories,
        legal_bases=bases,
        valid_from=valid_from,
        valid_until=valid_until,
        onward_transfer=onward,
        dpo_approval=approval,
        origin_exceptions=exceptions,
    )


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _list(entry: dict[str, Any], key: str, found: list[str], required: bool) -> list[Any]:
    value = entry.get(key, None if required else [])
    if not isinstance(value, list) or (required and not value):
        found.append(f"{key} must be a {'non-empty ' if required else ''}list")
        return []
    return value


def _names(entry: dict[str, Any], key: str, found: list[str]) -> frozenset[str]:
    values = _list(entry, key, found, required=True)
    bad = [v for v in values if not isinstance(v, str) or not _NAME.match(v)]
    if bad:
        found.append(f"{key} holds {len(bad)} value(s) that are not names")
    return frozenset(v for v in values if isinstance(v, str) and _NAME.match(v))


def _enums(
    entry: dict[str, Any], key: str, kind: type[E], found: list[str], required: bool = True
) -> frozenset[E]:
    chosen: set[E] = set()
    for value in _list(entry, key, found, required):
        try:
            chosen.add(kind(value))
        except ValueError:
            known = ", ".join(member.value for member in kind)
            found.append(f"{key}: unknown value {value!r}; known: {known}")
    return frozenset(chosen)


def _error(problems: list[Problem]) -> ConfigurationError:
    listed = "; ".join(f"{p.location}: {p.message}" for p in problems)
    return ConfigurationError(f"{AGREEMENTS_FILE} is invalid: {listed}", problems)
