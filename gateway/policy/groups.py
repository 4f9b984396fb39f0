"""The g lines as closures, computed once at load: a system's groups, a group's members.

Casbin answers `g(a, b)` by walking a's groups upwards on every call. Here each name's walk
is done once, at load, and kept: a decision then costs a dictionary look-up per system.

Casbin's default role manager stops after 9 g lines (`max_hierarchy_level=10` counts the
name itself): a group reached only through 10 or more would never fit, silently. Such a
policy is refused at load instead, so that the closures here and Casbin's `g` always agree.
Cycles are harmless: a walk never visits a name twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.errors import ConfigurationError, Problem
from gateway.policy.loader import POLICY_FILE, Grouping

CASBIN_DEPTH = 9
"""How many g lines Casbin's default role manager follows from a name (its level 10, minus 1)."""


class Expansions(dict[str, tuple[str, ...]]):
    """Each name, then every group it belongs to: the X that `g(name, X)` accepts.

    A dict, so that the index reads it without a Python call per name; a name no g line
    mentions expands to itself, without being stored (requests may name anything).
    """

    def __missing__(self, name: str) -> tuple[str, ...]:
        return (name,)


class Groups:
    """Every name's groups and every group's members, through any number of g lines."""

    def __init__(self, groupings: Iterable[Grouping]) -> None:
        parents: dict[str, dict[str, None]] = {}  # ordered sets: file order, no repeats
        line_of: dict[str, int] = {}
        for grouping in groupings:
            parents.setdefault(grouping.member, {})[grouping.group] = None
            line_of.setdefault(grouping.member, grouping.line)
        self.expansions = Expansions()
        self._members: dict[str, set[str]] = {}
        problems: list[Problem] = []
        for name in parents:
            reached, beyond = _walk(name, parents)
            self.expansions[name] = reached
            for group in reached[1:]:
                self._members.setdefault(group, set()).add(name)
            if beyond:
                message = (
                    f"{name} belongs to {beyond} only through more than {CASBIN_DEPTH} g lines; "
                    f"Casbin follows at most {CASBIN_DEPTH}, so no rule naming it would fit"
                )
                problems.append(Problem(f"{POLICY_FILE}:{line_of[name]}", message))
        if problems:
            listed = "; ".join(f"{p.location}: {p.message}" for p in problems)
            raise ConfigurationError(f"{POLICY_FILE} nests groups too deep: {listed}", problems)

    def expand(self, name: str) -> tuple[str, ...]:
        """Return the name, then each group it belongs to: the X that `g(name, X)` accepts."""
        return self.expansions[name]

    def groups_of(self, name: str) -> frozenset[str]:
        """Return every group a name belongs to, directly or through other groups."""
        return frozenset(self.expand(name)[1:])

    def members(self, name: str) -> frozenset[str]:
        """Return the name and every name that belongs to it: the systems a rule naming it fits."""
        return frozenset(self._members.get(name, ())).union((name,))


def _walk(name: str, parents: dict[str, dict[str, None]]) -> tuple[tuple[str, ...], str | None]:
    """Walk up from a name as far as Casbin does; say which group lies beyond, if any."""
    reached = {name: None}
    frontier = [name]
    for _ in range(CASBIN_DEPTH):
        following = []
        for member in frontier:
            for group in parents.get(member, ()):
                if group not in reached:
                    reached[group] = None
                    following.append(group)
        frontier = following
    beyond = next(
        (group for member in frontier for group in parents.get(member, ()) if group not in reached),
        None,
    )
    return tuple(reached), beyond
