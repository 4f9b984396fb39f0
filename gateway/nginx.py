"""The reverse proxy's configuration: one template for docker-compose.yml and the local stack.

Both deployments put nginx in front of the API processes, and both get their configuration
from `render`: deploy/nginx.conf is its output for Compose (tests/test_compose.py checks that
the file is current), and `gateway stack up` writes its own into the stack's run directory.
So the proxy the tests run is the proxy Compose runs, but for where it listens and logs.

What the proxy does, and why:

- round-robin over the API processes; a request that fails to connect is tried on the next
  one only if its method is idempotent (nginx's default), so a POST is never sent twice;
- `X-Forwarded-For` is set to the address the proxy saw, replacing whatever the client sent:
  the APIs trust that header from this proxy only (GATEWAY_HTTP_TRUSTED_PROXIES), and count
  failed authentications under it (gateway/api/throttle.py);
- no keep-alive to the APIs: uvicorn closes an idle connection after a few seconds, and a
  request nginx sent on one just closing would fail with a 502 that is not retried;
- bodies up to 8 MiB pass, above the gateway's own limit (GATEWAY_MAX_BODY_BYTES, 1 MiB by
  default), so the gateway refuses an oversized exchange itself and records the refusal;
- its access log names neither the client's address nor the query string, as the gateway's
  own does not (gateway/api/access.py): the path, the status, the API that answered;
- every path it writes (pid, temporary files) is under `state_dir`, so it runs as any user
  and on a read-only root file system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

GENERATED = "# Rendered by gateway/nginx.py (`render`): change the template there, not this file."
MAX_BODY = "8m"


@dataclass(frozen=True)
class ProxyConfig:
    """Where the proxy listens, which API processes it sends to, and where it writes."""

    listen: str
    upstreams: Sequence[str]
    state_dir: str
    access_log: str
    error_log: str
    # The user nginx's worker processes run as; only a master started as root changes user.
    user: str | None = None
    worker_processes: str = "1"


def render(config: ProxyConfig) -> str:
    """Return a complete nginx.conf for `config`."""
    if not config.upstreams:
        raise ValueError("the proxy needs at least one API process")
    servers = "\n".join(f"        server {address};" for address in config.upstreams)
    state = config.state_dir.rstrip("/")
    user = f"user {config.user};\n" if config.user else ""
    return f"""{GENERATED}
# The reverse proxy in front of the gateway's API processes: round-robin, and the client's
# address in X-Forwarded-For, which the APIs trust from this proxy only.
{user}worker_processes {config.worker_processes};
daemon off;
pid {state}/nginx.pid;
error_log {config.error_log} warn;

events {{
    worker_connections 1024;
}}

http {{
    server_tokens off;
    # Neither the client's address nor the query string: the gateway logs neither.
    log_format gateway '$time_iso8601 "$request_method $uri" $status $body_bytes_sent '
                       'upstream=$upstream_addr upstream_status=$upstream_status '
                       'time=$request_time';
    access_log {config.access_log} gateway;

    client_body_temp_path {state}/client_body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;

    # Above the gateway's own limit, so the gateway refuses (and records) an oversized exchange.
    client_max_body_size {MAX_BODY};

    upstream gateway_api {{
{servers}
    }}

    server {{
        listen {config.listen};

        location / {{
            proxy_pass http://gateway_api;
            proxy_set_header Host $http_host;
            # Replaced, never appended to: the client's own header is not believed.
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 5s;
            proxy_read_timeout 60s;
            proxy_send_timeout 60s;
        }}
    }}
}}
"""


# Compose (docker-compose.yml): nginx's master starts as root and its workers run as the
# image's `nginx` user; logs go to the container's output; /tmp is the container's tmpfs (nginx
# makes a temporary directory only if its parent exists). `api` names every API replica:
# nginx resolves it when it starts, and sends to each address it got.
COMPOSE = ProxyConfig(
    listen="8080",
    upstreams=["api:8000"],
    state_dir="/tmp",
    access_log="/dev/stdout",
    error_log="/dev/stderr",
    user="nginx",
    worker_processes="auto",
)


def compose_config() -> str:
    """Return deploy/nginx.conf, the Compose proxy's configuration."""
    return render(COMPOSE)
