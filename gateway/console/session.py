"""The DPO's console session: a signed, expiring cookie, and the form token bound to it.

A session is `v1.<payload>.<mac>`: the payload (base64url JSON: a random session id, when it
was issued, when it expires) and an HMAC-SHA256 over it, keyed by a key derived from the
master secret for this one use ("console-session"). The MAC also covers a digest of the DPO's
token as it is now, so a new DPO token ends every session signed under the old one. Nothing
is kept on the server: a session ends when it expires, when its cookie is cleared (sign out),
or when the master secret or the DPO token changes.

Forms that change what the console does for a session (sign out, the subject search) carry a
form token: an HMAC of the session id under the same key. A page of another site cannot read
it, so cannot forge the form (on top of the SameSite=Strict cookie and the Origin check).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config import Settings
from gateway.crypto import derive_key

LIFETIME_SECONDS = 8 * 60 * 60
"""How long a session lasts after sign-in (a working day), whatever is done with it."""
PURPOSE = "console-session"
COOKIE = "gateway_console"
PATH = "/console"
MAX_COOKIE = 512
"""A cookie longer than this is refused before it is decoded."""
CLOCK_SKEW_SECONDS = 60
"""How far in the future a session may say it was issued (servers' clocks differ)."""
_VERSION = "v1"


def session_key(settings: Settings) -> bytes:
    """The key sessions are signed with, derived from the master secret for this one use."""
    return derive_key(settings.master_secret(), PURPOSE)


@dataclass(frozen=True)
class Session:
    """A signed-in DPO: the session's id, when it was issued and when it expires (Unix s)."""

    id: str
    issued_at: int
    expires_at: int


class Sessions:
    """Issue and check console sessions."""

    def __init__(self, key: bytes, dpo_token: str, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._token_digest = hashlib.sha256(b"dpo-token\x00" + dpo_token.encode()).digest()
        self._dpo_token = dpo_token.encode()
        self.clock = clock

    def is_dpo_token(self, given: str) -> bool:
        """Is `given` the DPO's token? Compared in constant time, as bytes."""
        return hmac.compare_digest(given.encode(), self._dpo_token)

    def issue(self) -> tuple[str, Session]:
        """Return a new session and the cookie value that carries it."""
        now = int(self.clock())
        session = Session(secrets.token_urlsafe(16), now, now + LIFETIME_SECONDS)
        fields = {"sid": session.id, "iat": session.issued_at, "exp": session.expires_at}
        payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
        return f"{_VERSION}.{payload}.{self._mac(payload)}", session

    def read(self, cookie: str | None) -> Session | None:
        """Return the session a cookie carries, or None unless it is ours, intact and current."""
        if not cookie or len(cookie) > MAX_COOKIE:
            return None
        version, _, rest = cookie.partition(".")
        payload, _, mac = rest.partition(".")
        if version != _VERSION or not hmac.compare_digest(
            mac.encode(), self._mac(payload).encode()
        ):
            return None
        session = _session(payload)
        now = self.clock()
        if session is None or session.expires_at <= now:
            return None
        if session.issued_at > now + CLOCK_SKEW_SECONDS:
            return None
        if session.expires_at - session.issued_at != LIFETIME_SECONDS:
            return None
        return session

    def form_token(self, session: Session) -> str:
        """Return the token the session's forms carry."""
        return _b64(hmac.new(self._key, b"form\x00" + session.id.encode(), "sha256").digest())

    def form_token_ok(self, session: Session, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(
            given.encode(), self.form_token(session).encode()
        )

    def _mac(self, payload: str) -> str:
        message = f"{_VERSION}.{payload}".encode() + b"\x00" + self._token_digest
        return _b64(hmac.new(self._key, message, "sha256").digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _session(payload: str) -> Session | None:
    """Read a payload whose MAC verified; None if it is not what `issue` writes."""
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        fields = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(fields, dict) or set(fields) != {"sid", "iat", "exp"}:
        return None
    sid, iat, exp = fields["sid"], fields["iat"], fields["exp"]
    if not isinstance(sid, str) or type(iat) is not int or type(exp) is not int:
        return None
    return Session(sid, iat, exp)
