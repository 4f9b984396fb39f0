"""Serve the gateway for the benchmark: demo systems, relay off, credentials in a file."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from gateway.api.app import create_app
from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.runtime import Runtime


def main(data_dir: str, port: int, database_url: str | None) -> None:
    settings = Settings(data_dir=Path(data_dir), database_url=database_url, relay_enabled=False)
    runtime = Runtime.build(settings)
    DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
    uvicorn.run(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
