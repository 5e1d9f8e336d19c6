"""Start-up (SPEC §6): import compiles nothing; a new process loads every kernel from the
disk cache instead of compiling it.

The cache test calls every function (and choice) in float32 on one thread, and one
function of each driver template on all threads and in float64: caching is decided per
template and per function's globals, not per dtype or thread count, and compiling the
whole catalogue twice over cold would cost a minute of the suite. The cold run is one
function per template, then two processes with half the rest each (Numba compiles on one
core)."""

import json
import os
import subprocess
import sys

import pytest

import fastact

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
firsts = [a.name for a in first_of_kind.values()]
names = set(firsts if sys.argv[1:] == ["--first-of-kind"] else sys.argv[1:])
for act in fastact.REGISTRY.values():
    if act.name not in names:
        continue
    for variant in act.variants:
        args = [variant if p.is_choice else v for p, v in zip(act.params, bb.params(act))]
        args += bb.params(act)[len(act.params):]
        xs = x.astype(np.float32)
        y = act.forward(xs, *args, target="cpu")
        act.backward(y, xs if act.saves == "input" else y, *args, target="cpu")
for act in (a for a in first_of_kind.values() if a.name in names):
    for dtype, target in ((np.float64, "cpu"), (np.float32, "parallel")):
        xs = x.astype(dtype)
        y = act.forward(xs, *bb.params(act), target=target)
        act.backward(y, xs if act.saves == "input" else y, *bb.params(act), target=target)
calls = time.perf_counter() - t
hits = sum(d.stats.cache_hits.total() for d in cpu._drivers.values())
misses = sum(d.stats.cache_misses.total() for d in cpu._drivers.values())
print(json.dumps(dict(imported=imported, built_at_import=built_at_import, calls=calls,
                      hits=hits, misses=misses, drivers=len(cpu._drivers), firsts=firsts)))
"""


def _start(cache_dir, names):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *names],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process):
    out, err = process.communicate()
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_every_kernel_from_the_cache(tmp_path):
    # One function of each template first, alone: the helpers they share are then cached,
    # and the two processes that follow write only their own functions' cache files. Two
    # processes compiling one function for different types at once can leave Numba's
    # cache index pointing at the other's code (numba/numba#10128: a race, no lock).
    first = _result(_start(tmp_path, ["--first-of-kind"]))
    rest = [n for n in fastact.REGISTRY if n not in first["firsts"]]
    halves = [_start(tmp_path, rest[0::2]), _start(tmp_path, rest[1::2])]
    cold = [first, *(_result(p) for p in halves)]
    warm = _result(_start(tmp_path, list(fastact.REGISTRY)))
    assert all(c["built_at_import"] == 0 for c in cold) and warm["built_at_import"] == 0
    assert all(c["misses"] > 0 and c["hits"] == 0 for c in cold), cold
    assert warm["misses"] == 0, warm
    assert warm["hits"] == sum(c["misses"] for c in cold)
    assert warm["calls"] < sum(c["calls"] for c in cold) / 3, (cold, warm)


def test_import_builds_no_driver():
    code = "import fastact; from fastact.drivers import cpu; print(len(cpu._drivers))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
