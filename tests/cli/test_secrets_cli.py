"""`gateway secrets generate`: every secret docker-compose.yml needs, 0600, never printed,
never overwritten unless asked, and read back by the settings under the names Compose uses."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from gateway.cli import app
from gateway.cli_secrets import IMAGE_UID, SECRET_NAMES, SecretsError, check
from gateway.config import Settings

runner = CliRunner()


def generate(directory: Path, *extra: str) -> tuple[int, str]:
    own = ["--owner", str(os.geteuid())]
    result = runner.invoke(app, ["secrets", "generate", "--dir", str(directory), *own, *extra])
    return result.exit_code, result.output


def contents(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(directory.iterdir())}


def test_every_secret_is_written_0600_in_a_0700_directory_and_none_is_printed(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "secrets"
    code, output = generate(directory)
    assert code == 0, output
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    values = {name: (directory / name).read_text() for name in SECRET_NAMES}
    for name in SECRET_NAMES:
        path = directory / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert f"wrote {path} (0600" in output
        assert values[name] and values[name] == values[name].strip()
        assert values[name] not in output
    assert len(set(values.values())) == len(values)  # each made on its own
    assert (directory / ".gitignore").read_text().splitlines()[-1] == "*"
    assert {p.name for p in directory.iterdir()} == {*SECRET_NAMES, ".gitignore"}  # no temp


def test_the_urls_hold_the_passwords_postgres_and_redis_are_given(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    code, output = generate(directory)
    assert code == 0, output
    read = {name: (directory / name).read_text() for name in SECRET_NAMES}
    database = make_url(read["gateway_database_url"])
    assert (database.drivername, database.host, database.port) == (
        "postgresql+psycopg",
        "postgres",
        5432,
    )
    assert database.password == read["postgres_password"]
    broker = make_url(read["gateway_broker_url"])
    assert (broker.drivername, broker.host, broker.port) == ("redis", "redis", 6379)
    assert broker.password == read["redis_password"]


def test_the_settings_read_them_as_docker_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file names are the settings' names: GATEWAY_SECRETS_DIR=/run/secrets finds them."""
    directory = tmp_path / "secrets"
    code, output = generate(directory)
    assert code == 0, output
    monkeypatch.delenv("GATEWAY_DATABASE_URL")  # as in a container: only the secrets say it
    settings = Settings(_secrets_dir=directory)
    read = {name: (directory / name).read_text() for name in SECRET_NAMES}
    assert settings.database_url == read["gateway_database_url"]
    assert settings.broker_url is not None
    assert settings.broker_url.get_secret_value() == read["gateway_broker_url"]
    assert settings.master_secret() == read["gateway_secret_key"].encode()
    assert settings.resolved_admin_token() == read["gateway_admin_token"]
    assert settings.resolved_dpo_token() == read["gateway_dpo_token"]
    made = {"secret.key", "admin.token", "dpo.token"} & {p.name for p in tmp_path.iterdir()}
    assert made == set()  # the data directory (tmp_path): no key file was needed


def test_existing_secrets_are_kept_unless_forced(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    code, _ = generate(directory)
    assert code == 0
    before = contents(directory)
    (directory / "gateway_dpo_token").unlink()  # one missing: still nothing is written
    before.pop("gateway_dpo_token")

    code, output = generate(directory)
    assert code == 2
    assert "already holds postgres_password" in output and "nothing was written" in output
    assert contents(directory) == before

    code, output = generate(directory, "--force")
    assert code == 0, output
    after = contents(directory)
    assert set(after) == {*SECRET_NAMES, ".gitignore"}
    assert all(after[name] != before[name] for name in before if name != ".gitignore")
    assert all(stat.S_IMODE((directory / n).stat().st_mode) == 0o600 for n in SECRET_NAMES)


def test_the_files_go_to_the_image_user_which_only_root_can_give(tmp_path: Path) -> None:
    """Compose mounts a secret with its host owner and mode: uid 10001 must own them."""
    directory = tmp_path / "secrets"
    result = runner.invoke(app, ["secrets", "generate", "--dir", str(directory)])
    if os.geteuid() == 0:
        assert result.exit_code == 0, result.output
        assert {(directory / name).stat().st_uid for name in SECRET_NAMES} == {IMAGE_UID}
    else:
        assert result.exit_code == 2
        assert "sudo" in result.output and not directory.exists()


def test_giving_files_away_without_root_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    with pytest.raises(SecretsError, match=r"only root.*sudo.*--owner 1000"):
        check(tmp_path / "secrets", owner=IMAGE_UID, force=False, euid=1000)
    check(tmp_path / "secrets", owner=IMAGE_UID, force=False, euid=0)
    check(tmp_path / "secrets", owner=1000, force=False, euid=1000)
    assert not (tmp_path / "secrets").exists()


def test_a_file_where_the_directory_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secrets").write_text("not a directory")
    code, output = generate(tmp_path / "secrets")
    assert code == 2
    assert "is not a directory" in output
