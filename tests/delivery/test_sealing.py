"""Bodies at rest: sealed in the outbox, gone from the files once delivered; private files."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select, text, update

from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import ALLOWED
from gateway.config import Settings
from gateway.crypto import Keyring, derive_key, key_id
from gateway.delivery.outbox import DEAD, DELIVERED, OutboxRelay
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification, wait_for
from gateway.demo.server import ServedGateway
from gateway.errors import SealError, UnknownKeyError
from gateway.ids import new_id
from gateway.runtime import Runtime
from gateway.store.db import make_engine
from gateway.store.group import Batch
from gateway.store.models import OutboxMessage, System
from tests.delivery.servers import Destination
from tests.delivery.support import BODY, Clock, attempt_codes, outbox_row, queue

Relays = Callable[..., OutboxRelay]
NAME = "Zyqvarentholde"  # a given name no file holds by chance


@pytest.fixture
def applying() -> Iterator[Destination]:
    server = Destination()
    yield server
    server.stop()


def test_a_body_opens_only_in_its_own_row_and_under_a_known_key() -> None:
    old, new = Keyring.derive([b"old master"], "p"), Keyring.derive([b"new master"], "p")
    key, sealed = old.seal(b"payload", b"exchange-1")

    assert old.open(key, sealed, b"exchange-1") == b"payload"
    with pytest.raises(SealError):  # moved into another exchange's row
        old.open(key, sealed, b"exchange-2")
    with pytest.raises(SealError):  # altered
        old.open(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"exchange-1")
    with pytest.raises(UnknownKeyError):
        new.open(key, sealed, b"exchange-1")
    rotated = Keyring.derive([b"new master", b"old master"], "p")  # the first one seals
    assert rotated.open(key, sealed, b"exchange-1") == b"payload"
    assert rotated.seal(b"payload", b"exchange-1")[0] == new.current_id != key
    assert key == key_id(derive_key(b"old master", "p"))


def test_a_body_under_an_unknown_key_is_a_dead_letter_not_a_crash(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    clock = Clock()
    exchange_id = queue(runtime, applying.url, clock)
    with runtime.db.unit_of_work() as session:
        session.execute(update(OutboxMessage).values(key_id="0123456789abcdef"))
    relay = relays(clock)

    assert relay.drain() == 1

    row = outbox_row(runtime, exchange_id)
    # The operator sees it among the dead letters, and replays it once the key is back.
    assert (row.status, row.attempts, row.last_error) == (DEAD, 1, "unknown_key_id")
    assert attempt_codes(runtime, exchange_id) == [None]
    assert applying.requests == 0  # nothing was sent
    later = queue(runtime, applying.url, clock, destination="other")
    assert relay.drain() == 1  # the relay goes on
    assert outbox_row(runtime, later).status == DELIVERED


@pytest.mark.fresh_schema
def test_bodies_queued_before_0002_are_sealed_at_start_up(settings: Settings) -> None:
    """A database left by a gateway at migration 0001, with a plain body waiting."""
    engine = make_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(files("gateway.store").joinpath("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        attempt = audit_record.build(
            exchange_id=new_id(),
            recorded_at=Clock()(),
            source="src",
            request_digest=None,
            decision=ALLOWED,
            reasons=["allowed"],
        )
        recorded = Batch(connection)
        recorded.defer(*audit_log.writes(attempt))
        recorded.write()
        connection.execute(
            insert(System),
            {"id": "dst", "name": "D", "adapter": "opencrvs", "credential_hash": "0" * 64},
        )
        connection.execute(  # only the columns 0001 made
            text(
                "INSERT INTO outbox (exchange_id, destination, body, content_type, status,"
                " attempts, next_attempt_at) VALUES (:e, 'dst', :b, 'application/json',"
                " 'pending', 0, :t)"
            ),
            {"e": attempt.id, "b": BODY, "t": attempt.recorded_at},
        )
    engine.dispose()

    runtime = Runtime.build(settings)  # migrates to 0002, then seals what was plain
    try:
        row = outbox_row(runtime, attempt.id)
        assert row.key_id == runtime.bodies.current_id and row.body is not None
        assert BODY not in row.body
        assert runtime.bodies.open(row.key_id, row.body, attempt.id.encode()) == BODY
    finally:
        runtime.close()


def named_birth() -> bytes:
    doc = json.loads(birth_notification())
    doc["individuals"][0]["progres_givenname"] = NAME
    return json.dumps(doc).encode()


def file_bytes(database_file: Path) -> bytes:
    """Return the database file's bytes and its write-ahead log's, as a disk image holds them."""
    log = database_file.with_name(database_file.name + "-wal")
    return database_file.read_bytes() + (log.read_bytes() if log.exists() else b"")


def test_delivered_bodies_leave_no_trace_and_queued_ones_are_sealed(settings: Settings) -> None:
    """20 births naming one child: never in plain text in the outbox; once delivered, neither
    the name nor the sealed bodies are left in the SQLite file or its log."""
    served = ServedGateway(Runtime.build(settings.model_copy(update={"relay_enabled": False})))
    served.start()
    env = DemoEnvironment.start(served.runtime, served.url)
    runtime = served.runtime
    try:
        for n in range(20):
            response = env.submit_birth(CIVIL_REGISTRY, f"sealed-birth-{n:04}", named_birth())
            assert response.status_code == 202, response.text
        with runtime.db.unit_of_work() as session:
            sealed = [b for b in session.scalars(select(OutboxMessage.body)) if b is not None]
        assert len(sealed) == 20
        assert not any(NAME.encode() in body for body in sealed)

        runtime.db.truncate_log()  # as SQLite's own checkpoints do: bodies in the file itself
        runtime.start_relay()
        registry = env.standins[CIVIL_REGISTRY]
        assert wait_for(lambda: len(registry.received) == 20)
        assert all(NAME in r.body.decode() for r in registry.received)  # opened to be sent

        def erased() -> bool:
            with runtime.db.unit_of_work() as session:
                rows = session.execute(
                    select(OutboxMessage.status, OutboxMessage.body).where(
                        OutboxMessage.destination == CIVIL_REGISTRY
                    )
                ).all()
            return all(status == DELIVERED and body is None for status, body in rows)

        assert wait_for(erased)
        if not runtime.db.embedded:
            return
        database_file = Path(runtime.db.engine.url.database or "")
        # The relay truncates SQLite's log after erasing; wait for it, up to a deadline.
        assert wait_for(lambda: not any(b[12:60] in file_bytes(database_file) for b in sealed))
        assert file_bytes(database_file).count(NAME.encode()) == 0
    finally:
        env.stop()
        served.stop()


def test_files_and_folders_the_gateway_creates_are_private(tmp_path: Path) -> None:
    """On SQLite, the embedded default: the data dir, the database and its log, the keys."""
    data_dir = tmp_path / "made" / "var"
    runtime = Runtime.build(Settings(data_dir=data_dir, host_jurisdiction="KEN"))
    try:
        clock = Clock()
        queue(runtime, "http://127.0.0.1:9", clock)  # something in the log
        made = {
            path.name: stat.S_IMODE(path.stat().st_mode) for path in [data_dir, *data_dir.iterdir()]
        }
    finally:
        runtime.close()
    assert made["var"] == 0o700
    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm", "secret.key", "admin.token"):
        assert made[name] == 0o600, name
