"""`gateway worker` refuses to start, with the way out, rather than run half-configured: no
broker, time limits a broker would overtake, no master secret, a database not migrated. It
never migrates and never writes a key file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.delivery.worker import WorkerServices, check_time_limits
from gateway.errors import ConfigurationError
from gateway.runtime import Runtime
from tests.fixtures.serving import GATEWAY, as_variables

BROKER = "redis://127.0.0.1:6379/5"


def start_worker(settings: Settings, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEWAY, "worker"],
        env={**as_variables(settings), **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_worker_without_a_broker_is_refused(settings: Settings) -> None:
    refused = start_worker(settings)
    assert refused.returncode == 2
    assert "GATEWAY_BROKER_URL" in refused.stderr


def test_a_worker_on_a_database_never_migrated_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    refused = start_worker(settings, GATEWAY_BROKER_URL=BROKER, GATEWAY_SECRET_KEY="k" * 64)
    assert refused.returncode == 2
    assert "gateway migrate" in refused.stderr
    assert not data.exists()  # no key file, no directory made


def test_a_worker_without_a_master_secret_is_refused_and_makes_none(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'gateway.db'}")
    refused = start_worker(settings, GATEWAY_BROKER_URL=BROKER)
    assert refused.returncode == 2
    assert "GATEWAY_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "secret.key").exists()


def test_a_migrated_database_and_its_key_are_all_a_worker_needs(settings: Settings) -> None:
    Runtime.build(settings).close()  # what `gateway serve` or `gateway migrate` does first
    services = WorkerServices.build(settings)
    try:
        assert services.deliver("no-such-destination") == 0
    finally:
        services.close()


@pytest.mark.parametrize(
    ("limit", "ack", "timeout", "named"),
    [
        (1800, 1800, 10, "GATEWAY_BROKER_ACK_TIMEOUT_SECONDS"),  # the broker would redeliver
        (15, 1800, 10, "GATEWAY_DELIVERY_TIMEOUT_SECONDS"),  # a send could not finish
    ],
)
def test_time_limits_a_broker_would_overtake_are_refused(
    limit: float, ack: float, timeout: float, named: str
) -> None:
    settings = Settings(
        task_time_limit_seconds=limit,
        broker_ack_timeout_seconds=ack,
        delivery_timeout_seconds=timeout,
    )
    with pytest.raises(ConfigurationError) as refused:
        check_time_limits(settings)
    assert any(named in p.message for p in refused.value.problems)


def test_the_gateway_refuses_to_serve_with_incoherent_time_limits(settings: Settings) -> None:
    from pydantic import SecretStr

    broken = settings.model_copy(
        update={"broker_url": SecretStr(BROKER), "task_time_limit_seconds": 4000.0}
    )
    with pytest.raises(ConfigurationError):
        Runtime.build(broken)


def test_migrate_brings_a_new_database_to_the_newest_migration(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'gateway.db'}")
    done = subprocess.run(
        [GATEWAY, "migrate"], env=as_variables(settings), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "newest migration" in done.stdout
    services = WorkerServices.build(settings)  # now a worker may start
    services.close()


@pytest.mark.parametrize("hostile", [None, 42, ["dst"], {"id": "dst"}, "", "d" * 10_000])
def test_a_delivery_task_that_names_no_destination_is_dropped(hostile: object) -> None:
    """Anyone who can write to the broker can publish a task: one that does not name a
    destination is dropped, without opening the database."""
    from gateway.delivery.tasks import deliver

    assert deliver(hostile) == 0
