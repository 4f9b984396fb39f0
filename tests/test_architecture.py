"""The import contract holds, and it can fail: a wrong-way import breaks the build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    for package in ("gateway", "adapters", "policies"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_way", "contract", "chain"),
    [
        (
            "gateway/api/health.py",
            "from gateway.store.models import OutboxMessage",
            "api translates HTTP to service calls and never sees storage",
            "gateway.api.health -> gateway.store.models",
        ),
        (
            "adapters/progres/render.py",
            "import gateway.pipeline",
            "adapters import only the canonical model and the adapter kit",
            "adapters.progres.render -> gateway.pipeline",
        ),
    ],
)
def test_a_wrong_way_import_breaks_the_build(
    tmp_path: Path, module: str, wrong_way: str, contract: str, chain: str
) -> None:
    tree = copy_of_the_tree(tmp_path)
    source = tree / module
    source.write_text(source.read_text() + f"\n{wrong_way}\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
    assert chain in result.stdout
