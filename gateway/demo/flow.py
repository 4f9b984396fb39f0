"""The demo: a refugee birth reaches the civil registry, the number returns, the embassy is blocked.

Three systems are registered: the registration authority (proGres, controlled by UNHCR), the
national civil registry (OpenCRVS, controlled by the host state) and the consular civil
registry of the embassy of the parents' country of origin. Each is a stand-in HTTP server on
127.0.0.1. Consent to share with the civil registry, and with the embassy, is recorded: the
embassy is still blocked, because consent never overrides the origin guard.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from gateway import consents, systems
from gateway.canonical import DataCategory, Identifier
from gateway.config import Settings
from gateway.consents import ConsentGrant
from gateway.demo.server import ServedGateway
from gateway.demo.standins import Received, StandIn, registration_number
from gateway.envelope import to_headers
from gateway.runtime import Runtime
from gateway.systems import SystemSpec

CREDENTIALS_FILE = "demo-credentials.json"  # in the data directory, mode 0600
REGISTRATION, CIVIL_REGISTRY, EMBASSY = "unhcr-progres", "crvs-national", "embassy-ssd"
PURPOSE = "birth-registration"
BIRTH_CATEGORIES = frozenset(
    {
        DataCategory.IDENTITY,
        DataCategory.NATIONALITY,
        DataCategory.IDENTIFIERS,
        DataCategory.FAMILY,
        DataCategory.BIRTH,
    }
)
PROGRES_SYSTEM = "http://unhcr.org/progres/individual"
BRN_SYSTEM = "http://opencrvs.org/specs/id/birth-registration-number"
TRACKING_SYSTEM = "http://opencrvs.org/specs/id/birth-tracking-id"


def demo_data(name: str) -> bytes:
    """Return a file shipped in gateway/demo/data."""
    return files("gateway.demo").joinpath(f"data/{name}").read_bytes()


def birth_notification() -> bytes:
    return demo_data("progres-birth-notification.json")


def envelope_headers(destination: str, message_type: str, basis: str, key: str) -> dict[str, str]:
    """Return the envelope headers of a demo exchange (purpose: birth registration)."""
    return to_headers(
        {
            "destination": destination,
            "message_type": message_type,
            "purpose": PURPOSE,
            "legal_basis": basis,
            "idempotency_key": key,
        }
    )


def registered_birth(notification: dict[str, Any], number: str) -> bytes:
    """Answer a birth notification as OpenCRVS does once the birth is registered."""
    resources = {e.get("fullUrl"): e["resource"] for e in notification["entry"]}
    composition = notification["entry"][0]["resource"]
    child = resources[composition["subject"]["reference"]]
    linkable = [i for i in child.get("identifier", []) if i.get("system") == PROGRES_SYSTEM]
    answer = json.loads(demo_data("opencrvs-registered-birth.json"))
    answer.pop("_comment", None)
    for entry in answer["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Task":
            resource["lastModified"] = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
            resource["identifier"] = [
                {"system": TRACKING_SYSTEM, "value": number[-7:]},
                {"system": BRN_SYSTEM, "value": number},
            ]
        if resource["resourceType"] == "Patient" and any(
            i.get("system") == PROGRES_SYSTEM for i in resource.get("identifier", [])
        ):
            resource["identifier"] = copy.deepcopy(linkable)
    return json.dumps(answer).encode()


@dataclass
class DemoEnvironment:
    """The demo systems, their stand-ins and credentials, registered in a running gateway."""

    runtime: Runtime
    gateway_url: str
    credentials: dict[str, str] = field(default_factory=dict)
    standins: dict[str, StandIn] = field(default_factory=dict)
    confirmations: list[httpx.Response] = field(default_factory=list)
    callback_errors: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, runtime: Runtime, gateway_url: str, ports: tuple[int, int, int] = (0, 0, 0)
    ) -> DemoEnvironment:
        """Start the stand-ins (on `ports`, 0 = any free one) and register the systems."""
        env = cls(runtime, gateway_url)
        registry = StandIn(CIVIL_REGISTRY, port=ports[1], on_receive=env._register_birth)
        env.standins = {
            REGISTRATION: StandIn(REGISTRATION, port=ports[0]).start(),
            CIVIL_REGISTRY: registry.start(),
            EMBASSY: StandIn(EMBASSY, port=ports[2]).start(),
        }
        specs = [
            SystemSpec(
                id=REGISTRATION,
                name="UNHCR proGres v4 (Kakuma operation)",
                adapter="progres",
                endpoint=env.standins[REGISTRATION].url,
                jurisdiction="UNO",
            ),
            SystemSpec(
                id=CIVIL_REGISTRY,
                name="National civil registry (OpenCRVS)",
                adapter="opencrvs",
                endpoint=env.standins[CIVIL_REGISTRY].url,
                jurisdiction=runtime.settings.host_jurisdiction,
            ),
            SystemSpec(
                id=EMBASSY,
                name="Embassy of South Sudan, consular civil registry",
                adapter="opencrvs",
                endpoint=env.standins[EMBASSY].url,
                jurisdiction="SSD",
            ),
        ]
        with runtime.db.unit_of_work() as session:
            known = {s.id for s in systems.list_all(session)}
            for spec in specs:
                if spec.id in known:
                    systems.move(session, spec.id, str(spec.endpoint))
                    env.credentials[spec.id] = systems.rotate_credential(session, spec.id)
                else:
                    env.credentials[spec.id] = systems.register(session, spec, runtime.sealer)[1]
            env._grant_consents(session)
        env._save_credentials()
        return env

    def _grant_consents(self, session: Any) -> None:
        family = json.loads(birth_notification())["individuals"]
        for individual in family:
            for recipient in (CIVIL_REGISTRY, EMBASSY):
                grant = ConsentGrant(
                    subject=Identifier(
                        scheme="progres-individual", value=individual["progres_individualid"]
                    ),
                    recipient=recipient,
                    purpose=PURPOSE,
                    categories=BIRTH_CATEGORIES,
                )
                consents.grant(session, grant, self.runtime.pseudonymiser, self.runtime.clock())

    def _save_credentials(self) -> None:
        """Keep the demo credentials in a file only its owner can read; never print them."""
        path = self.credentials_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.credentials, handle, indent=2)

    @property
    def credentials_path(self) -> Path:
        return self.runtime.settings.data_dir / CREDENTIALS_FILE

    def _register_birth(self, received: Received) -> None:
        """The civil registry registers the birth and sends the number back via the gateway."""
        if received.json().get("resourceType") != "Bundle":  # a consent withdrawal notice
            return
        headers = envelope_headers(
            REGISTRATION,
            "birth-registration-confirmation",
            "public-interest",
            "brn-" + received.headers.get("Idempotency-Key", ""),
        )
        headers["Authorization"] = f"Bearer {self.credentials[CIVIL_REGISTRY]}"
        headers["Content-Type"] = "application/fhir+json"
        body = registered_birth(received.json(), registration_number())
        try:
            self.confirmations.append(
                httpx.post(
                    f"{self.gateway_url}/exchanges", content=body, headers=headers, timeout=30
                )
            )
        except httpx.HTTPError as exc:  # the gateway went away; a real registry would retry
            self.callback_errors.append(type(exc).__name__)

    def birth_headers(self, destination: str, key: str | None = None) -> dict[str, str]:
        """Return the headers proGres sends a birth notification with (a fresh key if none)."""
        headers = envelope_headers(
            destination, "birth-notification", "consent", key or f"demo-{uuid.uuid4()}"
        )
        headers["Authorization"] = f"Bearer {self.credentials[REGISTRATION]}"
        headers["Content-Type"] = "application/json"
        return headers

    def submit_birth(
        self, destination: str, key: str | None = None, body: bytes | None = None
    ) -> httpx.Response:
        """Send a birth notification as proGres: the demo one unless `body` is given."""
        return httpx.post(
            f"{self.gateway_url}/exchanges",
            content=birth_notification() if body is None else body,
            headers=self.birth_headers(destination, key),
            timeout=30,
        )

    def describe(self) -> str:
        lines = ["Demo systems (stand-in servers on 127.0.0.1):"]
        for system_id, standin in self.standins.items():
            lines.append(f"  {system_id:<15} {standin.url}  (GET lists what it received)")
        lines.append(f"Credentials: {self.credentials_path} (mode 0600)")
        lines.append(f"Admin token: {self.runtime.settings.data_dir / 'admin.token'}")
        return "\n".join(lines)

    def stop(self) -> None:
        for standin in self.standins.values():
            standin.stop()


def wait_for(condition: Any, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def run_demo(settings: Settings) -> int:
    """Run the flows once on a fresh demo database; print what happened; 0 if all went as said."""
    # Warnings only: the narration on stdout is the demo's output, not the access lines.
    settings = settings.model_copy(
        update={"data_dir": settings.data_dir / "demo-run", "log_level": "warning"}
    )
    if (settings.data_dir / "gateway.db").exists() and settings.database_url is None:
        (settings.data_dir / "gateway.db").unlink()
    served = ServedGateway(Runtime.build(settings)).start()
    env = DemoEnvironment.start(served.runtime, served.url)
    try:
        return _narrate(env, settings)
    finally:
        env.stop()
        served.stop()


def _narrate(env: DemoEnvironment, settings: Settings) -> int:
    say = print
    say(env.describe())
    say("\n1. proGres sends a camp birth to the national civil registry (with consent).")
    birth = env.submit_birth(CIVIL_REGISTRY)
    say(f"   gateway answered {birth.status_code}: {birth.json()}")
    progres = env.standins[REGISTRATION]
    arrived = wait_for(lambda: bool(progres.received))
    registry = env.standins[CIVIL_REGISTRY]
    say(f"   the civil registry received {len(registry.received)} birth notification(s)")
    if arrived:
        update = progres.received[0].json()
        say(f"2. the registration number came back to proGres: {json.dumps(update)}")
    else:
        say("2. the registration number did NOT come back (see the exchange records)")
    say("\n3. The same birth sent to the embassy of the parents' country of origin.")
    blocked = env.submit_birth(EMBASSY)
    say(f"   gateway answered {blocked.status_code}: {blocked.json()}")
    say(f"   the embassy received {len(env.standins[EMBASSY].received)} message(s)")
    admin = {"Authorization": f"Bearer {settings.resolved_admin_token()}"}
    say("\nExchange records (metadata only, subjects pseudonymised):")
    ids = [
        birth.json().get("exchange_id"),
        *[c.json().get("exchange_id") for c in env.confirmations],
        blocked.json().get("exchange_id"),
    ]
    for exchange_id in ids:
        record = httpx.get(f"{env.gateway_url}/exchanges/{exchange_id}", headers=admin).json()
        delivery = (record.get("delivery") or {}).get("status", "-")
        say(
            f"   {record['exchange_id']}  {record['source']} -> {record['destination']}"
            f"  {record['message_type']}  {record['decision']}  {','.join(record['reasons'])}"
            f"  delivery={delivery}"
        )
    # The database URL may hold a password: say where the records are, never how to get in.
    where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    say(
        f"\nWhere to look: the records are in {where} (table "
        "exchange_records); `gateway serve --demo` runs the same systems with the API at /docs."
    )
    ok = birth.status_code == 202 and arrived and blocked.status_code == 403
    say("\nDemo " + ("completed as expected." if ok else "did NOT go as expected."))
    return 0 if ok else 1
