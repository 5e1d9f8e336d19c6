"""Every driver's loop vectorizes, at full width where the CPU has AVX-512, and on
AVX2-only CPUs too.

Speed is measured by the benchmarks, but a loop that stopped vectorizing (a kernel LLVM
declined to inline, a float64 constant, a branch) is a 5-20x regression that these
checks catch deterministically, from the generated assembly. The AVX2 check compiles
for Haswell (``NUMBA_CPU_NAME=haswell``) in a subprocess: AVX-512 and AVX2 machines
vectorize different loops differently, and users have both.
"""

import os
import re
import subprocess
import sys

import numba
import numpy as np
import pytest
from conftest import ALL, ROWWISE_ACTS, ids

import fastact
from fastact.codegen import vector_bits
from fastact.drivers import cpu
from fastact.registry import HALVES, ROWWISE

AVX512 = vector_bits() == 512  # the target's, so that NUMBA_CPU_NAME=haswell counts as AVX2


def _asm(act, variant, direction, dtype, masked=False):
    # A fresh, uncached compile of the driver: cached code has no assembly to inspect.
    # ``masked``: a row-wise driver with where= (mask rows and their index).
    built = cpu._build(act, direction, False, variant)
    driver = numba.njit(error_model="numpy")(built.py_func)
    if act.kind == HALVES:  # x as (outer, 2, m), the result (outer, m); backward (outer, 2, m)
        x, y = np.ones((4, 2, 16), dtype), np.ones((4, 16), dtype)
        arrays = [x] if direction == "forward" else [y, x]
        out = y.copy() if direction == "forward" else x.copy()
    else:
        x = np.ones((4, 16) if act.kind == ROWWISE else (64,), dtype)
        arrays = [x] * (1 if direction == "forward" else 2)
        out = np.empty_like(x)
    numeric = [p for p in act.params if not p.is_choice]
    where = (None,) if act.kind == ROWWISE else ()  # row-wise drivers take where=
    if masked:
        where = ((np.ones((1, x.shape[-1]), np.bool_), np.zeros(x.shape[0], np.intp)),)
    driver(*arrays, out, tuple(dtype(0.1) for _ in numeric), *where)
    return driver.inspect_asm(driver.signatures[-1])


VARIANTS = [(a, v) for a in ALL for v in a.variants]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize(
    "act, variant", VARIANTS, ids=[a.name + (f"-{v}" if v else "") for a, v in VARIANTS]
)
def test_driver_loop_is_vectorized(act, variant, direction, dtype):
    asm = _asm(act, variant, direction, dtype)
    packed = re.findall(r"\bv\w+p[sd]\s+[^\n]*%[yz]mm", asm)
    # A kernel left as a call per element leaves a handful of packed ops (4 for float64
    # tanh before its kernels were forced inline); vectorized loops have 14 or more.
    assert len(packed) >= 12, f"{len(packed)} packed vector instructions"
    # Full width where the CPU has it, in the math too: packed FMAs (the polynomials) at
    # 256 bits mean a kernel's loops were vectorized before it met prefer_wide_vectors().
    if AVX512:
        assert "%zmm" in asm, "256-bit code: prefer_wide_vectors() did not reach the loop"
        fma = re.findall(r"\bvfmadd\w+(p[sd])\s+[^\n]*%([xyz])mm", asm)
        # float32 FMAs at 8 lanes are full width where a float64 sum in their loop sets
        # the lane count (8 per zmm register): the float32 softmax backward's paired dot.
        f64_lanes = re.search(r"\bv(?:add|fmadd\w+)pd\s+[^\n]*%zmm", asm) is not None
        full = [w == "z" or (f64_lanes and t == "ps" and w == "y") for t, w in fma]
        assert full.count(True) >= full.count(False), f"FMA widths {fma}"


# A load under a zero-masking AVX-512 mask (a move, or a conversion: vcvtps2pd).
_MASKED_LOAD = re.compile(
    r"\bv(?:mov|cvt)\w+\s+-?\w*\(%\w+(?:,\s*%\w+,\s*\d)?\),\s*%[yz]mm\d+\s*\{%k\d\}\s*\{z\}"
)
PIECEWISE = [a for a in ALL if a.exact and a.kind not in (HALVES, ROWWISE)]


@pytest.mark.skipif(not AVX512, reason="zero-masking loads are AVX-512's")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", PIECEWISE, ids=[a.name for a in PIECEWISE])
def test_piecewise_backward_reads_grad_with_plain_loads(act, dtype):
    # `grad if cond else 0` compiles to a zero-masking load of grad unless the kernel
    # passes grad through codegen.unfolded: 15-20% slower at the memory bound on Zen 4.
    asm = _asm(act, None, "backward", dtype)
    assert re.findall(r"\bv\w+p[sd]\s+[^\n]*%zmm", asm), "no 512-bit loop to check"
    found = _MASKED_LOAD.findall(asm)
    assert not found, found[:3]


@pytest.mark.skipif(not AVX512, reason="zero-masking loads are AVX-512's")
@pytest.mark.parametrize("act", [a for a in ROWWISE_ACTS if a.takes_where], ids=ids)
def test_masked_row_backward_reads_grad_with_plain_loads(act):
    # The masked rows' sum of grad (log_softmax) was a zero-masking vcvtps2pd: 1.6x the
    # unmasked backward, until grad went through codegen.unfolded.
    found = _MASKED_LOAD.findall(_asm(act, None, "backward", np.float32, masked=True))
    assert not found, found[:3]


# Per-channel drivers (prelu's weight, the fused bias): a sample, each layout and direction.
CHANNEL = [
    ("prelu", None, "last", False),
    ("prelu", None, "inner", False),
    ("sigmoid", None, "last", True),
    ("gelu", "none", "last", True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize(
    "name, variant, layout, bias", CHANNEL, ids=[f"{n}-{lay}" for n, _, lay, _ in CHANNEL]
)
def test_channel_driver_loop_is_vectorized(name, variant, layout, bias, direction, dtype):
    act = fastact.REGISTRY[name]
    built = cpu._build_channel(direction, False, variant, layout, bias, act)
    driver = numba.njit(error_model="numpy")(built.py_func)
    x = np.ones((4, 64) if layout == "last" else (2, 3, 64), dtype)
    c = np.ones(x.shape[1], dtype)
    arrays = (x,) if direction == "forward" else (x, x)
    driver(*arrays, c, np.empty_like(x), ())
    asm = driver.inspect_asm(driver.signatures[-1])
    packed = re.findall(r"\bv\w+p[sd]\s+[^\n]*%[yz]mm", asm)
    assert len(packed) >= 12, f"{len(packed)} packed vector instructions"
    if AVX512:
        assert "%zmm" in asm, "256-bit code: prefer_wide_vectors() did not reach the loop"


@pytest.mark.slow
@pytest.mark.skipif(not AVX512, reason="the host check above is already the AVX2 one")
def test_every_driver_loop_vectorizes_for_avx2(tmp_path):
    # float32 (both directions, every function and choice): the dtype whose loops lose
    # most when one stops vectorizing; float64 shares the kernels' code paths.
    # Two processes, one direction each (Numba compiles on one core), each with a cache of
    # its own: two processes must not write one function's cache index at once.
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES="")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    runs = [
        subprocess.Popen(
            [*args, "-k", f"loop_is_vectorized and float32 and {direction}"],
            env=dict(env, NUMBA_CACHE_DIR=str(tmp_path / direction)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for direction in ("forward", "backward")
    ]
    for run in runs:
        out = run.communicate()[0]
        assert run.returncode == 0, out[-3000:]
        assert " passed" in out and "skipped" not in out
