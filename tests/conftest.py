"""Shared test helpers: ULP distance, sample points, hostile layouts, registry params."""

import os
import shutil
import sys

# Without a GPU, CUDA tests run in Numba's simulator; this must be set before numba loads.
if shutil.which("nvidia-smi") is None:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fastact  # noqa: E402
from fastact.registry import ELEMENTWISE, HALVES, REQUIRED, ROWWISE  # noqa: E402, F401

# Functions with the four plain forms; those with an array parameter (prelu: its backward
# returns a pair) have tests of their own (test_prelu.py).
WITH_ARRAY_PARAM = [a for a in fastact.REGISTRY.values() if a.array_param is not None]
ALL = [a for a in fastact.REGISTRY.values() if a.array_param is None]
ELEMENTWISE_ACTS = [a for a in ALL if a.kind == ELEMENTWISE]
ROWWISE_ACTS = [a for a in ALL if a.kind == ROWWISE]
# The functions with in-place forms (the registry's forms record): those whose result,
# and backward's grad, have the input's shape. glu (kind HALVES) has neither.
IN_PLACE = [a for a in ALL if a.in_place]
FLOATS = [np.float32, np.float64]


def ids(act):
    """pytest ids for registry-parametrised tests."""
    return act.name


def param_values(act):
    """The parameters' defaults (1.0 for a parameter without one)."""
    return [1.0 if p.default is REQUIRED else p.default for p in act.params]


def ulp_distance(got, want):
    """ULPs between two arrays of one float dtype; NaN vs NaN is 0, NaN vs number is huge."""
    got = np.asarray(got)
    want = np.asarray(want, dtype=got.dtype)
    int_t = {2: np.int16, 4: np.int32, 8: np.int64}[got.dtype.itemsize]

    def ordered(a):
        i = a.view(int_t).astype(np.int64)
        # Map sign-magnitude to a monotonic integer line; -0.0 and 0.0 both become 0.
        return np.where(i < 0, -(i & np.iinfo(int_t).max), i)

    a, b = ordered(got), ordered(want)
    # Subtract in integers (float64 would round ordinals above 2**53); opposite signs
    # could overflow int64, and their distance is |a| + |b| anyway.
    same = (a >= 0) == (b >= 0)
    d = np.where(
        same,
        np.abs(np.where(same, a - b, 0)).astype(np.float64),
        np.abs(a).astype(np.float64) + np.abs(b).astype(np.float64),
    )
    both_nan = np.isnan(got) & np.isnan(want)
    one_nan = np.isnan(got) ^ np.isnan(want)
    return np.where(both_nan, 0.0, np.where(one_nan, np.inf, d))


def assert_ulp(got, want, max_ulp, what=""):
    d = ulp_distance(got, want)
    if d.size and d.max() > max_ulp:
        i = np.unravel_index(np.argmax(d), d.shape)
        raise AssertionError(
            f"{what}: {d.max():g} ULP > {max_ulp} at index {i}: got {np.asarray(got)[i]!r}, "
            f"want {np.asarray(want, dtype=np.asarray(got).dtype)[i]!r}"
        )


def assert_same(got, want):
    """Bitwise equality, NaN == NaN and the sign of zero included."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def sample(dtype, n, rng, scale=None):
    """Points spread over the whole finite range of ``dtype``: uniform near 0, log-uniform
    magnitudes out to the largest finite value, both signs."""
    info = np.finfo(dtype)
    lo, hi = np.log10(info.smallest_subnormal), np.log10(info.max)
    mags = 10.0 ** rng.uniform(lo, hi, n // 2)
    signs = rng.choice([-1.0, 1.0], n // 2)
    near = rng.uniform(-(scale or 40.0), scale or 40.0, n - n // 2)
    return np.concatenate([near, signs * mags]).astype(dtype)


SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30]


def specials(dtype):
    info = np.finfo(dtype)
    extra = [
        info.max,
        -info.max,
        info.tiny,
        -info.tiny,
        info.smallest_subnormal,
        -info.smallest_subnormal,
        1000.0,
        -1000.0,
        88.7,
        -88.7,
        710.0,
        -745.0,
    ]
    with np.errstate(over="ignore"):
        return np.array(SPECIALS + extra).astype(dtype)


def layouts(base):
    """(name, array) views of ``base`` (a 3-D C array) in every layout the SPEC lists."""
    yield "C", base
    yield "F", np.asfortranarray(base)
    yield "transposed", base.transpose(2, 0, 1)
    yield "strided", base[:, ::2, :]
    yield "negative", base[::-1, :, ::-1]
    yield "1d-strided", base.ravel()[::3]


def layout_buffer(name, shape, dtype, fill=0.0):
    """``(buffer, view)``: a fresh buffer full of ``fill`` and a view of it of ``shape``
    in the layout ``name`` of ``layouts`` (3-D shapes; "1d-strided" takes a 1-D one), for
    destinations whose shape is not their input's (glu)."""
    s = tuple(shape)
    if name == "1d-strided":
        buf = np.full(3 * s[0], fill, dtype)
        return buf, buf[::3]
    if name == "transposed":
        buf = np.full((s[1], s[2], s[0]), fill, dtype)
        return buf, buf.transpose(2, 0, 1)
    if name == "strided":
        buf = np.full((s[0], 2 * s[1], s[2]), fill, dtype)
        return buf, buf[:, ::2, :]
    buf = np.full(s, fill, dtype, order="F" if name == "F" else "C")
    return buf, (buf[::-1, :, ::-1] if name == "negative" else buf)


def _one_step_shared(original):
    """The simulator's ``cuda.shared.array`` (one array per block and source line), with the
    lookup and the insertion made one step: its own ``get``, then ``[key] = np.empty(...)``
    lets two threads of a block each make an array of their own when a thread switch falls
    between them, and the block's threads then read memory nobody wrote (softmax's block
    path failed so at the short switch interval below, about one run in two)."""
    from numba.np import numpy_support

    def array(self, shape, dtype, alignment=None):
        if shape == 0 or alignment is not None:  # dynamic shared memory has no key
            return original(self, shape, dtype, alignment)
        if not isinstance(dtype, np.dtype):
            dtype = numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        found = self._allocations.get(key)
        if found is None:
            found = self._allocations.setdefault(key, np.empty(shape, dtype))
        return found

    return array


@pytest.fixture
def simulator_threads(monkeypatch):
    """The CUDA simulator runs every GPU thread as a Python thread, and its launch loop polls
    them without sleeping: at Python's 5 ms GIL switch interval the poll starves the threads
    it waits for (a masked-softmax block-path case: 26 s; 9 s at 0.1 ms). Threads that switch
    that often also meet a race in the simulator's shared arrays: ``_one_step_shared``."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        from numba.cuda.simulator.kernelapi import FakeCUDAShared

        monkeypatch.setattr(FakeCUDAShared, "array", _one_step_shared(FakeCUDAShared.array))
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(old)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def call_forward(act, x, **kw):
    return act.forward(x, *param_values(act), **kw)


def saved_for(act, x, **kw):
    """What backward takes as ``saved`` for input ``x``."""
    return call_forward(act, x, **kw) if act.saves == "output" else np.asarray(x)


def _kernel_params(act, dtype):
    # Kernels see the parameters rounded to the compute dtype, as PyTorch does.
    compute = np.float32 if np.dtype(dtype).itemsize <= 4 else np.float64
    return [v if isinstance(v, str) else np.float64(compute(v)) for v in param_values(act)]


def grad_for(act, x, rng, **kw):
    """A random ``grad`` for ``act``'s backward at ``x``: of the forward result's shape."""
    x = np.asarray(x)
    shape = act.forward(x, *param_values(act), **kw).shape
    return rng.standard_normal(shape).astype(x.dtype)


def reference(act, x, axis=-1):
    """float64 reference of the forward, for input ``x`` in its own dtype."""
    dtype = np.asarray(x).dtype
    x = np.asarray(x, dtype=np.float64)
    if act.takes_axis:
        return act.reference(x, axis)
    return act.reference(x, *_kernel_params(act, dtype))


def reference_backward(act, g, s, axis=-1):
    dtype = np.result_type(np.asarray(g).dtype, np.asarray(s).dtype)
    g, s = np.asarray(g, np.float64), np.asarray(s, np.float64)
    if act.takes_axis:
        return act.reference_backward(g, s, axis)
    return act.reference_backward(g, s, *_kernel_params(act, dtype))
