"""The import contract holds, and it can fail: a wrong-way import breaks the build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run the contract of pyproject.toml on the packages in `tree`."""
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("gateway", "adapters", "mappings", "policies"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_api_module_importing_the_store_breaks_the_build(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    health = tree / "gateway" / "api" / "health.py"
    health.write_text(health.read_text() + "\nfrom gateway.store.models import OutboxMessage\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "api translates HTTP to service calls and never sees storage BROKEN" in result.stdout
    assert "gateway.api.health -> gateway.store.models" in result.stdout


def test_an_adapter_importing_the_pipeline_breaks_the_build(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    adapter = tree / "adapters" / "progres" / "render.py"
    adapter.write_text(adapter.read_text() + "\nimport gateway.pipeline\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "adapters import only the canonical model and the adapter kit BROKEN" in result.stdout
