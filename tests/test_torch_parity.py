"""Every elementwise function against PyTorch's own kernels (where torch is installed):
forward values, and the backward at every kink, where the derivative is a convention
(SPEC §2.1: ``relu'(0) = 0``, ``hardtanh'`` 0 at its bounds, ...) that only PyTorch's
ATen backward op defines. The PyTorch callables come from the benchmarks' peers table, so
every registered function with a PyTorch twin (and every choice of a choice parameter) is
checked here with no other change.
"""

import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, assert_ulp, ulp_distance

from fastact import bench_baselines as bb

torch = pytest.importorskip("torch")

# Kinks of the catalogue at its default parameters (0, ±0.5, ±1, ±3, 6, 20 = softplus's
# threshold), points just beside them, and a spread of ordinary values.
_GRID = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 20.0, -20.0]
_NEAR = [v * (1 + s) for v in _GRID if v for s in (1e-7, -1e-7)]
_SPREAD = list(np.linspace(-9.0, 9.0, 73))


def points(act):
    """The grid, plus each numeric benchmark parameter, its negative, and ratios of two
    (``threshold / beta``: where softplus turns linear)."""
    numeric = [v for v in bb.params(act) if not isinstance(v, str)]
    extra = [s * v for v in numeric for s in (1, -1)]
    extra += [a / b for a in numeric for b in numeric if b]
    return np.array(_GRID + _NEAR + _SPREAD + extra)


def _kinks(act, x):
    numeric = [v for v in bb.params(act) if not isinstance(v, str)]
    return np.isin(np.abs(x), np.abs(np.array(_GRID + _NEAR + numeric, x.dtype)))


# Every choice of a choice parameter (gelu's approximate) is its own case.
CASES = [
    (a, v)
    for a in ELEMENTWISE_ACTS
    if bb.BASELINES[a.name].torch_forward is not None
    for v in a.variants
]
CASE_IDS = [a.name + (f"-{v}" if v else "") for a, v in CASES]


def _params(act, variant):
    return tuple(
        variant if p.is_choice else v for p, v in zip(act.params, bb.params(act), strict=True)
    )


def _torch_vectorized(fn, *arrays):
    """``fn`` on tensors padded to a multiple of 64 elements, so that every element takes
    PyTorch's vectorized path, what arrays of any size get (its scalar remainder loop may
    differ: softshrink's keeps the sign of x in its zero region, the vector loop gives
    +0.0)."""
    n = arrays[0].size
    pad = -n % 64
    tensors = [torch.from_numpy(np.concatenate([a, np.ones(pad, a.dtype)])) for a in arrays]
    return fn(*tensors)[:n].numpy()


def _in_float64(dtype, *arrays_and_params):
    # The reference's arguments: arrays in float64, parameters rounded to dtype first.
    return [
        v if isinstance(v, str) else np.asarray(dtype(v) if np.ndim(v) == 0 else v, np.float64)
        for v in arrays_and_params
    ]


def _tolerance(act, dtype):
    # Piecewise-linear functions are correctly rounded in fastact; PyTorch rounds some of
    # them twice ((x + 3) / 6 in hardsigmoid): 1 ULP. Elsewhere both libraries are within a
    # few ULP of the truth at these moderate points.
    return 1 if act.exact else (8 if dtype == np.float64 else 4)


def _assert_agrees(act, x, got, want, ref):
    """Values agree with PyTorch within the tolerance or, where they differ by more,
    fastact is within 4 ULP of the float64 reference and closer to it than PyTorch
    (PyTorch's gelu tail, mish' near its zero and its float64 hardsigmoid' (a float32 1/6)
    are wrong there). NaN where PyTorch gives NaN at every kink; for piecewise-linear
    functions, at every point, also zero where PyTorch gives zero, of the same sign (smooth
    functions may keep a result that PyTorch flushes, or the sign of an odd function's 0)."""
    dtype = got.dtype
    with np.errstate(all="ignore"):
        ref = ref.astype(dtype)
    where = np.ones(x.size, bool) if act.exact else _kinks(act, x)
    g, w = got[where], want[where]
    assert np.array_equal(np.isnan(g), np.isnan(w)), f"{act.name}: NaN where PyTorch has none"
    if act.exact:
        assert np.array_equal(g == 0, w == 0), f"{act.name}: zero where PyTorch has none"
        zero = w == 0
        assert np.array_equal(np.signbit(g[zero]), np.signbit(w[zero])), f"{act.name}: 0's sign"
    d = ulp_distance(got, want) > _tolerance(act, dtype)
    assert_ulp(got[d], ref[d], 4, f"{act.name} where it differs from PyTorch")
    closer = ulp_distance(got[d], ref[d]) <= ulp_distance(want[d], ref[d])
    assert closer.all(), f"{act.name}: further than PyTorch from the reference at {x[d][~closer]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act, variant", CASES, ids=CASE_IDS)
def test_forward_matches_pytorch(act, variant, dtype):
    x = points(act).astype(dtype)
    p = _params(act, variant)
    forward = bb.BASELINES[act.name].torch_forward
    want = _torch_vectorized(lambda t: forward(torch, t, *p), x)
    got = act.forward(x, *p)
    _assert_agrees(act, x, got, want, act.reference(*_in_float64(dtype, x, *p)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act, variant", CASES, ids=CASE_IDS)
def test_backward_at_kinks_matches_aten(act, variant, dtype):
    base = bb.BASELINES[act.name]
    x = points(act).astype(dtype)
    p = _params(act, variant)
    g = np.linspace(0.5, 2.0, x.size).astype(dtype)
    if act.saves == "input":
        saved = x
    else:
        saved = _torch_vectorized(lambda t: base.torch_forward(torch, t, *p), x)
    want = _torch_vectorized(lambda tg, ts: base.torch_backward(torch, tg, ts, *p), g, saved)
    got = act.backward(g, saved, *p)
    ref = act.reference_backward(*_in_float64(dtype, g, saved, *p))
    _assert_agrees(act, x, got, want, ref)
