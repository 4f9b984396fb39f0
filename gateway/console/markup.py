"""HTML built from parts, every value escaped unless it is already markup.

Why not templates: the pages are small, and a builder that escapes by default leaves no place
where a value from a record, a query or a form could be written raw. `Html` is markup the
console built itself; anything else given to `el` (a system id, a reason, a value typed into a
form) is text, and escaped, in content and in attribute values alike.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Union

Child = Union["Html", str, int, float, None, Iterable["Child"]]
AttrValue = str | int | float | bool | None

VOID = frozenset({"br", "col", "hr", "img", "input", "link", "meta"})
"""HTML elements written without a closing tag."""
_SVG_EMPTY = frozenset({"rect", "line", "path"})
"""SVG elements written self-closed."""


class Html(str):
    """Markup the console built: written as it is, never escaped again."""

    __slots__ = ()


def text(value: object) -> Html:
    """Return a value as escaped text (quotes too, so it is safe in an attribute)."""
    return Html(html.escape(str(value), quote=True))


def render(child: Child) -> Html:
    """Return a child as markup: markup as it is, text escaped, None as nothing, lists joined."""
    if child is None:
        return Html("")
    if isinstance(child, Html):
        return child
    if isinstance(child, str | int | float):
        return text(child)
    return Html("".join(render(c) for c in child))


def _attribute(name: str, value: AttrValue) -> str:
    name = name.rstrip("_").replace("_", "-")  # class_ -> class, aria_label -> aria-label
    if value is True:
        return f" {name}"
    return f' {name}="{text(value)}"'


def el(tag: str, *children: Child, **attrs: AttrValue) -> Html:
    """Return an element; attributes that are None or False are left out, True is bare."""
    shown = "".join(_attribute(k, v) for k, v in attrs.items() if v is not None and v is not False)
    if tag in _SVG_EMPTY and not children:
        return Html(f"<{tag}{shown}/>")
    if tag in VOID:
        return Html(f"<{tag}{shown}>")
    return Html(f"<{tag}{shown}>{render(children)}</{tag}>")
