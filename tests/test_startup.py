"""Start-up (SPEC §6): import compiles nothing; a new process loads every kernel from the
disk cache instead of compiling it.

The cache test calls every function (and choice) in float32 on one thread, and one
function of each driver template on all threads and in float64: caching is decided per
template and per function's globals, not per dtype or thread count, and compiling the
whole catalogue twice over cold would cost a minute of the suite."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys, time
t = time.perf_counter()
import numpy as np
import fastact
from fastact import bench_baselines as bb
from fastact.drivers import cpu
imported = time.perf_counter() - t
built_at_import = len(cpu._drivers)
t = time.perf_counter()
x = np.linspace(-3, 3, 64).reshape(8, 8)
first_of_kind = {}
for act in fastact.REGISTRY.values():
    template = (act.kind, act.block_kernels, act.array_param is None, act.common_kernels)
    first_of_kind.setdefault(template, act)
    for variant in act.variants:
        args = [variant if p.is_choice else v for p, v in zip(act.params, bb.params(act))]
        args += bb.params(act)[len(act.params):]
        xs = x.astype(np.float32)
        y = act.forward(xs, *args, target="cpu")
        act.backward(y, xs if act.saves == "input" else y, *args, target="cpu")
for act in first_of_kind.values():
    for dtype, target in ((np.float64, "cpu"), (np.float32, "parallel")):
        xs = x.astype(dtype)
        y = act.forward(xs, *bb.params(act), target=target)
        act.backward(y, xs if act.saves == "input" else y, *bb.params(act), target=target)
calls = time.perf_counter() - t
hits = sum(d.stats.cache_hits.total() for d in cpu._drivers.values())
misses = sum(d.stats.cache_misses.total() for d in cpu._drivers.values())
print(json.dumps(dict(imported=imported, built_at_import=built_at_import, calls=calls,
                      hits=hits, misses=misses, drivers=len(cpu._drivers))))
"""


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_every_kernel_from_the_cache(tmp_path):
    cold = _run(tmp_path)
    warm = _run(tmp_path)
    assert cold["built_at_import"] == 0 and warm["built_at_import"] == 0
    assert cold["misses"] > 0 and cold["hits"] == 0
    assert warm["misses"] == 0, warm
    assert warm["hits"] == cold["misses"]
    assert warm["calls"] < cold["calls"] / 3, (cold, warm)


def test_import_builds_no_driver():
    code = "import fastact; from fastact.drivers import cpu; print(len(cpu._drivers))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
