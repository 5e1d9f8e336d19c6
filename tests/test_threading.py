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


def test_above_the_threshold_the_faster_mode_runs_and_the_other_is_retimed():
    from fastact.threads import EXPLORE, FIRST, Measured

    m = Measured()
    modes = []
    for _ in range(2 * FIRST):  # both modes timed first, alternating, all threads first
        modes.append(m.choose())
        m.record(modes[-1], 3e-3 if modes[-1] else 1e-3, 1000)
    assert modes == [True, False] * FIRST
    # One thread is 3x faster: all threads only to re-time, every 3 * EXPLORE calls.
    modes = [m.choose() for _ in range(6 * EXPLORE)]
    assert modes.count(True) == 2 and modes[3 * EXPLORE - 1] is True
    for _ in range(20):  # the machine quietens: all threads become 2x faster
        m.record(True, 0.5e-3, 1000)
    assert [m.choose() for _ in range(4 * EXPLORE)].count(False) == 2


def test_the_automatic_target_follows_what_it_measured(monkeypatch):
    import numpy as np

    import fastact
    from fastact import dispatch, threads, tuning

    seen = []
    real = dispatch._driver
    monkeypatch.setattr(dispatch, "_driver", lambda c, p, v: seen.append(p) or real(c, p, v))
    monkeypatch.setitem(tuning.PARALLEL_THRESHOLD, "relu", 1000)
    monkeypatch.setattr(threads, "_measured", {})
    monkeypatch.setattr(dispatch, "_numba_threads", lambda: 2)
    x = np.ones(3000)
    for _ in range(2 * threads.FIRST + 2):
        fastact.relu(x)
    (m,) = threads._measured.values()
    # All threads first; a call that compiled (or loaded) its driver is not a sample.
    assert seen[0] is True and min(m.samples) == threads.FIRST
    m.per_element, m.calls = [1.0, 2.0], 0  # one thread measured 2x faster
    monkeypatch.setattr(threads.Measured, "record", lambda *args: None)  # and stays so
    seen.clear()
    for _ in range(4 * threads.EXPLORE):
        fastact.relu(x, out=x)
    assert seen.count(True) == 2  # re-timed every 2 * EXPLORE calls


def test_a_call_that_compiles_its_driver_is_not_timed(monkeypatch):
    import numpy as np

    import fastact
    from fastact import dispatch, threads, tuning
    from fastact.validation import Call

    class Driver:  # compiles (adds an overload) at its first call, as a Numba dispatcher
        def __init__(self):
            self.overloads = {}

        def __call__(self, *args):
            self.overloads["float64[::1]"] = True

    drivers = {True: Driver(), False: Driver()}
    monkeypatch.setattr(dispatch, "_driver", lambda call, parallel, variant: drivers[parallel])
    monkeypatch.setitem(tuning.PARALLEL_THRESHOLD, "relu", 1000)
    monkeypatch.setattr(threads, "_measured", {})
    monkeypatch.setattr(dispatch, "_numba_threads", lambda: 2)
    call = Call(fastact.REGISTRY["relu"], "relu", "forward", False)
    x = np.ones(5000)
    dispatch._run(call, None, (x,), None, 5000)
    (m,) = threads._measured.values()
    assert m.samples == [0, 0]
    dispatch._run(call, None, (x,), None, 5000)
    assert m.samples == [0, 1]
    # float32 calls take about half the time: they keep their own measurements.
    dispatch._run(call, None, (x.astype(np.float32),), None, 5000)
    assert len(threads._measured) == 2 and m.samples == [0, 1]


def test_one_stall_does_not_turn_the_choice():
    from fastact.threads import EXPLORE, FIRST, Measured

    m = Measured()
    # The first call writes a fresh output (page faults): 20x its time, and all threads
    # run it. The first samples keep their minimum.
    for i in range(2 * FIRST):
        parallel = m.choose()
        stall = 20 if i == 0 else 1
        m.record(parallel, (1e-3 if parallel else 2e-3) * stall, 1000)
    assert m.per_element == [2e-6, 1e-6]
    # Later, a stall of all threads (another process took the core) counts as at most 2x.
    m.record(True, 50e-3, 1000)
    assert m.per_element[1] == pytest.approx(1.25e-6)
    assert all(m.choose() for _ in range(EXPLORE))
