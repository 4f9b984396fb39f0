"""The console's parts on their own: escaping, the session cookie, the chart's arithmetic."""

from __future__ import annotations

import datetime as dt
import re

from gateway.console.chart import Point, bar_chart, nice_top, periods
from gateway.console.markup import Html, el, text
from gateway.console.session import LIFETIME_SECONDS, MAX_COOKIE, Sessions

KEY = b"k" * 32


def test_text_and_attributes_are_escaped_and_markup_is_not() -> None:
    built = el("a", '<b>"&', Html("<br>"), href='x" onclick="y', class_="c", hidden=True)
    assert (
        built == '<a href="x&quot; onclick=&quot;y" class="c" hidden>&lt;b&gt;&quot;&amp;<br></a>'
    )
    assert el("input", value=None, disabled=False) == "<input>"
    assert text("'") == "&#x27;"
    assert el("rect", x=1) == '<rect x="1"/>'


def test_a_session_lives_eight_hours_and_only_under_its_key_and_token() -> None:
    now = 1_800_000_000.0
    sessions = Sessions(KEY, "dpo-token", clock=lambda: now)
    cookie, session = sessions.issue()
    assert sessions.read(cookie) == session
    assert session.expires_at - session.issued_at == LIFETIME_SECONDS == 8 * 3600
    later = Sessions(KEY, "dpo-token", clock=lambda: now + LIFETIME_SECONDS)
    assert later.read(cookie) is None
    assert Sessions(KEY, "new-token", clock=lambda: now).read(cookie) is None
    assert sessions.read(cookie + "=" * MAX_COOKIE) is None
    assert sessions.read(None) is None and sessions.read("") is None
    assert sessions.is_dpo_token("dpo-token") and not sessions.is_dpo_token("dpo-token ")
    assert not sessions.is_dpo_token("dpó-token")  # not ASCII: compared as bytes, refused


def test_form_tokens_belong_to_their_session() -> None:
    sessions = Sessions(KEY, "dpo-token")
    first, second = sessions.issue()[1], sessions.issue()[1]
    assert sessions.form_token_ok(first, sessions.form_token(first))
    assert not sessions.form_token_ok(second, sessions.form_token(first))
    assert not sessions.form_token_ok(first, None)


def test_weeks_start_on_monday_and_days_are_all_drawn() -> None:
    wednesday, next_friday = dt.date(2025, 3, 5), dt.date(2025, 3, 14)
    assert periods(wednesday, next_friday, 7) == [dt.date(2025, 3, 3), dt.date(2025, 3, 10)]
    assert len(periods(wednesday, next_friday, 1)) == 10
    latest = periods(dt.date(1900, 1, 1), dt.date(9998, 12, 31), 1)  # the latest only
    assert len(latest) == 120 and latest[-1] == dt.date(9998, 12, 31)


def test_the_axis_ends_on_a_round_number() -> None:
    assert nice_top(0) == (1, 1)
    assert nice_top(2) == (2, 1)
    assert nice_top(7) == (8, 2)
    assert nice_top(23) == (25, 5)
    assert nice_top(480) == (500, 100)


def test_every_bar_is_drawn_to_scale_and_named() -> None:
    day = dt.date(2025, 3, 5)
    points = [Point(day, "crvs-national", 4), Point(day, "<b>", 2)]
    svg = bar_chart(points, [day], "Transfers")
    assert svg.count("<rect") == 2
    assert "<title>crvs-national, 2025-03-05: 4</title>" in svg
    assert "<title>&lt;b&gt;, 2025-03-05: 2</title>" in svg and "<b>" not in svg
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"', svg)]
    assert heights[0] * 2 == heights[1]  # "<b>" sorts first: its 2 is half of 4
