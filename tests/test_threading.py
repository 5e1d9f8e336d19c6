"""The threading layer a user gets (fastact.threads): tbb where the tbb wheel is installed,
whatever was imported first; the user's NUMBA_THREADING_LAYER wins. Each case runs in a
new process, since Numba picks its layer once per process, at the first parallel launch."""

import os
import subprocess
import sys
from importlib import metadata, util

import pytest

try:
    metadata.distribution("tbb")
    HAS_TBB = True
except metadata.PackageNotFoundError:  # e.g. not on x86-64, where the wheel is not a dependency
    HAS_TBB = False

needs_tbb = pytest.mark.skipif(not HAS_TBB, reason="the tbb wheel is not installed")

LAYER_AFTER_A_PARALLEL_CALL = """
import numba, numpy as np, fastact
fastact.relu(np.ones(10), target="parallel")
print(numba.threading_layer())
"""


def _layer(first="", **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING")}
    environ.pop("LD_LIBRARY_PATH", None)  # as a user's shell has it: the venv's lib/ is not on it
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", first + LAYER_AFTER_A_PARALLEL_CALL],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@needs_tbb
def test_a_parallel_call_runs_on_tbb():
    assert _layer() == "tbb"


@needs_tbb
def test_tbb_also_when_numba_is_imported_first():
    assert _layer("import numba, numba.np.ufunc.parallel\n") == "tbb"


@needs_tbb
@pytest.mark.skipif(util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_tbb_also_beside_pytorch():
    # PyTorch brings its own OpenMP runtime; Numba's omp layer would make it two.
    assert _layer("import torch\n") == "tbb"


def test_the_users_threading_layer_wins():
    assert _layer(NUMBA_THREADING_LAYER="workqueue") == "workqueue"


@needs_tbb
def test_a_missing_or_broken_library_is_skipped(monkeypatch, tmp_path):
    from numba.np.ufunc import parallel

    from fastact import threads

    real = next(p for p in threads._candidates("libtbb.so.12") if p.is_file())
    broken = tmp_path / "broken" / "libtbb.so.12"
    broken.parent.mkdir()
    broken.write_bytes(b"not a library")
    candidates = [tmp_path / "libtbb.so.12", broken]
    monkeypatch.setattr(parallel, "_is_initialized", False)  # as before a parallel launch
    monkeypatch.setattr(threads, "_SONAME", {sys.platform: "libtbb.so.12"})
    monkeypatch.setattr(threads, "_candidates", lambda name: iter(candidates))
    monkeypatch.setattr(threads, "loaded", None)
    assert threads.load_tbb() is None  # Numba then falls back to another layer, as before
    candidates.append(real)
    assert threads.load_tbb() == str(real)
