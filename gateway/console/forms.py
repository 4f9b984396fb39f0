"""What the console reads from a request: its own forms, same-origin only, and dates.

Forms arrive as `application/x-www-form-urlencoded` (what an HTML form sends), read here with
the standard library: the console needs no multipart parser. A POST is refused unless it
comes from the console's own pages: a browser names the page's origin in `Origin` (and, in
`Sec-Fetch-Site`, whether it is this site) with every POST it sends; one naming another
origin, or none it will say ("null"), is refused. A client that sends neither is not a
browser, and no page of another site can have made it send the request.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qsl

from starlette.requests import Request

FORM = "application/x-www-form-urlencoded"
MAX_FIELDS = 16
FIRST_YEAR, LAST_YEAR = 1900, 9998
"""The years a date may be in (the day after the last is still a date)."""
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadForm(ValueError):
    """A form the console cannot take: the message says why, without repeating the form."""


def own_origin(request: Request) -> str:
    """Return the origin the request was sent to: scheme, host and port as the browser saw."""
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def same_origin(request: Request) -> bool:
    """Did this request come from a page of the gateway itself (or from no browser at all)?"""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == own_origin(request)


async def read_form(request: Request) -> dict[str, str]:
    """Return the fields of a form the console sent; BadForm if it is not one."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        raise BadForm("the form was not sent as a form")
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm("the form could not be read") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadForm("a field of the form came twice")
        fields[name] = value
    return fields


def day(value: str | None, label: str, problems: list[str]) -> dt.date | None:
    """Read a date as an HTML date field sends it (YYYY-MM-DD); blank is none."""
    if not value:
        return None
    if _DAY.fullmatch(value):
        try:
            found = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if FIRST_YEAR <= found.year <= LAST_YEAR:
                return found
            problems.append(f"{label}: a year from {FIRST_YEAR} to {LAST_YEAR}")
            return None
    problems.append(f"{label}: expected a date as YYYY-MM-DD")
    return None


def start_of(day: dt.date | None) -> dt.datetime | None:
    """The first moment of a day, UTC."""
    return None if day is None else dt.datetime.combine(day, dt.time(), dt.UTC)


def end_of(day: dt.date | None) -> dt.datetime | None:
    """The first moment after a day, UTC: "until" a day includes that day."""
    return (
        None if day is None else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
    )
