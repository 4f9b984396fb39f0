"""The frame of every console page: head, the bar at the top, messages, tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from gateway.console.markup import Child, Html, el

CSS = "/console/static/console.css"
SECTIONS = (
    ("exchanges", "/console/exchanges", "Exchanges"),
    ("subject", "/console/subject", "A person's disclosures"),
    ("denials", "/console/denials", "Denials"),
    ("transfers", "/console/transfers", "Transfers"),
    ("integrity", "/console/integrity", "Log integrity"),
)


def document(
    title: str, *body: Child, current: str | None = None, form_token: str | None = None
) -> Html:
    """Return a whole page; with a form token, the bar offers the sections and sign-out."""
    bar: list[Child] = [el("span", "Exchange gateway · DPO console", class_="brand")]
    if form_token is not None:
        bar.append(
            el(
                "nav",
                [
                    el("a", label, href=href, aria_current="page" if key == current else None)
                    for key, href, label in SECTIONS
                ],
                aria_label="Console sections",
            )
        )
        bar.append(
            el(
                "form",
                hidden("form_token", form_token),
                el("button", "Sign out", type="submit"),
                method="post",
                action="/console/logout",
            )
        )
    head = el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("title", f"{title} · DPO console"),
        el("link", rel="stylesheet", href=CSS),
    )
    page = el("body", el("header", bar, class_="top"), el("main", body))
    return Html("<!doctype html>\n" + el("html", head, page, lang="en"))


def hidden(name: str, value: str) -> Html:
    return el("input", type="hidden", name=name, value=value)


def problems(found: Sequence[str]) -> Html | None:
    """The problems with what was asked, or nothing."""
    if not found:
        return None
    return el(
        "div",
        el("strong", "This could not be shown as asked:"),
        el("ul", [el("li", p) for p in found]),
        class_="problem",
        role="alert",
    )


def empty(message: str) -> Html:
    return el("p", message, class_="empty")


def table(caption: str, head: Sequence[str | tuple[str, str]], rows: Iterable[Child]) -> Html:
    """A table in a scrolling frame; a heading given as (text, class) is classed so."""
    cells = [
        el("th", h, scope="col") if isinstance(h, str) else el("th", h[0], scope="col", class_=h[1])
        for h in head
    ]
    return el(
        "div",
        el("table", el("caption", caption), el("thead", el("tr", cells)), el("tbody", rows)),
        class_="table-wrap",
    )


def when(moment: dt.datetime) -> str:
    """A moment as the console shows it: UTC, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def decision(value: str) -> Html:
    return el("span", value, class_=f"decision decision-{value}")


def tags(values: Iterable[str]) -> Html:
    return el("span", [el("span", v, class_="tag") for v in values], class_="tags")


def dash(value: object) -> str:
    """A value, or an en dash for none."""
    return "–" if value is None or value == "" else str(value)
