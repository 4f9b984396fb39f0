"""One typed settings object, read from GATEWAY_* environment variables.

Logging (`gateway/logs.py`): GATEWAY_LOG_FORMAT is `json` (the default: one JSON object per
line on stderr, for a log collector) or `text` (a readable line, for a person at a terminal);
GATEWAY_LOG_LEVEL (`info`; `debug`, `warning`, `error`, `critical`, in any case) is the level
of the gateway's own lines; uvicorn's INFO lines come only at `debug`, and libraries stay at
WARNING whatever it is.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.canonical.countries import Country
from gateway.policy.agreements import OriginException

SECRET_KEY_FILE = "secret.key"
ADMIN_TOKEN_FILE = "admin.token"
DPO_TOKEN_FILE = "dpo.token"


class Settings(BaseSettings):
    """Defaults give the embedded gateway: a SQLite file and a key file in `data_dir`."""

    # GATEWAY_SECRETS_DIR points at Docker secrets: files named gateway_secret_key and so on.
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", frozen=True, secrets_dir=os.environ.get("GATEWAY_SECRETS_DIR")
    )

    data_dir: Path = Path("./var")
    database_url: str | None = None
    # The master secret: pseudonym and sealing keys derive from it. Without one, a random key
    # is created once in data_dir/secret.key (mode 0600) so pseudonyms stay stable across
    # restarts; losing it means remembered risk countries no longer match new messages.
    secret_key: SecretStr | None = None
    admin_token: SecretStr | None = None
    # The data protection officer reads the exchange log, its proofs and the DPO views; the
    # administrator runs the gateway. Neither token opens the other's routes.
    dpo_token: SecretStr | None = None
    host_jurisdiction: Country = "KEN"
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # The HTTP edge (gateway/api/server.py): how long and how much a caller may take before it
    # is cut off, and how many connections one serving process holds. Slow callers held
    # connections for ever, and 1,100 of them took a server down.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_max_header_bytes: int = Field(default=32_768, gt=0)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Connections one process serves at once (more get 503); keep it under `ulimit -n`.
    http_max_connections: int = Field(default=1000, gt=0)
    http_backlog: int = Field(default=2048, gt=0)
    # Proxies whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips, comma-
    # separated); none by default, or anyone on the host could choose the address it is
    # counted under.
    http_trusted_proxies: str = ""
    # Failed authentications per client address: this many within the window, and the address
    # is refused (429) until the oldest of them leaves the window; at most this many addresses
    # are tracked per process (the least recent forgotten first).
    auth_failure_limit: int = Field(default=20, gt=0)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0)
    auth_failure_max_addresses: int = Field(default=10_000, gt=0)
    policy_dir: Path | None = None
    # The narrow exceptions to the origin block ("return", "nationality-documents"), as a JSON
    # list: none by default, so nothing reaches a country of origin. An agreement must open
    # an exception too, and the DPO approves every transfer under one.
    origin_exceptions: frozenset[OriginException] = frozenset()
    relay_enabled: bool = True
    # How stale another process's view of the system registry may be (this process's is never).
    registry_cache_seconds: float = Field(default=5.0, ge=0)
    relay_interval_seconds: float = Field(default=1.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_max_attempts: int = Field(default=12, gt=0)
    delivery_backoff_base_seconds: float = Field(default=2.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # A relay's claim on a message lasts this long unless renewed; the relay renews its claims
    # every renewal interval while it holds them (default: a quarter of the lease, at most
    # half the timeout). Checked at start-up: lease > 2 x renewal, renewal < timeout.
    delivery_lease_seconds: float = Field(default=30.0, gt=0)
    delivery_lease_renew_seconds: float | None = Field(default=None, gt=0)
    # Destinations sent to at once by each process's relay (one thread each).
    delivery_threads: int = Field(default=8, gt=0)
    # Outbox bodies are sealed under the key of this generation, derived from the master
    # secret (gateway/delivery/bodies.py): raising it rotates the sealing key without changing
    # the master, from which pseudonyms derive and which must never change. Every earlier
    # generation still opens; `gateway keys rotate` re-seals what they sealed. A dead
    # letter's body is erased this many days after its last attempt, its record kept
    # (`gateway dead-letters purge`; docs/dead-letters.md).
    body_key_generation: int = Field(default=1, ge=1, le=1000)
    dead_letter_retention_days: int = Field(default=30, gt=0)
    # Celery delivery (gateway/delivery/tasks.py, docs/delivery.md): with a broker (redis://
    # or amqp://; it may hold a password), serving processes deliver nothing themselves but
    # publish a task after each commit, and `gateway worker` delivers. A task runs at most the
    # time limit (its worker process is then killed and the message's lease runs out), which
    # must stay under the broker's acknowledgement timeout: Redis's visibility timeout (set
    # from this) or RabbitMQ's consumer_timeout (the server's; 30 min by default). Checked at
    # start-up. The outbox stays the source of truth: a lost task is published again.
    broker_url: SecretStr | None = None
    task_time_limit_seconds: float = Field(default=300.0, gt=0)
    broker_ack_timeout_seconds: float = Field(default=1800.0, gt=0)
    # The exchange log (gateway/audit/log.py): its origin, the first line of every checkpoint
    # and the name of its signing key (no space, no "+"; keep it for the log's life), and how
    # often each process's appender seals what has committed (the most the log lags).
    log_origin: str = Field(default="exchange-gateway.local/log", pattern=r"^[^\s+]{1,200}$")
    log_append_interval_seconds: float = Field(default=1.0, gt=0)
    log_appender_enabled: bool = True
    # How the serving process logs (gateway/logs.py): one JSON object a line, or text.
    log_format: Literal["json", "text"] = "json"
    log_level: Annotated[
        Literal["critical", "error", "warning", "info", "debug"],
        BeforeValidator(lambda level: level.lower() if isinstance(level, str) else level),
    ] = "info"
    # The data protection officer's transfer register (gateway/audit/views.py): the controller
    # each line names, and how long exchange records are declared to be kept (as the register
    # says it; nothing here deletes records).
    controller: str = Field(
        default="the gateway's operator (set GATEWAY_CONTROLLER)", min_length=1, max_length=500
    )
    exchange_record_retention_days: int = Field(default=3650, gt=0)
    # Inter-state specific requests (gateway/requests/, docs/requests.md). Every denial is
    # answered no sooner than the floor after the request arrived, whatever refused it, so
    # its timing cannot tell a refused person from one not registered; the registry must
    # answer within the fetch timeout (also counted from arrival, and kept under the floor)
    # or the request is refused like any other. Each requesting system may make `burst`
    # requests at once and `rate_per_minute` a minute.
    request_denial_floor_seconds: float = Field(default=0.5, gt=0)
    request_fetch_timeout_seconds: float = Field(default=0.3, gt=0)
    request_burst: int = Field(default=10, gt=0)
    request_rate_per_minute: float = Field(default=30.0, gt=0)
    # Aggregate statistics (gateway/statistics/): no count under this is ever answered. At
    # least 3: in a cell of two, each person learns the other's every counted attribute.
    statistics_min_cell: int = Field(default=5, ge=3)
    # GET /metrics (gateway/api/metrics.py, docs/metrics.md) is the administrator's: no
    # personal data, but destinations and volumes are operational information. True opens it
    # to any caller, for a Prometheus scraping over a private network. (Several processes'
    # counts are summed through PROMETHEUS_MULTIPROC_DIR, prometheus_client's own variable.)
    metrics_public: bool = False

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'gateway.db'}"

    def existing_master_secret(self) -> bytes | None:
        """Return the master secret if one is set or was made, never making one (workers)."""
        found = self._existing_token(self.secret_key, SECRET_KEY_FILE)
        return None if found is None else found.encode()

    def master_secret(self) -> bytes:
        """Return the master secret, creating the embedded key file on first use."""
        return self._token(self.secret_key, SECRET_KEY_FILE).encode()

    def resolved_admin_token(self) -> str:
        """Return the admin token: GATEWAY_ADMIN_TOKEN, else data_dir/admin.token (made once)."""
        return self._token(self.admin_token, ADMIN_TOKEN_FILE)

    def existing_admin_token(self) -> str | None:
        """Return the admin token if one is set or was made, never making one (for the CLI)."""
        return self._existing_token(self.admin_token, ADMIN_TOKEN_FILE)

    def resolved_dpo_token(self) -> str:
        """Return the data protection officer's token: GATEWAY_DPO_TOKEN, else dpo.token."""
        return self._token(self.dpo_token, DPO_TOKEN_FILE)

    def existing_dpo_token(self) -> str | None:
        """Return the DPO's token if one is set or was made, never making one (for the CLI)."""
        return self._existing_token(self.dpo_token, DPO_TOKEN_FILE)

    def _token(self, given: SecretStr | None, file_name: str) -> str:
        return given.get_secret_value() if given is not None else self._key_file(file_name)

    def _existing_token(self, given: SecretStr | None, file_name: str) -> str | None:
        if given is not None:
            return given.get_secret_value()
        path = self.data_dir / file_name
        return path.read_text().strip() if path.is_file() else None

    def _key_file(self, name: str) -> str:
        path = self.data_dir / name
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return path.read_text().strip()
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()
