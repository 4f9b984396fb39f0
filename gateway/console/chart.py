"""Transfers per recipient over time, drawn on the server as an inline SVG bar chart.

No script draws it: the page's policy allows none. Bars are grouped by period (a day or a
week), one per recipient, coloured by a class of console.css (a palette told apart with any
colour vision, and every bar names its recipient, period and count on hover). The same figures
are in a table beside the chart, for screen readers and for copying.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.console.markup import Html, el

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40
MAX_PERIODS = 120
"""At most this many periods are drawn: the most recent ones."""
PALETTE = 8
"""How many series classes console.css colours (series-0 ... series-7), then again."""


@dataclass(frozen=True)
class Point:
    period: dt.date
    recipient: str
    count: int


def periods(first: dt.date, last: dt.date, step_days: int) -> list[dt.date]:
    """Every period from the one holding `first` to the one holding `last` (weeks start on
    Monday), the latest MAX_PERIODS of them."""
    if step_days == 7:
        first -= dt.timedelta(days=first.weekday())
    count = (last - first).days // step_days + 1
    skipped = max(count - MAX_PERIODS, 0)
    return [first + dt.timedelta(days=step_days * i) for i in range(skipped, max(count, 0))]


def nice_top(largest: int) -> tuple[int, int]:
    """Return the axis top and the step of its gridlines: 1, 2 or 5 times a power of ten."""
    rough = max(largest, 1) / 5
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    step = max(int(step), 1)
    return step * math.ceil(max(largest, 1) / step), step


def recipients_of(points: Iterable[Point]) -> list[str]:
    return sorted({p.recipient for p in points})


def bar_chart(points: Sequence[Point], shown: Sequence[dt.date], title: str) -> Html:
    """Return the chart of these periods as an <svg> element."""
    names = recipients_of(points)
    counts = {(p.period, p.recipient): p.count for p in points}
    top, step = nice_top(max((p.count for p in points), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / max(len(shown), 1)
    bar = min(max(group * 0.8 / max(len(names), 1), 1.0), 36.0)
    inner = bar * len(names)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    grid = [
        (
            el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=_n(y(v)), y2=_n(y(v)), class_="grid"),
            el("text", str(v), x=LEFT - 6, y=_n(y(v) + 4), class_="tick", text_anchor="end"),
        )
        for v in range(0, top + 1, step)
    ]
    label_every = max(1, math.ceil(len(shown) / 12))
    bars, labels = [], []
    for i, period in enumerate(shown):
        x0 = LEFT + group * i + (group - inner) / 2
        for j, name in enumerate(names):
            count = counts.get((period, name), 0)
            if count:
                bars.append(
                    el(
                        "rect",
                        el("title", f"{name}, {period.isoformat()}: {count}"),
                        x=_n(x0 + bar * j),
                        y=_n(y(count)),
                        width=_n(bar),
                        height=_n(y(0) - y(count)),
                        class_=f"series-{j % PALETTE}",
                    )
                )
        if i % label_every == 0:
            labels.append(
                el(
                    "text",
                    period.strftime("%d %b"),
                    x=_n(LEFT + group * (i + 0.5)),
                    y=HEIGHT - BOTTOM + 16,
                    class_="tick",
                    text_anchor="middle",
                )
            )
    axis = el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=_n(y(0)), y2=_n(y(0)), class_="axis")
    return el(
        "svg",
        el("title", title),
        grid,
        bars,
        axis,
        labels,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        role="img",
        class_="chart",
        aria_label=title,
    )


def legend(points: Sequence[Point]) -> Html:
    """The recipients and their colours, as a list beside the chart."""
    return el(
        "ul",
        [
            el("li", el("span", class_=f"swatch series-{j % PALETTE}", aria_hidden="true"), name)
            for j, name in enumerate(recipients_of(points))
        ],
        class_="legend",
    )


def _n(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
