"""The X-Road REST headers on the HTTP API: read, checked, and echoed on the answer.

- `X-Road-Client`: INSTANCE/CLASS/MEMBER/SUBSYSTEM (or INSTANCE/CLASS/MEMBER). A system that
  sends it must send its own: the SUBSYSTEM part is the system's id, as the SOAP client's
  subsystem code is (envelope.py). A bare member names no system, so a system may not use one.
- `X-Road-Id`: the message's id, echoed; one is generated when none is given.
- `X-Road-UserId`, `X-Road-Issue`: echoed as given. They are not recorded: a user id may be a
  personal code, and the exchange record holds no personal data.

Each must come once, in printable ASCII, within its length; a value is never echoed in an
error, only the header's name. Why so strict: these values come back in the answer's headers,
and a control character there would split or forge a header line.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.errors import DuplicateHeaderError, EnvelopeError, ForbiddenError, Problem
from gateway.xroad.envelope import XRoadId

CLIENT = "X-Road-Client"
MESSAGE_ID = "X-Road-Id"
USER_ID = "X-Road-UserId"
ISSUE = "X-Road-Issue"
_NAMES = {name.lower().encode(): name for name in (CLIENT, MESSAGE_ID, USER_ID, ISSUE)}

# X-Road forbids these in identifier codes: separators, percent, whitespace, control characters.
_CODE = re.compile(r"[!-~]{1,255}")
_FORBIDDEN_IN_CODE = re.compile(r"[/\\:;%]")
_ID = re.compile(r"[!-~]{1,255}")  # visible ASCII
_TEXT = {USER_ID: re.compile(r"[ -~]{1,255}"), ISSUE: re.compile(r"[ -~]{1,1024}")}
_LIMITS = {MESSAGE_ID: 255, USER_ID: 255, ISSUE: 1024}


@dataclass(frozen=True)
class RestHeaders:
    """The X-Road headers of one request (the id generated if none came)."""

    client: XRoadId | None
    message_id: str
    user_id: str | None = None
    issue: str | None = None

    def echoed(self) -> list[tuple[bytes, bytes]]:
        """Return the headers the answer carries back, as ASGI writes them (lower-case names)."""
        values = {
            CLIENT: self.client.as_rest() if self.client else None,
            MESSAGE_ID: self.message_id,
            USER_ID: self.user_id,
            ISSUE: self.issue,
        }
        return [(k.lower().encode(), v.encode()) for k, v in values.items() if v is not None]


def read(headers: Iterable[tuple[bytes, bytes]]) -> RestHeaders:
    """Read the X-Road headers from ASGI's raw headers; raise naming each bad one."""
    found: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = _NAMES.get(raw_name)
        if name is None:
            continue
        if name in found:
            problem = Problem(name, "appears more than once; send it once")
            raise DuplicateHeaderError(f"the {name} header appears more than once", [problem])
        found[name] = raw_value.decode("latin-1").strip()
    problems = [p for name, value in found.items() if (p := _problem(name, value))]
    if problems:
        raise EnvelopeError("the X-Road headers are invalid", problems)
    return RestHeaders(
        client=_client(found[CLIENT]) if CLIENT in found else None,
        message_id=found.get(MESSAGE_ID) or str(uuid.uuid4()),
        user_id=found.get(USER_ID),
        issue=found.get(ISSUE),
    )


def _problem(name: str, value: str) -> Problem | None:
    if name == CLIENT:
        parts = value.split("/")
        if len(parts) not in (3, 4) or not all(_code(part) for part in parts):
            return Problem(name, "must be INSTANCE/CLASS/MEMBER/SUBSYSTEM, each a code")
        return None
    pattern = _ID if name == MESSAGE_ID else _TEXT[name]
    if pattern.fullmatch(value) is None:
        limit = _LIMITS[name]
        return Problem(name, f"must be 1 to {limit} printable ASCII characters")
    return None


def _code(part: str) -> bool:
    return _CODE.fullmatch(part) is not None and _FORBIDDEN_IN_CODE.search(part) is None


def _client(value: str) -> XRoadId:
    instance, member_class, member_code, *subsystem = value.split("/")
    return XRoadId(
        object_type="SUBSYSTEM" if subsystem else "MEMBER",
        instance=instance,
        member_class=member_class,
        member_code=member_code,
        subsystem=subsystem[0] if subsystem else None,
    )


def check_client(headers: RestHeaders, system_id: str) -> None:
    """Refuse a system that names another client than itself (403, before anything is read)."""
    if headers.client is not None and headers.client.subsystem != system_id:
        problem = Problem(CLIENT, "its SUBSYSTEM part must be the calling system's id")
        raise ForbiddenError("the X-Road client must be the calling system", [problem])
