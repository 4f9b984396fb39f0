"""A stand-in for the registration system's lookup: a real HTTP server on 127.0.0.1.

It answers proGres's individual lookup (adapters/progres/fetch.py) from the individuals it
is given, comparing ids as proGres does (case and separators insignificant), and counts
every lookup it is asked, so a test can say whether the gateway asked it at all. `delay`
plays a registry that takes its time; `status` one that is down.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from adapters.progres.fetch import DOES_NOT_EXIST, LOOKUP_PATH
from gateway.canonical import normalise_identifier

BURUNDIAN = "KKM-19-004567"  # a Burundian refugee: no risk in Uganda or South Sudan
SOUTH_SUDANESE = "KKM-17-002245"  # a South Sudanese refugee: at risk in South Sudan
CHILD = "KKM-24-000311"  # a Burundian child, born 2024
UNREGISTERED = "KKM-99-999999"

COUNTRIES = {"BDI": "Burundi", "SSD": "South Sudan", "KEN": "Kenya"}
FEMALE, MALE = 125080000, 125080001
REFUGEE = 125080001


def country(code: str) -> dict[str, str]:
    """A proGres country lookup."""
    return {
        "Id": "7f3c9a28-1b6d-4e0f-8c25-3a9d4e1b6c02",
        "LogicalName": "progres_country",
        "Name": COUNTRIES[code],
        "progres_isocode": code,
    }


def individual(
    individual_id: str, given: str, family: str, born: str, nationality: str, sex: int
) -> dict[str, Any]:
    """An individual record as proGres holds it."""
    return {
        "@odata.etag": 'W/"5120337"',
        "progres_individualid": individual_id,
        "progres_givenname": given,
        "progres_familyname": family,
        "progres_sex": sex,
        "progres_dateofbirth": born,
        "progres_nationality": [country(nationality)],
        "progres_countryoforigin": country(nationality),
        "progres_legalstatus": REFUGEE,
        "progres_specificneeds": [125080007],
        "progres_documents": [
            {
                "progres_documenttype": "Refugee ID",
                "progres_documentnumber": "KKM-RID-0031802",
                "progres_issuingcountry": country("KEN"),
            }
        ],
    }


INDIVIDUALS = [
    individual(BURUNDIAN, "Aline", "Niyonzima", "1994-07-02", "BDI", FEMALE),
    individual(SOUTH_SUDANESE, "Nyibol", "Akech", "1996-04-12", "SSD", FEMALE),
    individual(CHILD, "Eric", "Ndayishimiye", "2024-11-18", "BDI", MALE),
]


def _key(value: str) -> str:
    return normalise_identifier("progres-individual", value)[1]


@dataclass
class Lookup:
    """What the registry was asked: the body and the headers."""

    body: Any
    headers: dict[str, str]


@dataclass
class StandInRegistry:
    individuals: list[dict[str, Any]] = field(default_factory=lambda: list(INDIVIDUALS))
    delay: float = 0.0  # seconds each lookup takes
    status: int | None = None  # answer every lookup with this status (a registry that is down)
    asked: list[Lookup] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the registry first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    ignored: set[str] = field(default_factory=set)  # exchange ids whose lookups do not count

    @property
    def hits(self) -> int:
        """How many lookups were asked, but for the exchanges ignored."""
        with self._lock:
            return sum(a.headers.get("X-Exchange-Id") not in self.ignored for a in self.asked)

    def ignore(self, exchange_ids: set[str]) -> None:
        """Count no lookup of these exchanges, whenever it arrives."""
        with self._lock:
            self.ignored |= exchange_ids

    def start(self) -> StandInRegistry:
        registry = self
        held = {_key(i["progres_individualid"]): i for i in self.individuals}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                with registry._lock:
                    registry.asked.append(Lookup(body, dict(self.headers.items())))
                if registry.delay:
                    time.sleep(registry.delay)  # the registry's own latency, not a wait
                if registry.status is not None:
                    self._answer(registry.status, {"error": {"code": "0x80040216"}})
                elif self.path.lstrip("/") != LOOKUP_PATH or not isinstance(body, dict):
                    self._answer(404, {"error": {"code": "0x8006088a", "message": "no route"}})
                elif (found := held.get(_key(str(body.get("IndividualId"))))) is None:
                    self._answer(404, {"error": {"code": DOES_NOT_EXIST, "message": "none"}})
                else:
                    self._answer(200, {"@odata.context": "$metadata", "Individual": found})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; odata.metadata=minimal")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: what is asked is personal data."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="registry", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
