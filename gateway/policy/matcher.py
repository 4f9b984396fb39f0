"""The model's matchers compiled to an index: Casbin's answer without a scan of the rules.

Casbin evaluates a matcher against each rule in turn: `enforce_ex` is linear in the rules,
and rebuilds its expression on every call. The matchers accepted here are a conjunction of
terms of two shapes, which is what makes an index exact:

    g(r.X, p.Y)     the request's X is the rule's Y, or belongs to it through g lines
    r.X == p.Y      the request's X is the rule's Y (either order)

A rule fits a request iff, at every term, the rule's value is one the request allows there:
X itself for ==, X or one of X's groups for g. So the rules that fit are those whose key
(their values at the terms' positions) lies in the product of those candidates, a handful
for a system in a few groups; Casbin's answer, with effect some(where (p.eft == allow)), is
the first of them in the file. Any other term is refused at load and named: an index that
skipped a term would allow what the matcher forbids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from itertools import product
from operator import attrgetter, itemgetter
from typing import NamedTuple

from gateway.policy.loader import Rule

_GROUPED = re.compile(r"g\((?P<request>r_\w+),(?P<policy>p_\w+)\)")
_EQUAL = re.compile(
    r"(?P<request>r_\w+)==(?P<policy>p_\w+)|(?P<policy2>p_\w+)==(?P<request2>r_\w+)"
)
_SHAPES = "terms g(r.X, p.Y) or r.X == p.Y joined by &&"


class Term(NamedTuple):
    """One term of a matcher: which request field meets which policy field, and how."""

    grouped: bool  # g(r.X, p.Y); otherwise r.X == p.Y
    request: int  # X's position in the request
    policy: int  # Y's position in the rule's row


def compile_matcher(
    name: str,
    expression: str,
    request_tokens: Sequence[str],
    policy_tokens: Sequence[str],
    found: list[str],
) -> tuple[Term, ...]:
    """Read a matcher as Casbin holds it (`r_src` for r.src); append what is not understood."""
    terms: list[Term] = []
    for text in expression.split("&&"):
        term = "".join(text.split())
        fits = _GROUPED.fullmatch(term) or _EQUAL.fullmatch(term)
        if fits is None:
            shown = _dotted(text.strip()) or "(empty)"
            found.append(f"matcher {name}: {shown!r} is not understood; use {_SHAPES}")
            continue
        grouped = fits.re is _GROUPED
        request = fits["request"] if grouped else fits["request"] or fits["request2"]
        policy = fits["policy"] if grouped else fits["policy"] or fits["policy2"]
        unknown = [
            (token, known)
            for token, known in ((request, request_tokens), (policy, policy_tokens))
            if token not in known
        ]
        for token, known in unknown:
            fields = ", ".join(_dotted(t) for t in known)
            found.append(f"matcher {name}: {_dotted(token)} is not one of {fields}")
        if unknown:
            continue
        terms.append(Term(grouped, request_tokens.index(request), policy_tokens.index(policy)))
    return tuple(terms)


class MatcherIndex:
    """One matcher's rules by key: the first rule in file order for each key.

    Two levels: the values the == terms compare, then those the g terms do. A request whose
    message, purpose or basis no rule names is answered by one look-up.
    """

    def __init__(self, terms: tuple[Term, ...], rules: Sequence[Rule], fields: Sequence[str]):
        """Index `rules`; `fields` names the Rule attribute at each position of a row."""
        exact = [term for term in terms if not term.grouped]
        grouped = [term for term in terms if term.grouped]
        self._exact = _picker([term.request for term in exact])
        self._grouped = _picker([term.request for term in grouped])
        exact_of = _attributes([fields[term.policy] for term in exact])
        grouped_of = _attributes([fields[term.policy] for term in grouped])
        self._first: dict[tuple[str, ...], dict[tuple[str, ...], Rule]] = {}
        for rule in rules:
            self._first.setdefault(exact_of(rule), {}).setdefault(grouped_of(rule), rule)

    def first(self, request: Sequence[str], expansions: Mapping[str, Sequence[str]]) -> Rule | None:
        """Return the first rule the matcher fits to this request, as Casbin's enforce_ex does.

        `expansions` gives each name and all its groups. The work is one look-up per
        combination of the request's values and their groups: never a scan of the rules.
        """
        within = self._first.get(self._exact(request))
        if within is None:
            return None
        keys = product(*[expansions[name] for name in self._grouped(request)])
        found: Rule | None = None
        for rule in filter(None, map(within.get, keys)):  # in C: the loop sees only hits
            if found is None or rule.line < found.line:
                found = rule
        return found


def _dotted(text: str) -> str:
    """Write Casbin's escaped names (r_src) as the model does (r.src)."""
    return re.sub(r"\b([rp])_(?=\w)", r"\1.", text)


def _picker(positions: list[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """Return a function taking these positions of a request, as a tuple (of any length)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    return lambda row: tuple([row[position] for position in positions])


def _attributes(names: list[str]) -> Callable[[Rule], tuple[str, ...]]:
    """Return a function taking these attributes of a rule, as a tuple (of any length)."""
    if len(names) > 1:
        return attrgetter(*names)
    return lambda rule: tuple([getattr(rule, name) for name in names])
