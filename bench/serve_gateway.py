"""Serve the gateway for the benchmark: demo systems, relay off, credentials in a file.

Usage: python -m bench.serve_gateway DATA_DIR PORT WORKERS [DATABASE_URL]
"""

from __future__ import annotations

import os
import sys

from gateway.api.app import serve
from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.runtime import Runtime


def main(data_dir: str, port: int, workers: int, database_url: str | None) -> None:
    # Set as variables, not arguments: worker processes read their settings from them.
    os.environ["GATEWAY_DATA_DIR"] = data_dir
    os.environ["GATEWAY_RELAY_ENABLED"] = "false"
    if database_url:
        os.environ["GATEWAY_DATABASE_URL"] = database_url
    runtime = Runtime.build(Settings())
    DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
    serve(runtime, "127.0.0.1", port, workers)


if __name__ == "__main__":
    data_dir, port, workers, *database_url = sys.argv[1:]
    main(data_dir, int(port), int(workers), database_url[0] if database_url else None)
