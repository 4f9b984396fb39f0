"""`gateway keys`: the keys that seal outbox bodies; where they stand, and their rotation.

Both run where the gateway's settings are (GATEWAY_* variables, its data directory), on its
database directly, like `gateway worker`: they never migrate it nor make a key. Neither
prints a body, nor a key: only key ids (keyed hashes that name a key without revealing it).

Rotating: raise GATEWAY_BODY_KEY_GENERATION for every serving process and worker (restart
them: they then seal new bodies under the new generation's key and still open the older
ones), then run `gateway keys rotate` with the same setting, to re-seal what the older keys
sealed. Never lower the setting while bodies sealed under a higher generation are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from sqlalchemy.engine import make_url

from gateway.config import SECRET_KEY_FILE, Settings

if TYPE_CHECKING:
    from gateway.store.db import Database

keys_app = typer.Typer(
    no_args_is_help=True,
    help="The keys that seal outbox bodies: status and rotate (run where the gateway's "
    "settings are).",
)
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def maintenance(settings: Settings) -> tuple[Database, bytes]:
    """Open the gateway's database for a maintenance command and read the master secret.

    Exits 2, saying what to do, if the database is missing or not at the newest migration,
    or no master secret is set or was made: a maintenance command makes neither.
    """
    from gateway.store.db import Database, is_current

    url = settings.resolved_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        _exit(
            f"no database at {parsed.database}: run this where `gateway serve` keeps its data "
            "(GATEWAY_DATA_DIR), or set GATEWAY_DATABASE_URL"
        )
    master = settings.existing_master_secret()
    if master is None:
        _exit(
            f"no master secret: set GATEWAY_SECRET_KEY, or run this where `gateway serve` "
            f"keeps its data ({settings.data_dir / SECRET_KEY_FILE})"
        )
    db = Database.connect(url)
    if not is_current(db.engine):
        db.dispose()
        _exit(
            "the database is not at the newest migration: run `gateway migrate` (or start "
            "`gateway serve`) first"
        )
    return db, master


def _exit(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@keys_app.command("status")
def status(as_json: AsJson = False) -> None:
    """Show the current sealing key and how many kept bodies each key sealed, by state."""
    from gateway.delivery.bodies import body_key_generations, kept_by_key

    settings = Settings()
    db, master = maintenance(settings)
    try:
        counts = kept_by_key(db)
    finally:
        db.dispose()
    generation = settings.body_key_generation
    held = body_key_generations(master, generation)
    current = next(key for key, n in held.items() if n == generation)
    by_key: dict[str | None, dict[str, int]] = {}
    for (key, state), count in sorted(counts.items(), key=lambda c: (c[0][0] or "", c[0][1])):
        by_key.setdefault(key, {})[state] = count
    keys: list[dict[str, Any]] = [
        {"key_id": key, "generation": held.get(key or ""), "bodies": bodies}
        for key, bodies in by_key.items()
    ]
    if as_json:
        found = {"current_key": current, "generation": generation, "keys": keys}
        typer.echo(json.dumps(found, indent=2))
        raise typer.Exit(0)
    typer.echo(f"sealing under key {current} (generation {generation})")
    for entry in keys:
        if entry["key_id"] is None:
            what = "not sealed (queued before bodies were sealed; sealed at the next start)"
        elif entry["generation"] is None:
            what = "a key this gateway does not hold"
        else:
            now = " (current)" if entry["key_id"] == current else ""
            what = f"generation {entry['generation']}{now}"
        listed = ", ".join(f"{n} {state}" for state, n in entry["bodies"].items())
        typer.echo(f"  {entry['key_id'] or 'none'}: {what}: {listed}")
    if not keys:
        typer.echo("  no body is kept")
    raise typer.Exit(0)


@keys_app.command("rotate")
def rotate(
    batch: Annotated[
        int, typer.Option(min=1, max=1000, help="Rows re-sealed a transaction.")
    ] = 100,
) -> None:
    """Re-seal every kept body (pending, held, dead) under the current key; print counts.

    Idempotent: run again, it finds nothing left. Rows sealed under a key this gateway does
    not hold are left as they are and listed; the exit status is then 1.
    """
    from gateway.delivery.bodies import LISTED, body_keyring, reseal_bodies

    settings = Settings()
    db, master = maintenance(settings)
    keyring = body_keyring(master, settings.body_key_generation)
    try:
        done = reseal_bodies(db, keyring, batch)
        if done.resealed:
            db.truncate_log()  # the old seals leave SQLite's log too
    finally:
        db.dispose()
    generation = settings.body_key_generation
    typer.echo(
        f"re-sealed {done.resealed} bodies under key {keyring.current_id} (generation {generation})"
    )
    if done.changed_meanwhile:
        typer.echo(
            f"{done.changed_meanwhile} changed while this ran (delivered, erased or re-sealed "
            "by another process): left as they are"
        )
    left = done.unknown_key + done.unreadable
    if not left:
        raise typer.Exit(0)
    if done.unknown_key:
        typer.echo(
            f"error: {done.unknown_key} bodies are sealed under keys this gateway does not "
            f"hold (GATEWAY_BODY_KEY_GENERATION is {generation}: was it higher when they were "
            "sealed? is GATEWAY_SECRET_KEY the gateway's?): left as they are",
            err=True,
        )
    if done.unreadable:
        typer.echo(
            f"error: {done.unreadable} bodies do not open under their key (altered?): left as "
            "they are",
            err=True,
        )
    more = f" (the first {LISTED})" if left > LISTED else ""
    typer.echo(f"their exchanges{more}:", err=True)
    for exchange_id in done.left_alone:
        typer.echo(f"  {exchange_id}", err=True)
    raise typer.Exit(1)
