"""The DCI adapter: a civil registry speaking the DCI CRVS API (Digital Convergence Initiative).

Beside OpenCRVS's own FHIR dialect, the second way a civil registry is reached: searched by
birth registration number (a specific request's pull, search.py), and subscribed to for live
births, which it notifies as they are registered (subscribe.py, notify.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adapters.dci import schema
from adapters.dci.envelope import Clock, read_ack, utc_now
from adapters.dci.notify import CONFIRMATION, parse_notify
from adapters.dci.record import RECORD_NATIVES, UNREAD_NATIVES, RecordReader, selected_type
from adapters.dci.search import SCHEME, read_search, search_request
from adapters.dci.subscribe import subscribe_request
from adapters.kit.contract import FetchRequest, Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from gateway.canonical import SPECIFIC_REQUEST, Identifier, IndividualRecord, Payload
from gateway.errors import ConfigurationError

PERSON = [
    "person.identifiers.scheme",
    "person.identifiers.value",
    "person.names.given",
    "person.sex",
    "person.birth_date.date",
]
REQUIRED = {
    CONFIRMATION: [*PERSON, "registration.registration_number"],
    SPECIFIC_REQUEST: PERSON,
}


class DciAdapter:
    """Search a DCI civil registry by birth registration number; read its live-birth notices."""

    name = "dci"
    parses = frozenset({CONFIRMATION})  # a notify of a registered live birth
    renders: frozenset[str] = frozenset()
    fetches = frozenset({SPECIFIC_REQUEST})  # one person, by birth registration number
    media_types = frozenset({"application/json"})

    def __init__(
        self,
        mappings: MappingSet | None = None,
        *,
        sender_id: str = "exchange-gateway",
        receiver_id: str = "civil-registry",
        now: Clock = utc_now,
    ) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.dci", self.name)
        natives = {mt: _natives(mappings, mt) for mt in REQUIRED}
        mappings.check(natives, REQUIRED)
        for message_type in REQUIRED:
            schema.check(message_type)
        self.mappings = mappings
        self.native_fields = natives
        self._readers = {mt: RecordReader(mappings, mappings.spec(mt)) for mt in REQUIRED}
        # The search asks by the type the code list writes for the "brn" scheme.
        self._id_type = str(
            mappings.encoder(mappings.spec(SPECIFIC_REQUEST), "person.identifiers.scheme")(SCHEME)
        )
        self._sender, self._receiver, self._now = sender_id, receiver_id, now

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse a DCI notify of a registered live birth; ParseError lists every problem."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_notify(self._readers[CONFIRMATION], load_object(body))

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render nothing: the gateway only asks a DCI registry and reads what it sends."""
        raise unsupported(self.name, message_type, "render")

    def fetch_request(self, message_type: str, identifiers: Sequence[Identifier]) -> FetchRequest:
        """Return the sync search for one person by birth registration number."""
        if message_type not in self.fetches:
            raise unsupported(self.name, message_type, "fetch")
        return search_request(identifiers, self._id_type, self._sender, self._receiver, self._now())

    def parse_fetched(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> IndividualRecord | None:
        """Read the registry's search answer: the person, or None if it holds none."""
        if message_type not in self.fetches:
            raise unsupported(self.name, message_type, "fetch")
        return read_search(self._readers[SPECIFIC_REQUEST], status, body)

    def subscribe_request(self, notify_url: str) -> FetchRequest:
        """Return the subscription to live births, to be notified at `notify_url`."""
        return subscribe_request(notify_url, self._sender, self._receiver, self._now())

    def read_subscribed(self, status: int, headers: Mapping[str, str], body: bytes) -> str:
        """Read the registry's acknowledgement of a subscription; return its correlation id."""
        return read_ack("the civil registry", status, body)


def _natives(mappings: MappingSet, message_type: str) -> frozenset[str]:
    """Return a CRVS_Person's native fields, with the spec's identifier selectors.

    A spec may map only what the record reader reads: mapping an attribute it does not read
    (an address, say) fails now, not as a field silently left empty.
    """
    spec = mappings.specs.get(message_type)
    if spec is None:
        return RECORD_NATIVES | UNREAD_NATIVES
    selectors = {f.native for f in spec.fields if selected_type(f.native)}
    if unread := sorted({f.native for f in spec.fields} & UNREAD_NATIVES):
        raise ConfigurationError(
            f"mapping specs for adapter 'dci' are invalid: dci/{message_type}: "
            f"the reader does not read {unread}"
        )
    return RECORD_NATIVES | UNREAD_NATIVES | selectors
