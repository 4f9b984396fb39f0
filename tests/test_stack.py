"""`gateway stack up`: docker-compose.yml's topology as processes, run as an operator runs it.

nginx in front of two API processes, two Celery workers on Redis, one PostgreSQL database of
the test's own: births sent through the proxy reach a real receiver on 127.0.0.1, both APIs
serve, and `gateway stack down` leaves no process behind. A stack whose `up` was killed is
stopped by `down` all the same.

The stacks need PostgreSQL, so they run in the PostgreSQL pass (GATEWAY_TEST_DATABASE_URL),
and a broker: Redis database 7 on 127.0.0.1, this file's own. With CI=true a missing PostgreSQL,
Redis or nginx fails them; elsewhere it skips them, saying what is missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, DemoEnvironment, wait_for
from gateway.runtime import Runtime
from gateway.stack import NGINX, Member, State, start_ticks
from tests.conftest import POSTGRES_URL
from tests.fixtures.network import free_port
from tests.fixtures.postgres import own_database
from tests.fixtures.processes import children
from tests.fixtures.serving import GATEWAY, as_variables

in_the_postgres_pass = pytest.mark.broker  # the SQLite pass leaves these out (tests/conftest.py)

BROKER = "redis://127.0.0.1:6379/7"
BIRTHS = 6
START_SECONDS = 180  # four Python processes starting at once on a loaded two-core machine


def missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI runs every test")
    pytest.skip(what)


@pytest.fixture
def broker() -> Iterator[str]:
    """Redis database 7, emptied before and after: the stack's broker."""
    client = redis.Redis.from_url(BROKER)
    try:
        client.flushdb()
    except redis.RedisError as error:
        missing(f"Redis at {BROKER} does not answer ({type(error).__name__})")
    yield BROKER
    client.flushdb()
    client.close()


@pytest.fixture
def stack_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings on a PostgreSQL database of the test's own, created and dropped here."""
    if not os.access(NGINX, os.X_OK):
        missing(f"{NGINX} is missing (make nginx)")
    engine = create_engine(POSTGRES_URL or "")
    try:
        engine.connect().close()
    except OperationalError as error:
        missing(f"PostgreSQL does not answer ({type(error).__name__})")
    finally:
        engine.dispose()
    with own_database() as url:
        yield Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            host_jurisdiction="KEN",
            relay_interval_seconds=0.1,
            delivery_backoff_base_seconds=0.05,
            delivery_backoff_max_seconds=0.2,
            delivery_timeout_seconds=5,
            log_format="json",
        )


@dataclass
class Stack:
    """A `gateway stack up` process, what it printed, and where it keeps its files."""

    process: subprocess.Popen[bytes]
    output: Path
    run_dir: Path
    url: str

    def printed(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        ready = wait_for(
            lambda: "stop with Ctrl-C" in self.printed() or self.process.poll() is not None,
            seconds=START_SECONDS,
        )
        assert ready and self.process.poll() is None, f"the stack did not start:\n{self.printed()}"

    def members(self) -> State:
        state = State.load(self.run_dir)
        assert state is not None
        return state

    def processes(self) -> set[int]:
        """Every process under `up`: the stack's, and theirs (nginx's workers, Celery's pool)."""
        found, frontier = set(), [self.process.pid]
        while frontier:
            pid = frontier.pop()
            try:
                below = children(pid)
            except OSError:  # it ended meanwhile
                continue
            found.update(below)
            frontier.extend(below)
        return found


def start_stack(settings: Settings, tmp_path: Path, *options: str, **env: str) -> Stack:
    port = free_port()
    run_dir = tmp_path / "run"
    output = tmp_path / "stack-up.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [GATEWAY, "stack", "up", "--port", str(port), "--run-dir", str(run_dir)]
            + ["--ready-seconds", str(START_SECONDS), "--stop-seconds", "60", *options],
            env={**as_variables(settings), **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Stack(process, output, run_dir, f"http://127.0.0.1:{port}")


def alive(pid: int) -> bool:
    return start_ticks(pid) is not None  # a zombie counts as gone


def kill_what_is_left(stack: Stack, pids: set[int]) -> None:
    for pid in pids | {stack.process.pid}:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    stack.process.wait(timeout=60)


def access_lines(log: Path) -> list[dict[str, object]]:
    """The gateway's access lines in a process's log (JSON, one object a line)."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "gateway.api.access" or "method" in entry:
                lines.append(entry)
    return lines


@in_the_postgres_pass
def test_the_stack_serves_through_the_proxy_delivers_with_workers_and_stops_whole(
    stack_settings: Settings, broker: str, tmp_path: Path
) -> None:
    # The systems are registered in the stack's database; the civil registry's stand-in
    # sends its answers back through the proxy.
    runtime = Runtime.build(stack_settings)
    stack = start_stack(
        stack_settings, tmp_path, "--apis", "2", "--workers", "2", GATEWAY_BROKER_URL=broker
    )
    env = DemoEnvironment.start(runtime, stack.url)
    runtime.close()
    pids: set[int] = set()
    try:
        stack.wait_until_serving()
        pids = stack.processes()
        state = stack.members()
        roles = sorted(m.role for m in state.members)
        assert roles == ["api", "api", "migrate", "proxy", "worker", "worker"]
        assert f"serving at {stack.url}" in stack.printed()

        answers = [env.submit_birth(CIVIL_REGISTRY).status_code for _ in range(BIRTHS)]
        assert answers == [202] * BIRTHS
        registry, registration = env.standins[CIVIL_REGISTRY], env.standins[REGISTRATION]
        # Each birth reaches the civil registry, whose answer comes back through the proxy as
        # a second exchange, delivered to proGres: both by the workers.
        assert wait_for(
            lambda: len(registration.received) == len(env.confirmations) == BIRTHS, seconds=120
        ), stack.printed()
        assert len(registry.received) == BIRTHS
        assert env.callback_errors == []
        assert [c.status_code for c in env.confirmations] == [202] * BIRTHS

        # Both API processes took exchanges: round-robin through nginx.
        for number in (1, 2):
            served = access_lines(stack.run_dir / f"api-{number}.log")
            posts = [e for e in served if e["path"] == "/exchanges" and e["status"] == 202]
            assert posts, f"api-{number} served no exchange"
        upstreams = {
            line.partition("upstream=")[2].split()[0]
            for line in (stack.run_dir / "proxy-access.log").read_text().splitlines()
            if '"POST /exchanges"' in line
        }
        apis = {m.address.removeprefix("http://") for m in state.members if m.role == "api"}
        assert upstreams == apis
        # The workers delivered (the APIs, given a broker, publish and deliver nothing).
        delivered = " ".join(
            (stack.run_dir / f"worker-{n}.log").read_text(errors="replace") for n in (1, 2)
        )
        assert "gateway.deliver" in delivered

        down = subprocess.run(
            [GATEWAY, "stack", "down", "--run-dir", str(stack.run_dir)],
            env=as_variables(stack_settings),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert down.returncode == 0, down.stdout + down.stderr
        assert stack.process.wait(timeout=60) == 0, stack.printed()
        stopped = stack.members()
        ended = {m.name: m.ended for m in stopped.members if m.role != "migrate"}
        assert ended == dict.fromkeys(
            ["api-1", "api-2", "worker-1", "worker-2", "proxy"], "stopped"
        ), stack.printed()
        for name in ended:
            assert f"{name:<9}" in down.stdout
        assert [pid for pid in pids if alive(pid)] == []  # no orphan: nginx's, Celery's
    finally:
        if stack.process.poll() is None or any(alive(pid) for pid in pids):
            kill_what_is_left(stack, pids)
        env.stop()


@in_the_postgres_pass
def test_down_stops_what_a_killed_up_left(stack_settings: Settings, tmp_path: Path) -> None:
    """`up` killed outright cannot stop its processes: `down` finds them by pid and start time."""
    stack = start_stack(stack_settings, tmp_path, "--apis", "1", "--workers", "0")
    pids: set[int] = set()
    try:
        stack.wait_until_serving()
        pids = stack.processes()
        left = [m for m in stack.members().members if m.role in ("api", "proxy")]
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(timeout=60)
        assert all(alive(m.pid) for m in left)  # orphans now

        down = subprocess.run(
            [GATEWAY, "stack", "down", "--run-dir", str(stack.run_dir)],
            env=as_variables(stack_settings),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert down.returncode == 0, down.stdout + down.stderr
        assert "stopping the 2 process(es) it left" in down.stdout
        assert wait_for(lambda: not any(alive(pid) for pid in pids), seconds=60)
        again = subprocess.run(
            [GATEWAY, "stack", "down", "--run-dir", str(stack.run_dir)],
            env=as_variables(stack_settings),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0 and "nothing runs from" in again.stdout
    finally:
        if stack.process.poll() is None or any(alive(pid) for pid in pids):
            kill_what_is_left(stack, pids)


def test_down_never_signals_a_pid_given_since_to_another_process(tmp_path: Path) -> None:
    """A recorded pid whose process started at another time is someone else's: left alone."""
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        ticks = start_ticks(other.pid)
        assert ticks is not None
        recorded = Member("api-1", "api", ["gateway", "serve"], "api-1.log", pid=other.pid)
        recorded.start_ticks = ticks - 1  # the stack's api-1 had this pid before
        (tmp_path / "run").mkdir()
        State(supervisor=other.pid, url="http://127.0.0.1:1", members=[recorded]).save(
            tmp_path / "run"
        )
        down = subprocess.run(
            [GATEWAY, "stack", "down", "--run-dir", str(tmp_path / "run")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert down.returncode == 0 and "nothing runs from" in down.stdout
        assert other.poll() is None
    finally:
        assert other.stdin is not None
        other.stdin.close()  # its end of input: it exits
        other.wait(timeout=60)


def test_a_stack_that_cannot_run_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """On SQLite and without a broker: every problem said, nothing started, nothing written."""
    sqlite = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/g.db")
    refused = subprocess.run(
        [GATEWAY, "stack", "up", "--run-dir", str(tmp_path / "run")],
        env=as_variables(sqlite),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "the stack cannot start" in refused.stderr
    assert "GATEWAY_DATABASE_URL" in refused.stderr and "GATEWAY_BROKER_URL" in refused.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "g.db").exists()


@in_the_postgres_pass
def test_a_process_that_fails_to_start_stops_the_stack_with_its_log(
    stack_settings: Settings, tmp_path: Path
) -> None:
    """A database that is not there: `gateway migrate` fails, its last lines are shown."""
    broken = stack_settings.model_copy(
        update={"database_url": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"}
    )
    failed = subprocess.run(
        [GATEWAY, "stack", "up", "--run-dir", str(tmp_path / "run"), "--workers", "0"],
        env=as_variables(broken),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
    assert "error: migrate failed (exit 1)" in failed.stderr
    assert "OperationalError" in failed.stderr  # the end of its log, which says why
    state = State.load(tmp_path / "run")
    assert state is not None and [m.name for m in state.members] == ["migrate"]
