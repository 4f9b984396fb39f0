"""The local stack: docker-compose.yml's topology as processes on this machine.

`gateway stack up` starts what Compose starts, against this machine's PostgreSQL and broker
(GATEWAY_DATABASE_URL, GATEWAY_BROKER_URL): `gateway migrate` once, then API processes
(`gateway serve`, each on a port of its own on 127.0.0.1), Celery workers (`gateway worker`)
and nginx in front of the APIs, configured from the template Compose uses (gateway/nginx.py).
It says where it serves once every part is ready: each API answers /health, each worker
answers a Celery ping, and the proxy answers /health. It stops them all on SIGTERM or Ctrl-C,
or when `gateway stack down` asks, or when one of them dies: the proxy first (no new
requests), then the APIs, then the workers (each finishes what it holds); SIGTERM (nginx:
SIGQUIT, its graceful stop), a wait, SIGKILL for what is left, and a line for each.

The run directory holds everything a stack writes: stack.json (what runs, with pids), a log
for each process, nginx's configuration, pid and temporary files, and stack.lock, which `up`
holds while it runs so that `down` knows whether it is alive. Each process runs in a session
of its own, so Ctrl-C at the terminal reaches `up` alone, which stops the rest in order; if
`up` itself was killed, `down` stops what it left, each process recognised by its pid and
start time, so a pid the system has since given to another process is never signalled.

Why processes and not containers: this machine runs no container engine, and the tests need
the topology (tests/test_stack.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy.engine import make_url

from gateway.config import Settings
from gateway.errors import ConfigurationError, Problem
from gateway.nginx import ProxyConfig, render

NGINX = Path("/usr/sbin/nginx")
STATE_FILE, LOCK_FILE = "stack.json", "stack.lock"
LOG_TAIL_LINES = 20

Say = Callable[[str], None]


class StackError(Exception):
    """A part of the stack did not start, or could not be stopped; the message says which."""


@dataclass(frozen=True)
class StackPlan:
    """What to start, where, and how long to wait for it."""

    run_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    apis: int = 2
    workers: int = 2
    worker_concurrency: int = 1
    nginx: Path = NGINX
    ready_seconds: float = 120.0
    stop_seconds: float = 30.0

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{shown}:{self.port}"


@dataclass
class Member:
    """One process of the stack, as stack.json records it."""

    name: str
    role: str  # migrate, api, worker or proxy
    argv: list[str]
    log: str
    address: str = ""
    pid: int = 0
    start_ticks: int = 0
    ended: str = ""


@dataclass
class State:
    """stack.json: the supervisor (`up`), where the stack serves, and its processes."""

    supervisor: int
    url: str
    supervisor_ticks: int = 0
    members: list[Member] = field(default_factory=list)
    stopping: bool = False

    def save(self, run_dir: Path) -> None:
        temporary = run_dir / f".{STATE_FILE}.tmp"
        temporary.write_text(json.dumps(asdict(self), indent=2))
        temporary.replace(run_dir / STATE_FILE)

    @classmethod
    def load(cls, run_dir: Path) -> State | None:
        path = run_dir / STATE_FILE
        if not path.is_file():
            return None
        raw: dict[str, Any] = json.loads(path.read_text())
        members = [Member(**member) for member in raw.pop("members")]
        return cls(**raw, members=members)


# -- processes, as /proc shows them -------------------------------------------------------


def start_ticks(pid: int) -> int | None:
    """Return when the process started (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return None if fields[0] == "Z" else int(fields[19])


def is_running(member: Member) -> bool:
    """Tell whether the member's process still runs: the same pid, started at the same time."""
    return member.pid > 0 and start_ticks(member.pid) == member.start_ticks


def gateway_command() -> str:
    """Return the `gateway` command beside this Python, so every process runs this install."""
    beside = Path(sys.executable).with_name("gateway")
    found = str(beside) if beside.exists() else shutil.which("gateway")
    if found is None:
        raise StackError("the `gateway` command is not installed beside this Python")
    return found


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path) -> str:
    """Return the last lines of a process's log, to say why it failed."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(f"    {line}" for line in lines[-LOG_TAIL_LINES:]) or "    (empty log)"


# -- checks before anything starts --------------------------------------------------------


def check(plan: StackPlan, settings: Settings) -> None:
    """Refuse, before anything starts, a stack that could not run; list every problem."""
    problems = []
    if make_url(settings.resolved_database_url).get_backend_name() != "postgresql":
        problems.append(
            Problem(
                "GATEWAY_DATABASE_URL",
                "several processes share one database: set it to a PostgreSQL database",
            )
        )
    if plan.workers and settings.broker_url is None:
        problems.append(
            Problem(
                "GATEWAY_BROKER_URL",
                "workers need a broker (redis://... or amqp://...); or --workers 0, and each"
                " API process delivers itself",
            )
        )
    if not os.access(plan.nginx, os.X_OK):
        problems.append(Problem("nginx", f"{plan.nginx} is missing: `make nginx` installs it"))
    if problems:
        raise ConfigurationError("the stack cannot start", problems)


# -- the supervisor ---------------------------------------------------------------------


class Supervisor:
    """Start the stack's processes, watch them, stop them: what `gateway stack up` runs."""

    def __init__(self, plan: StackPlan, settings: Settings, say: Say, complain: Say) -> None:
        self.plan = plan
        self.settings = settings
        self.say = say  # what runs, where, and how each process ended
        self.complain = complain  # what went wrong
        self.run_dir = plan.run_dir.resolve()
        self.stop_requested = threading.Event()
        self.state = State(os.getpid(), plan.url, start_ticks(os.getpid()) or 0)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    def request_stop(self, *_: object) -> None:
        """Ask the supervisor to stop the stack (a signal handler)."""
        self.stop_requested.set()

    # The environment every process gets: this one's, with the stack's settings on top.
    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["GATEWAY_DATA_DIR"] = str(self.settings.data_dir.resolve())
        env["GATEWAY_HTTP_TRUSTED_PROXIES"] = "127.0.0.1"  # the proxy, and only the proxy
        env["GATEWAY_WORKERS"] = "1"  # one serving process each: the stack runs several
        if not self.plan.workers:
            env.pop("GATEWAY_BROKER_URL", None)  # no workers: each API delivers itself
        return env

    def run(self) -> int:
        """Start the stack, serve until asked to stop or a process dies; return an exit code."""
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with holding_lock(self.run_dir):
            self._refuse_leftovers()
            self.state.save(self.run_dir)  # from now on, `down` finds this process
            try:
                self._start()
            except StackError as error:
                self.complain(f"error: {error}")
                self.stop()
                return 1
            self._announce()
            died = self._watch()
            self.stop()
            return 1 if died else 0

    def _refuse_leftovers(self) -> None:
        earlier = State.load(self.run_dir)
        if earlier is not None and any(is_running(m) for m in earlier.members):
            raise StackError(
                f"processes of an earlier stack still run from {self.run_dir}:"
                f" gateway stack down --run-dir {self.run_dir}"
            )

    def _start(self) -> None:
        gateway = gateway_command()
        env = self.environment()
        migrate = self._spawn("migrate", "migrate", [gateway, "migrate"], env)
        self._wait_for_exit(migrate)
        api_ports = [free_port() for _ in range(self.plan.apis)]
        for number, port in enumerate(api_ports, 1):
            argv = [gateway, "serve", "--host", "127.0.0.1", "--port", str(port)]
            self._spawn(f"api-{number}", "api", argv, env, f"http://127.0.0.1:{port}")
        for number in range(1, self.plan.workers + 1):
            name = f"worker-{number}"
            argv = [gateway, "worker", "--hostname", f"{name}@%h"]
            argv += ["--concurrency", str(self.plan.worker_concurrency)]
            self._spawn(name, "worker", argv, env, f"{name}@{socket.gethostname()}")
        for member in self.state.members:
            if member.role == "api":
                self._wait_until(member, answers_health)
        if self.plan.workers:
            ping = worker_ping(self.settings)
            for member in self.state.members:
                if member.role == "worker":
                    self._wait_until(member, ping)
        proxy = self._spawn_proxy(api_ports, env)
        self._wait_until(proxy, answers_health)

    def _spawn(
        self, name: str, role: str, argv: list[str], env: dict[str, str], address: str = ""
    ) -> Member:
        log = self.run_dir / f"{name}.log"
        member = Member(name, role, argv, str(log), address)
        handle = log.open("ab")
        self._logs.append(handle)
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
        )
        self.processes[name] = process
        member.pid = process.pid
        member.start_ticks = start_ticks(process.pid) or 0
        self.state.members.append(member)
        self.state.save(self.run_dir)
        return member

    def _spawn_proxy(self, api_ports: list[int], env: dict[str, str]) -> Member:
        state_dir = self.run_dir / "nginx"
        state_dir.mkdir(mode=0o700, exist_ok=True)
        user = None
        if os.geteuid() == 0:  # a root master would hand its workers to `nobody`: stay as we are
            user = pwd.getpwuid(0).pw_name
        config = ProxyConfig(
            listen=f"{self.plan.host}:{self.plan.port}",
            upstreams=[f"127.0.0.1:{port}" for port in api_ports],
            state_dir=str(state_dir),
            access_log=str(self.run_dir / "proxy-access.log"),
            error_log=str(self.run_dir / "proxy.log"),
            user=user,
        )
        path = self.run_dir / "nginx.conf"
        path.write_text(render(config))
        error_log = str(self.run_dir / "proxy.log")  # before the configuration is read, too
        argv = [str(self.plan.nginx), "-p", str(state_dir), "-e", error_log, "-c", str(path)]
        return self._spawn("proxy", "proxy", argv, env, self.plan.url)

    def _wait_for_exit(self, member: Member) -> None:
        process = self.processes[member.name]
        deadline = time.monotonic() + self.plan.ready_seconds
        while process.poll() is None:
            self._starting(member)
            if time.monotonic() > deadline:
                raise StackError(f"{member.name} did not finish:\n{log_tail(Path(member.log))}")
            self.stop_requested.wait(0.1)
        member.ended = f"exited {process.returncode}"
        if process.returncode != 0:
            raise StackError(
                f"{member.name} failed (exit {process.returncode}):\n{log_tail(Path(member.log))}"
            )

    def _wait_until(self, member: Member, ready: Callable[[str], bool]) -> None:
        """Wait until `ready(member.address)`; fail if the process exits or time runs out."""
        process = self.processes[member.name]
        deadline = time.monotonic() + self.plan.ready_seconds
        while True:
            self._starting(member)
            if process.poll() is not None:
                raise StackError(
                    f"{member.name} exited ({process.returncode}) before it was ready:\n"
                    f"{log_tail(Path(member.log))}"
                )
            if ready(member.address):
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{member.name} was not ready within {self.plan.ready_seconds:g} s:\n"
                    f"{log_tail(Path(member.log))}"
                )
            self.stop_requested.wait(0.2)

    def _starting(self, member: Member) -> None:
        if self.stop_requested.is_set():
            raise StackError(f"asked to stop while {member.name} was starting")

    def _announce(self) -> None:
        say = self.say
        say(f"gateway stack: serving at {self.plan.url} (nginx, round-robin to the APIs)")
        for member in self.state.members:
            if member.role != "migrate":
                say(f"  {member.name:<9} pid {member.pid:<7} {member.address}")
        if not self.plan.workers:
            say("  no workers: each API process delivers what it accepts")
        say(f"logs and pids in {self.run_dir}")
        say(f"stop with Ctrl-C, or: gateway stack down --run-dir {self.run_dir}")

    def _watch(self) -> bool:
        """Wait for a stop request; return True if a process died first (it is reported)."""
        while not self.stop_requested.wait(0.5):
            for member in self.state.members:
                process = self.processes[member.name]
                if member.role != "migrate" and process.poll() is not None:
                    member.ended = f"exited {process.returncode} by itself"
                    self.complain(
                        f"error: {member.name} exited ({process.returncode}); stopping the"
                        f" stack. Its log ends:\n{log_tail(Path(member.log))}"
                    )
                    return True
        return False

    def stop(self) -> None:
        """Stop every process, the proxy first, then the APIs, then the workers; report each."""
        self.state.stopping = True
        self.state.save(self.run_dir)
        for role in ("proxy", "api", "worker", "migrate"):
            group = [m for m in self.state.members if m.role == role and not m.ended]
            for member in group:
                process = self.processes[member.name]
                if process.poll() is None:
                    process.send_signal(signal.SIGQUIT if role == "proxy" else signal.SIGTERM)
            deadline = time.monotonic() + self.plan.stop_seconds
            for member in group:
                member.ended = self._ended(self.processes[member.name], deadline)
                self.say(f"  {member.name:<9} pid {member.pid:<7} {member.ended}")
        for handle in self._logs:
            handle.close()
        self.state.save(self.run_dir)
        self.say("gateway stack: stopped")

    def _ended(self, process: subprocess.Popen[bytes], deadline: float) -> str:
        try:
            code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return f"killed: still running {self.plan.stop_seconds:g} s after SIGTERM"
        return "stopped" if code in (0, -signal.SIGTERM, -signal.SIGQUIT) else f"exited {code}"


@contextmanager
def holding_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock while the stack runs: one stack per run directory."""
    with (run_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            state = State.load(run_dir)
            pid = f" (pid {state.supervisor})" if state else ""
            raise StackError(
                f"a stack already runs from {run_dir}{pid}: gateway stack down --run-dir {run_dir}"
            ) from None
        yield


def supervisor_alive(run_dir: Path) -> bool:
    """Tell whether a `gateway stack up` holds the run directory's lock."""
    path = run_dir / LOCK_FILE
    if not path.exists():
        return False
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


# -- readiness --------------------------------------------------------------------------


def answers_health(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def worker_ping(settings: Settings) -> Callable[[str], bool]:
    """Return a check that a worker, by its Celery node name, answers a ping on the broker."""
    from gateway.delivery.worker import app, configure

    configure(app, settings)

    def answers(node: str) -> bool:
        try:
            return bool(app.control.ping(destination=[node], timeout=1.0))
        except Exception:  # the broker not there yet, or gone: not ready, ask again
            return False

    return answers


# -- `gateway stack down` ---------------------------------------------------------------


def down(run_dir: Path, stop_seconds: float, say: Say) -> int:
    """Stop the stack running from `run_dir`; return an exit code.

    With `up` alive, ask it (SIGTERM) and wait: it stops its processes in order and reports.
    With `up` gone, stop what it left, recognising each process by pid and start time.
    """
    run_dir = run_dir.resolve()
    state = State.load(run_dir)
    if state is None:
        say(f"no stack has run from {run_dir}")
        return 0
    if supervisor_alive(run_dir):
        if start_ticks(state.supervisor) != state.supervisor_ticks:
            say(f"a gateway stack up is starting from {run_dir}; try again in a moment")
            return 1
        os.kill(state.supervisor, signal.SIGTERM)
        deadline = time.monotonic() + 3 * stop_seconds + 10
        while supervisor_alive(run_dir):
            if time.monotonic() > deadline:
                say(f"gateway stack up (pid {state.supervisor}) did not stop; try again")
                return 1
            time.sleep(0.1)
        stopped = State.load(run_dir) or state
        for member in stopped.members:
            if member.role != "migrate":
                say(f"  {member.name:<9} pid {member.pid:<7} {member.ended or 'not started'}")
        say(f"gateway stack: stopped (it ran from {run_dir})")
        return 0
    return _stop_leftovers(run_dir, state, stop_seconds, say)


def _stop_leftovers(run_dir: Path, state: State, stop_seconds: float, say: Say) -> int:
    left = [m for m in state.members if is_running(m)]
    if not left:
        say(f"nothing runs from {run_dir}")
        return 0
    say(f"gateway stack up is gone; stopping the {len(left)} process(es) it left")
    for role in ("proxy", "api", "worker", "migrate"):
        group = [m for m in left if m.role == role]
        for member in group:
            os.kill(member.pid, signal.SIGQUIT if role == "proxy" else signal.SIGTERM)
        deadline = time.monotonic() + stop_seconds
        while any(is_running(m) for m in group) and time.monotonic() < deadline:
            time.sleep(0.1)
        for member in group:
            if is_running(member):
                os.kill(member.pid, signal.SIGKILL)
                member.ended = f"killed: still running {stop_seconds:g} s after SIGTERM"
            else:
                member.ended = "stopped"
            say(f"  {member.name:<9} pid {member.pid:<7} {member.ended}")
    state.save(run_dir)
    return 0
