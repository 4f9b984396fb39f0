"""Identifiers compared as their issuing scheme compares them.

Why: the gateway remembers a person, consents and risk countries included, under a keyed
hash of each identifier. "abc-123", "ABC 123" and "ABC123" are one proGres id, so they must
hash alike or a remembered country of origin is forgotten; a case-sensitive scheme's "aB1"
and "Ab1" are two people, so they must not, or one person's consent would serve another.
Rules are data, in gateway/canonical/data/identifier-schemes.yaml. Errors never repeat the value: an
identifier is personal data.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.canonical.datafile import invalid, load_yaml
from gateway.canonical.text import control_character
from gateway.errors import Problem

SCHEMES_FILE = "identifier-schemes.yaml"
_SHOWN = 64
"""How much of a scheme name an error repeats."""


class SchemeRule(BaseModel):
    """How one scheme compares values: whether case counts, which characters do not."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    case_sensitive: bool
    separators: str


class _Override(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    case_sensitive: bool | None = None
    separators: str | None = None


class _SchemesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    default: SchemeRule
    schemes: dict[str, _Override]


class IdentifierSchemes:
    """The rule of every listed scheme, and the default for the rest."""

    def __init__(self, default: SchemeRule, rules: dict[str, SchemeRule]) -> None:
        self.default = default
        self.rules = rules

    def rule(self, scheme: str) -> SchemeRule:
        """Return the rule of a scheme (as `scheme_key` writes it), else the default."""
        return self.rules.get(scheme, self.default)

    def normalise(self, scheme: str, value: str) -> tuple[str, str]:
        """Return (scheme, value) as the scheme compares them; ValueError if nothing is left."""
        key = scheme_key(scheme)
        rule = self.rule(key)
        text = unicodedata.normalize("NFKC", value)
        if code := control_character(text):
            raise ValueError(f"identifier of scheme {_shown(key)} holds control character {code}")
        dropped = set(rule.separators)
        kept = "".join(
            c for c in text if not (c.isspace() or c in dropped or unicodedata.category(c) == "Cf")
        )
        # Removing a space can leave a combining mark to compose anew: NFKC once more.
        kept = unicodedata.normalize("NFKC", kept if rule.case_sensitive else kept.upper())
        if not kept:
            raise ValueError(
                f"identifier of scheme {_shown(key)} is empty without spaces and separators"
            )
        return key, kept


def scheme_key(scheme: str) -> str:
    """Return a scheme name as schemes are compared: stripped, case-folded; ValueError if empty."""
    key = unicodedata.normalize("NFKC", scheme).strip().casefold()
    if code := control_character(key):
        raise ValueError(f"identifier scheme holds control character {code}")
    if not key:
        raise ValueError("identifier scheme is empty")
    return key


def _shown(scheme: str) -> str:
    """Quote a value for an error, control characters escaped, at most _SHOWN long."""
    quoted = repr(scheme)
    return quoted if len(quoted) <= _SHOWN else quoted[:_SHOWN] + "…"


def load_identifier_schemes(text: str | None = None) -> IdentifierSchemes:
    """Load data/identifier-schemes.yaml (or `text` in its place) and check every rule."""
    try:
        data = _SchemesFile.model_validate(load_yaml(SCHEMES_FILE, text))
    except ValidationError as exc:
        problems = [Problem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise invalid(SCHEMES_FILE, problems) from exc
    problems = _rule_problems("default", data.default)
    rules: dict[str, SchemeRule] = {}
    for name, override in data.schemes.items():
        rule = data.default.model_copy(update=override.model_dump(exclude_none=True))
        found = _rule_problems(f"schemes.{name}", rule)
        if not name or name != name.strip().casefold() or len(name) > 64:
            found.append(Problem(f"schemes.{name}", "a scheme is named in lower case, 1-64"))
        problems.extend(found)
        rules[name] = rule
    if problems:
        raise invalid(SCHEMES_FILE, problems)
    return IdentifierSchemes(data.default, rules)


def _rule_problems(where: str, rule: SchemeRule) -> list[Problem]:
    meaningful = sorted({c for c in rule.separators if c.isalnum()})
    if meaningful:
        # Removing a letter or a digit would make two identifiers one.
        return [Problem(where, f"separators hold letters or digits: {''.join(meaningful)}")]
    return []


@cache
def _shipped() -> IdentifierSchemes:
    return load_identifier_schemes()


def normalise_identifier(scheme: str, value: str) -> tuple[str, str]:
    """Return (scheme, value) as the issuing scheme compares them, by the shipped rules."""
    return _shipped().normalise(scheme, value)
