"""The adapter contract.

An adapter translates one external system's wire format to and from canonical payloads, so
the gateway never branches on which system data came from or goes to. It is a Protocol, not
a base class: a third-party adapter needs only the right shape and an entry point in the
`gateway.adapters` group; it imports nothing from the gateway but `gateway.canonical`,
`gateway.errors` and this kit (`adapters.kit`). It is built from the mapping specs and code
lists shipped in its own package (`adapters.kit.mapping.load_mapping_set`).

Besides `Adapter`, optional Protocols, each checked for rather than stubbed:
- `Fetcher`: the system can be asked about one individual (a pull);
- `WireErrors`: the system's callers expect errors in its own shape (a SOAP fault, a FHIR
  OperationOutcome) rather than the gateway's JSON problem;
- `ResponseReader`: the destination's whole answer (status, headers, body) says more than its
  status: a fault inside a 200, a receipt, a registration number;
- `RenderChecker`: the system's own schema, which the conformance kit holds rendered bodies to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from adapters.kit.mapping import MappingSet
from gateway.canonical import Identifier, Payload
from gateway.errors import EnvelopeError, GatewayError, Problem, UnsupportedMediaTypeError


@dataclass(frozen=True)
class Rendered:
    """A native message ready to deliver."""

    body: bytes
    content_type: str


@runtime_checkable
class Adapter(Protocol):
    """Parse a system's native messages into canonical payloads and render them back.

    `parse` validates against the system's own schema and raises `gateway.errors.ParseError`
    listing every problem, never only the first. `render` raises nothing for a valid payload:
    the mapping specs it uses were checked when the adapter was built.
    """

    name: str
    parses: frozenset[str]  # message types this adapter reads from its system
    renders: frozenset[str]  # message types this adapter writes for its system
    media_types: frozenset[str]  # Content-Types `parse` reads (lower case, UTF-8 assumed)

    @property
    def mappings(self) -> MappingSet:
        """Its checked specs and code lists, from its own package."""
        ...

    @property
    def native_fields(self) -> Mapping[str, frozenset[str]]:
        """By message type: the native fields it knows (the coverage report reads them)."""
        ...

    def parse(self, message_type: str, body: bytes) -> Payload: ...

    def render(self, message_type: str, payload: Payload) -> Rendered: ...


@dataclass(frozen=True)
class FetchRequest:
    """How to ask a system for one individual: what to POST, to which path under its endpoint.

    Always a POST: the transport seam sends POSTs (gateway/delivery/transport.py), and an
    identifier in a URL would be written into every proxy's access log.
    """

    path: str  # relative to the system's registered endpoint
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # Content-Type included


@runtime_checkable
class Fetcher(Protocol):
    """Ask a source system about one individual: the pull behind a specific request.

    Why a Protocol of its own: most systems only push, so an adapter that can be asked says
    what (`fetches`) and how, and the gateway checks for it rather than every adapter carrying
    a stub. The adapter writes the question and reads the answer; the gateway sends it,
    through its transport and with a deadline, only once the policy has allowed the request.
    `fetch_request` raises InvalidInput when the identifiers give it nothing to look the
    person up by, before anything is sent. `parse_fetched` returns None when the system says
    it holds no such individual, and raises ParseError (or TransportError, for an answer that
    is neither a record nor "not found") otherwise, so "not found" is never mistaken for
    "not answered".
    """

    name: str
    fetches: frozenset[str]  # message types this adapter can ask its system for

    def fetch_request(
        self, message_type: str, identifiers: Sequence[Identifier]
    ) -> FetchRequest: ...

    def parse_fetched(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> Payload | None: ...


@runtime_checkable
class WireErrors(Protocol):
    """Say how an error looks on this system's wire, for the routes its callers use.

    Why: a SOAP client understands a SOAP fault and nothing else; the gateway's JSON problem
    would reach it as an unreadable answer. The gateway decides the error (status, reason,
    problems, all bounded); the adapter only dresses it. `message_type` is None when the
    error came before the message type was known.
    """

    def render_error(self, message_type: str | None, error: GatewayError) -> Rendered: ...


@runtime_checkable
class RenderChecker(Protocol):
    """Check a body the adapter rendered against its system's own schema (XSD, JSON Schema).

    Why a hook: only the adapter knows its system's schema, and a body its system would
    refuse must fail in the gateway's tests (the conformance kit), not at the destination.
    Returns every problem (bounded), none exactly when the body is valid; may raise
    ParseError for a body that is not even its format.
    """

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]: ...


class Outcome(StrEnum):
    DELIVERED = "delivered"  # the destination took the message
    REJECTED = "rejected"  # it refused it for good (a fault, a validation error): dead letter
    RETRY = "retry"  # it could not take it now: try again later


@dataclass(frozen=True)
class Receipt:
    """What a destination's answer means, read by its adapter.

    `reference` is what the destination gave back (a case id, a registration number), kept
    with the delivery; `reason` a short code for a rejection. Neither may hold personal data
    beyond the reference itself, and both are cut to 128 characters by the gateway.
    """

    outcome: Outcome
    reference: str | None = None
    reason: str | None = None


@runtime_checkable
class ResponseReader(Protocol):
    """Read a destination's whole answer to a delivered message.

    Why: a status is not always the answer. A SOAP service answers a fault with 200 or 500, a
    registry puts the number it gave in the body. Without a reader the gateway judges by the
    status alone (2xx delivered, 4xx rejected, 5xx and 429 retried). The body is the start of
    the answer only (gateway/delivery/transport.py, BODY_CAP_BYTES); header names are lower case.
    """

    def read_response(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> Receipt: ...


class AdapterFactory(Protocol):
    """What an entry point names: build an adapter from the specs in its own package."""

    def __call__(self) -> Adapter: ...


# RFC 9110 section 8.3.1: type "/" subtype *( OWS ";" OWS [ parameter ] ), a parameter being
# token "=" ( token / quoted-string ).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"[ \t]*({_TOKEN}/{_TOKEN})")
_PARAMETER = re.compile(rf'[ \t]*;[ \t]*(?:({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*"))?')
_END = re.compile(r"[ \t]*")
CONTENT_TYPE = "Content-Type"


def check_content_type(adapter: Adapter, content_type: str | None) -> None:
    """Refuse a body whose Content-Type the adapter's `parse` does not read (415).

    Parameters are allowed, but a charset must be UTF-8, the only encoding the adapters
    decode; a missing Content-Type is refused, since guessing is how a body meant as one
    format gets read as another. The value is never echoed: it came from outside.
    """
    accepted = " or ".join(sorted(adapter.media_types))
    parsed = parse_content_type(content_type or "")
    if parsed is None:
        said = "is missing" if not (content_type or "").strip() else "is malformed"
        raise _unsupported(f"{CONTENT_TYPE} {said}; {adapter.name} reads {accepted}")
    media_type, charsets = parsed
    if media_type not in adapter.media_types:
        raise _unsupported(f"{adapter.name} reads {accepted}, not this media type")
    if any(charset != "utf-8" for charset in charsets):
        raise _unsupported(f"{adapter.name} reads UTF-8 only (charset=utf-8)")


def parse_content_type(value: str) -> tuple[str, list[str]] | None:
    """Return a Content-Type's media type and charsets, lower case, or None if malformed."""
    found = _MEDIA_TYPE.match(value)
    if found is None:
        return None
    media_type, at, charsets = found.group(1).lower(), found.end(), []
    while parameter := _PARAMETER.match(value, at):
        name, raw = parameter.groups()
        if name is not None and name.lower() == "charset":
            charsets.append(raw.removeprefix('"').removesuffix('"').lower())
        at = parameter.end()
    if _END.fullmatch(value, at) is None:
        return None
    return media_type, charsets


def unsupported(adapter: str, message_type: str, verb: str) -> EnvelopeError:
    """Return the error for a message type an adapter does not parse, render or fetch."""
    problem = Problem("message_type", f"{adapter} does not {verb} {message_type!r}")
    return EnvelopeError(f"unsupported message type for {adapter}: {message_type!r}", [problem])


def _unsupported(message: str) -> UnsupportedMediaTypeError:
    return UnsupportedMediaTypeError("unsupported media type", [Problem(CONTENT_TYPE, message)])
