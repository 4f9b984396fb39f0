"""The README works as written: its links resolve in a clone, and its shell blocks run.

The blocks run in one bash, in order, beside a gateway started the way the README says
(`make run`), from a directory laid out like a fresh clone with its own `var/`. Ports are
the README's own (8000, and 8101 to 8103 for the demo stand-ins), so a lock keeps two suites
on one machine from running the tour at once.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TOUR_PORTS = (8000, 8101, 8102, 8103)
NOT_RUN = "<!-- not run by tests/test_readme.py"
STARTUP_SECONDS = 90
TOUR_SECONDS = 180
# What a clone holds that the tour reads: the Makefile and the project file (`make run`),
# the installed environment, and the demo's message.
CLONE_PARTS = ("Makefile", "pyproject.toml", ".venv", "gateway")


def shell_blocks(markdown: str) -> list[str]:
    """Return the text of every ```sh block, except those marked as not run just above."""
    blocks, previous = [], ""
    for match in re.finditer(r"^```sh\n(.*?)^```$", markdown, flags=re.S | re.M):
        before = markdown[: match.start()].rstrip().splitlines()
        previous = before[-1] if before else ""
        if not previous.startswith(NOT_RUN):
            blocks.append(match.group(1))
    return blocks


def test_the_shell_blocks_are_found() -> None:
    blocks = shell_blocks(README.read_text())
    assert len(blocks) == 2  # the tour and the command line
    assert "make test" not in "".join(blocks)  # the suite does not run itself


@pytest.mark.parametrize("document", [README, *sorted((REPO / "docs").glob("*.md"))])
def test_every_relative_link_is_a_file_in_the_repository(document: Path) -> None:
    links = re.findall(r"\]\(([^)#\s]+)", document.read_text())
    relative = [link for link in links if "://" not in link]
    missing = [link for link in relative if not (document.parent / link).exists()]
    assert missing == []
    outside = [
        link for link in relative if not (document.parent / link).resolve().is_relative_to(REPO)
    ]
    assert outside == []  # nothing outside the clone


@pytest.fixture
def tour_ports() -> Iterator[None]:
    """Hold the machine-wide tour lock; fail at once, naming it, if a port is taken."""
    with open(Path(tempfile.gettempdir()) / "exchange-gateway-readme-tour.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        taken = [port for port in TOUR_PORTS if _listening(port)]
        assert not taken, f"the README's ports are taken: {taken} (is `make run` going?)"
        yield


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    directory = tmp_path / "clone"
    directory.mkdir()
    for part in CLONE_PARTS:
        (directory / part).symlink_to(REPO / part)
    return directory


def _fresh_environment() -> dict[str, str]:
    """The environment of a new terminal: none of the gateway's variables set."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}


@pytest.fixture
def make_run(clone: Path, tour_ports: None) -> Iterator[Path]:
    """`make run` in the clone, until it answers; stopped (its whole group) afterwards."""
    log = clone / "make-run.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            # The install is what `make test` did before running this: not done again here.
            ["make", "--no-print-directory", "--old-file=.venv/bin/.installed", "run"],
            cwd=clone,
            env=_fresh_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _ready(clone):
            assert server.poll() is None, f"make run stopped:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"make run never answered:\n{log.read_text()}"
            time.sleep(0.2)
        yield clone
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop `make run` and the gateway under it: their whole process group."""
    for sig, patience in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break  # all gone already
        try:
            server.wait(timeout=patience)
            break
        except subprocess.TimeoutExpired:
            continue


def _ready(clone: Path) -> bool:
    if not (clone / "var" / "demo-credentials.json").exists():
        return False
    try:
        return httpx.get("http://127.0.0.1:8000/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_readme_runs_as_written(make_run: Path) -> None:
    script = "\n".join(shell_blocks(README.read_text()))
    ran = subprocess.run(
        ["bash", "-c", script],
        cwd=make_run,
        env=_fresh_environment(),
        capture_output=True,
        text=True,
        timeout=TOUR_SECONDS,
    )
    out, err = ran.stdout, ran.stderr
    for broken in ("command not found", "No such file", "syntax error", "Traceback", "error:"):
        assert broken not in err, err
    server_log = (make_run / "make-run.log").read_text()
    assert "ready" in server_log.lower()
    # 1. accepted, delivered, and the registration number came back to proGres
    assert '"categories":["birth","family","identifiers","identity","nationality"]' in out
    assert "crvs-national -> unhcr-progres  birth-registration-confirmation  allowed  " in out
    assert '"resourceType": "Bundle"' in out
    assert '"progres_birthcertificatenumber": "' in out
    # 2. the embassy of the country of origin: denied
    assert '"reasons":["origin.risk_country"]' in out
    # 3. the administrator's listing, in lines and as JSON
    assert "unhcr-progres -> embassy-ssd  birth-notification  denied (origin.risk_country)" in out
    assert '"next_cursor":' in out
    # 4. what the rules would accept
    assert "X-Exchange-Purpose: the rules accept from unhcr-progres to crvs-national" in out
    # 5. every rule that fired, and the verdict
    assert "DENIED  reasons=origin.risk_country" in out
    # the command line
    assert "Usage: gateway" in out
    assert "progres" in out and "opencrvs" in out
    assert '"replay": false' in out
    # 6. the DPO: denials in words, and the log verified offline
    assert "OK: the export is exactly the log its signed checkpoints vouch for." in out
