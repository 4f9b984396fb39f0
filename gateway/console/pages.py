"""The console's pages: sign-in, exchanges, and one person's disclosures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateway.audit.service import ExchangeStatus
from gateway.canonical.identifiers import load_identifier_schemes
from gateway.console.layout import (
    dash,
    decision,
    document,
    empty,
    hidden,
    problems,
    table,
    tags,
    when,
)
from gateway.console.markup import Child, Html, el
from gateway.policy.reasons import in_words

DECISIONS = ("allowed", "denied", "invalid")
EXCHANGE_COLUMNS = (
    "Recorded",
    "Recipient",
    "What and why",
    "Decision",
    "Rule · policy",
    "Data categories",
    ("Subjects", "num"),
)
KNOWN_SCHEMES = tuple(sorted(load_identifier_schemes().rules))
"""The schemes canonical/data/identifier-schemes.yaml names: offered, not imposed, in the form."""


def login(message: str | None = None, signed_out: bool = False) -> Html:
    """The sign-in page; `message` says why the last attempt failed."""
    notes: list[Child] = []
    if signed_out:
        notes.append(el("p", "You are signed out.", class_="notice", role="status"))
    if message:
        notes.append(el("p", message, class_="problem", role="alert"))
    form = el(
        "form",
        el(
            "label",
            "Data protection officer's token",
            el(
                "input",
                type="password",
                name="token",
                required=True,
                autocomplete="off",
                autofocus=True,
                spellcheck="false",
            ),
        ),
        el("button", "Sign in", type="submit", class_="primary"),
        method="post",
        action="/console/login",
    )
    hint = el(
        "p",
        "Paste the token from the gateway's data directory (dpo.token) or GATEWAY_DPO_TOKEN. "
        "The administrator's token and the systems' credentials do not open the console.",
        class_="hint",
    )
    card = el("div", el("h1", "Sign in"), notes, form, hint, class_="card login")
    return document("Sign in", card)


def exchange_row(x: ExchangeStatus) -> Html:
    """One exchange, metadata only: who got what kind of data, when, why, under which rule."""
    shown = x.reasons if x.decision != "allowed" else []
    reasons = [el("span", in_words(r), class_="sub", title=r) for r in shown]
    return el(
        "tr",
        el("td", when(x.recorded_at), el("code", x.exchange_id, class_="sub"), class_="when"),
        el(
            "td",
            el("strong", dash(x.destination), class_="name"),
            el(
                "span",
                f"state {dash(x.destination_jurisdiction)} · from {dash(x.source)}",
                class_="sub",
            ),
        ),
        el(
            "td",
            dash(x.message_type),
            el("span", f"for {dash(x.purpose)}, under {dash(x.legal_basis)}", class_="sub"),
            class_="what",
        ),
        el("td", decision(x.decision), reasons, _delivery(x), class_="verdict-cell"),
        el(
            "td",
            el("span", dash(x.policy_rule), class_="rule"),
            el("span", dash(x.policy_version), class_="sub"),
        ),
        el("td", tags(x.categories) if x.categories else "–", class_="categories"),
        el("td", str(len(x.subjects)), class_="num"),
    )


def _delivery(x: ExchangeStatus) -> Html | None:
    if x.delivery is None:
        return None
    return el("span", f"delivery: {x.delivery.status}", class_="sub")


def exchange_table(caption: str, exchanges: Sequence[ExchangeStatus]) -> Html:
    return table(caption, EXCHANGE_COLUMNS, [exchange_row(x) for x in exchanges])


def _field(label: str, name: str, value: str, **attrs: str | bool | None) -> Html:
    return el("label", label, el("input", name=name, value=value, **attrs))


def _decision_field(chosen: str) -> Html:
    options = [el("option", "any", value="", selected=not chosen)]
    options += [el("option", d, value=d, selected=d == chosen) for d in DECISIONS]
    return el("label", "Decision", el("select", options, name="decision"))


def exchanges(
    form_token: str,
    filters: Mapping[str, str],
    found: Sequence[ExchangeStatus] | None,
    next_url: str | None,
    trouble: Sequence[str] = (),
) -> Html:
    """The exchanges page: the filter form, then a page of exchanges, newest first."""
    get = filters.get
    form = el(
        "form",
        _field("Recipient", "recipient", get("recipient", ""), placeholder="e.g. crvs-national"),
        _field(
            "Recipient's state", "jurisdiction", get("jurisdiction", ""), placeholder="e.g. KEN"
        ),
        _field("Purpose", "purpose", get("purpose", ""), placeholder="e.g. birth-registration"),
        _decision_field(get("decision", "")),
        _field("Since (UTC)", "since", get("since", ""), type="date"),
        _field("Until (UTC, inclusive)", "until", get("until", ""), type="date"),
        el("button", "Filter", type="submit"),
        el("a", "Clear", href="/console/exchanges"),
        method="get",
        action="/console/exchanges",
        class_="filters card",
    )
    body: list[Child] = [
        el("h1", "Exchanges"),
        el(
            "p",
            "Every attempt to send records, allowed, denied or invalid, newest first. Metadata "
            "only: subjects are counted, never named.",
            class_="lead",
        ),
        form,
        problems(trouble),
    ]
    if found is not None:
        if found:
            body.append(exchange_table("Exchanges, newest first", found))
        else:
            body.append(empty("No exchange matches these filters."))
    if next_url:
        body.append(el("p", el("a", "Older exchanges →", href=next_url), class_="pager"))
    return document("Exchanges", body, current="exchanges", form_token=form_token)


def subject(
    form_token: str,
    scheme: str = "",
    value: str = "",
    found: Sequence[ExchangeStatus] | None = None,
    next_cursor: str | None = None,
    trouble: Sequence[str] = (),
) -> Html:
    """A person's disclosure history, looked up by an identifier sent in a POST body only."""
    form = el(
        "form",
        hidden("form_token", form_token),
        el(
            "label",
            "Identifier scheme",
            el("input", name="scheme", value=scheme, list="schemes", required=True),
        ),
        el("datalist", [el("option", value=s) for s in KNOWN_SCHEMES], id="schemes"),
        el(
            "label",
            "Identifier",
            el("input", name="value", value=value, required=True, autocomplete="off"),
        ),
        el("button", "Show disclosures", type="submit"),
        method="post",
        action="/console/subject",
        class_="filters card",
    )
    body: list[Child] = [
        el("h1", "A person's disclosures"),
        el(
            "p",
            "Who received what about one person, when, why and under which rule: every exchange "
            "whose subjects include this identifier's pseudonym. The identifier is not kept, "
            "logged or put in an address.",
            class_="lead",
        ),
        form,
        problems(trouble),
    ]
    if found is not None:
        caption = f"Exchanges about {scheme} {value}, newest first"
        body.append(
            exchange_table(caption, found)
            if found
            else empty("No exchange about this person is recorded.")
        )
    if next_cursor:
        more = el(
            "form",
            hidden("form_token", form_token),
            hidden("scheme", scheme),
            hidden("value", value),
            hidden("cursor", next_cursor),
            el("button", "Older exchanges →", type="submit", class_="primary"),
            method="post",
            action="/console/subject",
        )
        body.append(el("div", more, class_="pager"))
    return document("A person's disclosures", body, current="subject", form_token=form_token)
