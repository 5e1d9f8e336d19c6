"""Type stubs (fastact/__init__.pyi): generated from the registry, and a type checker
accepts a typed usage file against them (and refuses what it must)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import gen_stubs  # noqa: E402


def test_stub_matches_the_registry():
    assert gen_stubs.STUB.read_text() == gen_stubs.stub(), "run: python tools/gen_stubs.py"


def test_package_is_marked_typed():
    assert (ROOT / "fastact" / "py.typed").exists()


def test_mypy_accepts_the_typed_usage_file():
    pytest.importorskip("mypy")
    # --warn-unused-ignores: the file's "must refuse" lines fail if mypy accepts them.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",  # errors in fastact's own untyped modules are not the point
            "--warn-unused-ignores",
            "--no-incremental",
            "--python-version",
            "3.11",
            str(ROOT / "tests" / "typed_usage.py"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
