"""`gateway audit`: fetch the exchange log and its keys, and verify an export offline.

`verify` is what a data protection officer runs on their own machine with only an export and
the log's public key: it needs neither the server nor the database, and trusts nothing the
export says about itself. The others fetch from a gateway with the DPO's token (or the
administrator's), and `rotate-key` runs where the gateway's settings are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer

from gateway.cli_output import call_gateway, token_or_exit, unreachable
from gateway.config import Settings

audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident exchange log.")

DEFAULT_URL = "http://127.0.0.1:8000"
GatewayUrl = Annotated[str, typer.Option(help="Gateway base URL.")]
OutFile = Annotated[Path, typer.Option("--out", dir_okay=False, help="Where to write it.")]


@audit_app.command()
def verify(
    export: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="An export of the log.")
    ],
    key: Annotated[
        list[str],
        typer.Option(help="A verifier key, or a file of them (one a line); repeat for several."),
    ],
    checkpoint: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A checkpoint saved earlier."),
    ] = None,
) -> None:
    """Verify an export offline: every leaf, every checkpoint, and a saved checkpoint."""
    from gateway.audit.checkpoint import CheckpointError
    from gateway.audit.verify import load_keys, verify_export

    try:
        keys = load_keys(key)
    except CheckpointError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    saved = None
    if checkpoint is not None:
        try:
            saved = checkpoint.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            typer.echo(f"error: cannot read the checkpoint {checkpoint}: {error}", err=True)
            raise typer.Exit(2) from error
    verdict = verify_export(export, keys, saved)
    for line in verdict.lines():
        typer.echo(line)
    raise typer.Exit(0 if verdict.ok else 1)


@audit_app.command()
def export(out: OutFile, url: GatewayUrl = DEFAULT_URL) -> None:
    """Download the whole log (entries and signed checkpoints) to a file."""
    headers = _authorization()
    try:
        with httpx.stream("GET", f"{url}/log/export", headers=headers, timeout=300) as response:
            if not response.is_success:
                response.read()
                _refused(response)
            with out.open("wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
    except httpx.HTTPError as exc:
        unreachable(url, exc)
    typer.echo(f"wrote {out}")


@audit_app.command("checkpoint")
def latest_checkpoint(
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Also save it here.")
    ] = None,
    url: GatewayUrl = DEFAULT_URL,
) -> None:
    """Print the latest signed checkpoint; save it to compare a later export with it."""
    response = call_gateway(url, "GET", "/log/checkpoint", headers=_authorization())
    if not response.is_success:
        _refused(response)
    if out is not None:
        out.write_text(response.text, encoding="utf-8")
    typer.echo(response.text, nl=False)


@audit_app.command()
def keys(
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Also save them here.")
    ] = None,
    url: GatewayUrl = DEFAULT_URL,
) -> None:
    """Print the log's verifier keys, one a line (the file `verify --key` reads)."""
    response = call_gateway(url, "GET", "/log/keys", headers=_authorization())
    if not response.is_success:
        _refused(response)
    text = "".join(f"{k}\n" for k in response.json()["keys"])
    if out is not None:
        out.write_text(text, encoding="utf-8")
    typer.echo(text, nl=False)


@audit_app.command("rotate-key")
def rotate_key() -> None:
    """Sign from now on with a new key; keep publishing the old ones (run with the server's
    GATEWAY_* settings)."""
    from gateway.errors import GatewayError
    from gateway.runtime import Runtime

    try:
        runtime = Runtime.build(Settings())
    except GatewayError as error:
        typer.echo(f"error ({error.reason}): {error.message}", err=True)
        raise typer.Exit(2) from error
    try:
        new_key = runtime.log.rotate_key()
    finally:
        runtime.close()
    typer.echo(f"signing with a new key from now on: {new_key}")
    typer.echo("give the DPO the new key too (`gateway audit keys`); keep the old ones")


def _authorization() -> dict[str, str]:
    return {"Authorization": f"Bearer {token_or_exit('dpo', 'admin')}"}


def _refused(response: httpx.Response) -> None:
    typer.echo(f"error: the gateway answered {response.status_code}: {response.text}", err=True)
    raise typer.Exit(1)
