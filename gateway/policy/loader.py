"""Read and validate the policy files: the Casbin model, the rules (CSV) and the agreements.

Why validate here rather than let Casbin read the CSV: Casbin's file adapter silently skips
lines of an unknown type and only notices a wrong field count when a request reaches that
line. A broken policy must fail at start-up, naming every bad line.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from gateway.canonical import NAME_PATTERN, DataCategory, LegalBasis
from gateway.errors import ConfigurationError, Problem
from gateway.policy.agreements import AGREEMENTS_FILE, Agreement, parse_agreements
from gateway.policy.model import categories_text

MODEL_FILE = "model.conf"
POLICY_FILE = "default.csv"

# The same shape Envelope requires of system ids, message types and purposes: a name that
# could never appear in an envelope could never match, so it is a typo.
_NAME = re.compile(NAME_PATTERN)
_P_FIELDS = ("source", "destination", "message type", "purpose", "legal basis", "categories")


@dataclass(frozen=True)
class Rule:
    """One `p` line: who may send which message to whom, why, under which basis, what data."""

    line: int
    source: str
    destination: str
    message_type: str
    purpose: str
    basis: LegalBasis
    categories: frozenset[DataCategory]

    @cached_property
    def row(self) -> tuple[str, ...]:
        """Return the rule as Casbin holds it."""
        return (
            self.source,
            self.destination,
            self.message_type,
            self.purpose,
            self.basis.value,
            categories_text(self.categories),
        )

    @cached_property
    def text(self) -> str:
        """Return the rule as a policy line, for traces and the audit record."""
        return "p, " + ", ".join(self.row)


@dataclass(frozen=True)
class Grouping:
    """One `g` line: a system (or group) belongs to a group."""

    line: int
    member: str
    group: str


@dataclass(frozen=True)
class PolicyFiles:
    """The validated content of one policy directory, and its version."""

    model_text: str
    rules: tuple[Rule, ...]
    groupings: tuple[Grouping, ...]
    version: str
    agreements: tuple[Agreement, ...] = ()


def policy_version(model: bytes, policy: bytes, agreements: bytes) -> str:
    """Return a digest of the exact policy files' bytes, e.g. 'sha256:0123456789abcdef'."""
    digest = hashlib.sha256()
    for name, data in ((MODEL_FILE, model), (POLICY_FILE, policy), (AGREEMENTS_FILE, agreements)):
        digest.update(f"{name}\n{len(data)}\n".encode())
        digest.update(data)
    return "sha256:" + digest.hexdigest()[:16]


def read_policy(directory: str | os.PathLike[str] | None = None) -> PolicyFiles:
    """Read the shipped `policies` package, or a directory, and validate every line."""
    base: Traversable = files("policies") if directory is None else Path(directory)
    where = "the policies package" if directory is None else os.fspath(directory)
    contents: dict[str, bytes] = {}
    problems: list[Problem] = []
    for name in (MODEL_FILE, POLICY_FILE, AGREEMENTS_FILE):
        try:
            contents[name] = base.joinpath(name).read_bytes()
        except OSError as exc:
            problems.append(Problem(name, f"cannot read from {where}: {exc.strerror or exc}"))
    if problems:
        raise _error(f"policy files missing in {where}", problems)
    texts = {name: _decode(name, data) for name, data in contents.items()}
    rules, groupings = parse_policy(texts[POLICY_FILE])
    return PolicyFiles(
        model_text=texts[MODEL_FILE],
        rules=rules,
        groupings=groupings,
        version=policy_version(
            contents[MODEL_FILE], contents[POLICY_FILE], contents[AGREEMENTS_FILE]
        ),
        agreements=parse_agreements(texts[AGREEMENTS_FILE]),
    )


def parse_policy(text: str) -> tuple[tuple[Rule, ...], tuple[Grouping, ...]]:
    """Parse policy CSV lines; `#` starts a comment line. Raise listing every bad line."""
    rules: list[Rule] = []
    groupings: list[Grouping] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, *values = [value.strip() for value in line.split(",")]
        where = f"{POLICY_FILE}:{number}"
        found: list[str] = []
        if kind == "p":
            rule = _parse_rule(number, values, found)
            if rule is not None and not found:
                rules.append(rule)
        elif kind == "g":
            grouping = _parse_grouping(number, values, found)
            if grouping is not None and not found:
                groupings.append(grouping)
        else:
            found.append(f"unknown line type {kind!r}: expected 'p' or 'g'")
        problems.extend(Problem(where, message) for message in found)
    if problems:
        raise _error(f"{POLICY_FILE} is invalid", problems)
    return tuple(rules), tuple(groupings)


def _parse_rule(number: int, values: list[str], found: list[str]) -> Rule | None:
    if len(values) != len(_P_FIELDS):
        found.append(f"a p line has {len(_P_FIELDS)} fields after 'p', found {len(values)}")
        return None
    source, destination, message_type, purpose, basis_text, categories_field = values
    for label, value in zip(_P_FIELDS[:4], values[:4], strict=True):
        _check_name(label, value, found)
    basis = _BASES.get(basis_text)
    if basis is None:
        known = ", ".join(b.value for b in LegalBasis)
        found.append(f"unknown legal basis {basis_text!r}; known: {known}")
    categories, unknown = _categories(categories_field)
    found.extend(unknown)
    if found or basis is None:
        return None
    return Rule(number, source, destination, message_type, purpose, basis, categories)


# Looked up, not constructed: a policy of 100,000 rules names a handful of bases and
# category sets, and building enum members line by line was most of its load time.
_BASES = {basis.value: basis for basis in LegalBasis}
_CATEGORIES = {category.value: category for category in DataCategory}


@lru_cache(maxsize=65536)  # a large policy names the same systems and groups again and again
def _is_name(value: str) -> bool:
    return _NAME.match(value) is not None


@lru_cache(maxsize=1024)
def _categories(field: str) -> tuple[frozenset[DataCategory], tuple[str, ...]]:
    """Return the categories of a `|`-separated field, and a problem for each unknown one."""
    chosen: set[DataCategory] = set()
    unknown: list[str] = []
    for part in (p.strip() for p in field.split("|")):
        if part in _CATEGORIES:
            chosen.add(_CATEGORIES[part])
        else:
            known = ", ".join(c.value for c in DataCategory)
            unknown.append(f"unknown category {part!r}; known: {known}")
    return frozenset(chosen), tuple(unknown)


def _parse_grouping(number: int, values: list[str], found: list[str]) -> Grouping | None:
    if len(values) != 2:
        found.append(f"a g line has 2 fields after 'g' (member, group), found {len(values)}")
        return None
    member, group = values
    _check_name("member", member, found)
    _check_name("group", group, found)
    if member == group:
        found.append(f"{member!r} cannot be its own group")
    return Grouping(number, member, group)


def _check_name(label: str, value: str, found: list[str]) -> None:
    if not _is_name(value):
        found.append(f"{label} {value!r} is not a name (lower case letters, digits, '.', '_', '-')")


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(f"{name} is not UTF-8", [Problem(name, str(exc))]) from exc


def _error(title: str, problems: list[Problem]) -> ConfigurationError:
    listed = "; ".join(f"{p.location}: {p.message}" for p in problems)
    return ConfigurationError(f"{title}: {listed}", problems)
