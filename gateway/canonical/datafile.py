"""Data files of the canonical model: YAML in `gateway/canonical/data/`, refused loudly if broken.

Why a loader of our own: PyYAML keeps the last of two equal keys without a word, so a name
written twice in a security list (two codes for one country name) would pass unseen.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import yaml

from gateway.errors import ConfigurationError, Problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping key written twice."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[str] = set()
    for key_node, _ in node.value:
        # Keys are compared as written: the files' keys are plain names, never a list or a map.
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str) or key in seen:
            problem = "is written twice" if key in seen else "is not a plain key"
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"key {str(key)[:64]!r} {problem}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(name: str, text: str | None = None) -> Any:
    """Parse `name` from gateway/canonical/data/, or `text` in its place (a test's broken file)."""
    if text is None:
        text = files("gateway.canonical").joinpath("data", name).read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        raise invalid(name, [Problem(name, f"not valid YAML: {exc}")]) from exc


def invalid(name: str, problems: list[Problem]) -> ConfigurationError:
    """Return the error for a broken data file, every problem listed."""
    listed = "; ".join(f"{p.location}: {p.message}" for p in problems)
    return ConfigurationError(f"gateway/canonical/data/{name} is invalid: {listed}", problems)
