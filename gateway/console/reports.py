"""The console's reports: log integrity, transfers per recipient over time, denials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from gateway.audit.log import Integrity
from gateway.audit.views import DenialReport
from gateway.console import chart
from gateway.console.layout import dash, document, empty, problems, table, when
from gateway.console.markup import Child, Html, el
from gateway.console.pages import exchange_table

BUCKETS = {"day": ("Day", 1), "week": ("Week", 7)}


def integrity(form_token: str, found: Integrity) -> Html:
    """The latest signed checkpoint, and what checking the stored log against it found."""
    if found.checkpoint is None:
        verdict = el(
            "p",
            "Nothing is sealed in the log yet: there is no checkpoint to check.",
            class_="verdict verdict-none",
            role="status",
        )
    elif found.verified:
        verdict = el(
            "p",
            f"Verified: the stored log's {found.size} entries are exactly those its latest "
            "signed checkpoint vouches for.",
            class_="verdict verdict-ok",
            role="status",
        )
    else:
        verdict = el(
            "div",
            el("p", "NOT verified: the stored log does not match its latest signed checkpoint."),
            el("p", found.problem or "no reason was given"),
            class_="verdict verdict-bad",
            role="alert",
        )
    origin = found.checkpoint.split("\n", 1)[0] if found.checkpoint else None
    facts = el(
        "dl",
        _fact("Checked at", when(found.checked_at)),
        _fact("Log origin", origin or "–"),
        _fact("Size (entries)", str(found.size)),
        _fact("Root hash (SHA-256)", el("code", found.root or "–")),
        _fact(
            "Signed by key ids",
            [el("code", k) for k in found.key_ids] if found.key_ids else "–",
        ),
        class_="facts",
    )
    card: list[Child] = [el("h2", "Latest signed checkpoint"), facts]
    if found.checkpoint is not None:
        card.append(el("pre", found.checkpoint, class_="note", aria_label="The signed note"))
    body = [
        el("h1", "Log integrity"),
        el(
            "p",
            "Every exchange record is a leaf of an append-only Merkle tree whose root the "
            "gateway signs. This page checks every stored leaf against the latest signed "
            "checkpoint, now; a copy of the log and its public keys let anyone check it again, "
            "without trusting the gateway.",
            class_="lead",
        ),
        verdict,
        el("section", card, class_="card"),
    ]
    return document("Log integrity", body, current="integrity", form_token=form_token)


def _fact(term: str, *detail: Child) -> Html:
    return Html(el("dt", term) + el("dd", detail))


def period_form(action: str, filters: Mapping[str, str], with_bucket: bool) -> Html:
    """The since/until (and day/week) form of a report."""
    get = filters.get
    fields: list[Child] = [
        el("label", "Since (UTC)", el("input", type="date", name="since", value=get("since", ""))),
        el(
            "label",
            "Until (UTC, inclusive)",
            el("input", type="date", name="until", value=get("until", "")),
        ),
    ]
    if with_bucket:
        chosen = get("bucket", "day")
        options = [
            el("option", label, value=key, selected=key == chosen)
            for key, (label, _) in BUCKETS.items()
        ]
        fields.append(el("label", "Per", el("select", options, name="bucket")))
    return el(
        "form",
        fields,
        el("button", "Show", type="submit"),
        method="get",
        action=action,
        class_="filters card",
    )


def transfers(
    form_token: str,
    filters: Mapping[str, str],
    points: Sequence[chart.Point] | None,
    shown: Sequence[dt.date] = (),
    trouble: Sequence[str] = (),
) -> Html:
    """Allowed transfers per recipient per day or week: a chart and the same figures as a table."""
    label, step = BUCKETS.get(filters.get("bucket", "day"), BUCKETS["day"])
    body: list[Child] = [
        el("h1", "Transfers per recipient"),
        el(
            "p",
            "How many exchanges each recipient was sent (allowed exchanges), per "
            f"{label.lower()}. Without dates: the last 30 days.",
            class_="lead",
        ),
        period_form("/console/transfers", filters, with_bucket=True),
        problems(trouble),
    ]
    if points is not None:
        if points:
            title = f"Transfers per recipient per {label.lower()}"
            body.append(
                el(
                    "div",
                    chart.bar_chart(points, shown, title),
                    chart.legend(points),
                    class_="card chart-card",
                )
            )
            body.append(_transfer_table(points, step, label))
            if shown and min(p.period for p in points) < shown[0]:
                body.append(
                    el("p", f"The chart shows the last {len(shown)} periods.", class_="sub")
                )
        else:
            body.append(empty("No transfer was made in this period."))
    return document("Transfers", body, current="transfers", form_token=form_token)


def _transfer_table(points: Sequence[chart.Point], step: int, label: str) -> Html:
    names = chart.recipients_of(points)
    counts = {(p.period, p.recipient): p.count for p in points}
    rows = [
        el(
            "tr",
            el("th", _period(period, step), scope="row"),
            [el("td", str(counts.get((period, n), 0)), class_="num") for n in names],
            el("td", str(sum(counts.get((period, n), 0) for n in names)), class_="num"),
        )
        for period in sorted({p.period for p in points})
    ]
    head: list[str | tuple[str, str]] = [label, *[(n, "num") for n in names], ("Total", "num")]
    caption = f"The chart's figures ({label.lower()}s with no transfer are left out)"
    return table(caption, head, rows)


def _period(start: dt.date, step: int) -> str:
    if step == 1:
        return start.isoformat()
    return f"{start.isoformat()} to {(start + dt.timedelta(days=step - 1)).isoformat()}"


def denials(
    form_token: str,
    filters: Mapping[str, str],
    report: DenialReport | None,
    trouble: Sequence[str] = (),
) -> Html:
    """Why exchanges were denied and to whom, and the most recent denials."""
    body: list[Child] = [
        el("h1", "Denials"),
        el(
            "p",
            "Exchanges the gateway refused: the origin guard, the rules or consent said no. "
            "An exchange may give several reasons, so reasons can add up to more than the total.",
            class_="lead",
        ),
        period_form("/console/denials", filters, with_bucket=False),
        problems(trouble),
    ]
    if report is not None and not report.total:
        body.append(empty("No exchange was denied in this period."))
    elif report is not None:
        noun = "denied exchange" if report.total == 1 else "denied exchanges"
        body.append(
            el("p", el("strong", str(report.total)), f" {noun} in this period.", class_="notice")
        )
        reasons = [
            el(
                "tr",
                el("td", el("code", r.reason)),
                el("td", r.words),
                el("td", str(r.count), class_="num"),
            )
            for r in report.by_reason
        ]
        recipients = [
            el("tr", el("td", dash(r.recipient)), el("td", str(r.count), class_="num"))
            for r in report.by_recipient
        ]
        body.append(
            el(
                "div",
                el(
                    "section",
                    el("h2", "By reason"),
                    table("Denials by reason", ["Reason", "Meaning", ("Denials", "num")], reasons),
                ),
                el(
                    "section",
                    el("h2", "By recipient"),
                    table("Denials by recipient", ["Recipient", ("Denials", "num")], recipients),
                ),
                class_="pair",
            )
        )
        body.append(el("h2", "Most recent denials"))
        body.append(exchange_table("The most recent denials, newest first", report.recent))
    return document("Denials", body, current="denials", form_token=form_token)
