"""`gateway secrets generate`: every secret docker-compose.yml needs, made in one command.

Each is a file in the secrets directory (mode 0600, the directory 0700), named as the compose
file's secret and, for the gateway's own, as its setting (gateway_secret_key is
GATEWAY_SECRET_KEY, read through GATEWAY_SECRETS_DIR). No value is ever printed, and the
directory gets a .gitignore that ignores everything in it, itself included.

Why the database and broker URLs are secrets of their own: Compose cannot put a secret into
an environment variable, and a URL holds its password. The command makes the password once
and writes it twice, into postgres_password (which PostgreSQL reads when it first creates
the database) and into gateway_database_url, so the two always agree; likewise the broker's.

Why the files are given to uid 10001: Compose mounts a file secret as it is on the host, with
its owner and mode (it cannot change them outside Swarm), and the gateway's containers run as
the image's user, 10001 (Dockerfile). PostgreSQL and Redis read theirs as root, before they
drop privileges. Only root can give a file away, so run the command with sudo, or pass
`--owner` your own uid for files only processes of yours read.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

secrets_app = typer.Typer(
    no_args_is_help=True, help="The deployment's secrets (docker-compose.yml, docs/deployment.md)."
)

IMAGE_UID = 10001
"""The gateway image's user (Dockerfile): its containers read the gateway's secret files."""

# Where docker-compose.yml's services find each other; tests/test_compose.py checks that the
# compose file says the same.
DATABASE_HOST, DATABASE_NAME, DATABASE_USER = "postgres", "gateway", "gateway"
BROKER_HOST = "redis"


@dataclass(frozen=True)
class Secret:
    """One secret file: its name, what it is for, and how its value is made."""

    name: str
    purpose: str
    make: Callable[[dict[str, str]], str]


def _key(_: dict[str, str]) -> str:
    return secrets.token_hex(32)


def _token(_: dict[str, str]) -> str:
    return secrets.token_urlsafe(32)


# In the order they are made: a URL is made after the password it holds. Hex and URL-safe
# alphabets only, so a value needs no quoting in a URL, a shell or a configuration file.
SECRETS = (
    Secret("postgres_password", "PostgreSQL's password (read when the database is created)", _key),
    Secret("redis_password", "the broker's password (Redis requirepass)", _key),
    Secret(
        "gateway_database_url",
        "the gateway's database URL, with PostgreSQL's password",
        lambda made: (
            f"postgresql+psycopg://{DATABASE_USER}:{made['postgres_password']}"
            f"@{DATABASE_HOST}:5432/{DATABASE_NAME}"
        ),
    ),
    Secret(
        "gateway_broker_url",
        "the gateway's broker URL, with the broker's password",
        lambda made: f"redis://:{made['redis_password']}@{BROKER_HOST}:6379/0",
    ),
    Secret(
        "gateway_secret_key",
        "the master secret: pseudonyms and sealing keys derive from it; back it up",
        _key,
    ),
    Secret("gateway_admin_token", "the administrator's token", _token),
    Secret("gateway_dpo_token", "the data protection officer's token", _token),
)
SECRET_NAMES = tuple(secret.name for secret in SECRETS)
GIT_IGNORES_ALL = "# Written by `gateway secrets generate`: nothing here is ever committed.\n*\n"


class SecretsError(Exception):
    """The secrets cannot be written as asked; nothing was written."""


def make_values() -> dict[str, str]:
    """Return a fresh value for every secret, by name."""
    made: dict[str, str] = {}
    for secret in SECRETS:
        made[secret.name] = secret.make(made)
    return made


def check(directory: Path, owner: int | None, force: bool, euid: int) -> None:
    """Refuse, before anything is written, what `generate` could not do whole."""
    if owner is not None and owner != euid and euid != 0:
        raise SecretsError(
            f"the files must belong to uid {owner}, and only root can give a file away: run"
            f" this command with sudo, or pass --owner {euid} for files only you will read"
        )
    if directory.exists() and not directory.is_dir():
        raise SecretsError(f"{directory} is not a directory")
    present = [name for name in SECRET_NAMES if (directory / name).exists()]
    if present and not force:
        raise SecretsError(
            f"{directory} already holds {', '.join(present)}: nothing was written. Keep them,"
            " or pass --force to replace every secret (see --help for what that breaks)"
        )


def generate(directory: Path, owner: int | None = None, force: bool = False) -> list[Path]:
    """Write every secret into `directory`, each mode 0600 and given to `owner`; return them.

    Each file is written whole under a temporary name, then put in place: without `force`,
    linked (which fails if the name was taken meanwhile), with it, renamed over the old one.
    """
    check(directory, owner, force, os.geteuid())
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    (directory / ".gitignore").write_text(GIT_IGNORES_ALL)
    written = []
    for name, value in make_values().items():
        path = directory / name
        temporary = directory / f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
                handle.flush()
                os.fsync(handle.fileno())
            if owner is not None:
                os.chown(temporary, owner, -1)
            if force:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        written.append(path)
    return written


@secrets_app.command("generate")
def generate_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write them (docker-compose.yml: ./secrets).")
    ] = Path("secrets"),
    owner: Annotated[
        int,
        typer.Option(
            min=0,
            help=f"The uid the files are given to: the gateway image's user ({IMAGE_UID}), which"
            " needs root (sudo); your own uid for files only you will read.",
        ),
    ] = IMAGE_UID,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace the secrets already there. The new master secret no longer matches"
            " the pseudonyms and sealed data made under the old one, and PostgreSQL keeps the"
            " password it was created with: for a deployment that has not yet started.",
        ),
    ] = False,
) -> None:
    """Generate every secret docker-compose.yml needs (mode 0600); print where, never what."""
    try:
        written = generate(directory, None if owner == os.geteuid() else owner, force)
    except (SecretsError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    purposes = {secret.name: secret.purpose for secret in SECRETS}
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        typer.echo(f"wrote {path} ({mode:04o}, uid {path.stat().st_uid}): {purposes[path.name]}")
    typer.echo(f"Keep {directory} out of version control; back up gateway_secret_key.")
