"""Every elementwise function against PyTorch's own kernels (where torch is installed):
forward values, and the backward at every kink, where the derivative is a convention
(SPEC §2.1: ``relu'(0) = 0``, ``hardtanh'`` 0 at its bounds, ...) that only PyTorch's
ATen backward op defines. The PyTorch callables come from the benchmarks' peers table, so
every registered function with a PyTorch twin is checked here with no other change.
"""

import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, assert_ulp, ids

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


def _torch_vectorized(fn, *arrays):
    """``fn`` on tensors padded to a multiple of 64 elements, so that every element takes
    PyTorch's vectorized path, what arrays of any size get (its scalar remainder loop may
    differ: softshrink's keeps the sign of x in its zero region, the vector loop gives
    +0.0)."""
    n = arrays[0].size
    pad = -n % 64
    tensors = [torch.from_numpy(np.concatenate([a, np.ones(pad, a.dtype)])) for a in arrays]
    return fn(*tensors)[:n]


CASES = [a for a in ELEMENTWISE_ACTS if bb.BASELINES[a.name].torch_forward is not None]


def _tolerance(act, dtype):
    # Piecewise-linear functions are correctly rounded in fastact; PyTorch rounds some of
    # them twice ((x + 3) / 6 in hardsigmoid): 1 ULP. Elsewhere both libraries are within a
    # few ULP of the truth at these moderate points.
    return 1 if act.exact else (8 if dtype == np.float64 else 4)


def _same_zeros_and_nans(got, want, what):
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{what}: NaN where PyTorch has none"
    assert np.array_equal(got == 0, want == 0), f"{what}: zero where PyTorch has none"
    zero = want == 0
    assert np.array_equal(np.signbit(got[zero]), np.signbit(want[zero])), f"{what}: sign of 0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", CASES, ids=ids)
def test_forward_matches_pytorch(act, dtype):
    x = points(act).astype(dtype)
    p = bb.params(act)
    forward = bb.BASELINES[act.name].torch_forward
    want = _torch_vectorized(lambda t: forward(torch, t, *p), x).numpy()
    got = act.forward(x, *p)
    assert_ulp(got, want, _tolerance(act, dtype), act.name)
    _same_zeros_and_nans(got, want, act.name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", CASES, ids=ids)
def test_backward_at_kinks_matches_aten(act, dtype):
    base = bb.BASELINES[act.name]
    x = points(act).astype(dtype)
    p = bb.params(act)
    g = np.linspace(0.5, 2.0, x.size).astype(dtype)
    if act.saves == "input":
        saved = x
    else:
        saved = _torch_vectorized(lambda t: base.torch_forward(torch, t, *p), x).numpy()
    want = _torch_vectorized(lambda tg, ts: base.torch_backward(torch, tg, ts, *p), g, saved)
    want = want.numpy()
    got = act.backward(g, saved, *p)
    # The conventions (which side of a kink, zero or not) must match exactly; the values
    # to a relative 1e-7: ATen's float64 hardsigmoid backward multiplies by a float32 1/6.
    _same_zeros_and_nans(got, want, act.name)
    rtol = 1e-7 if dtype == np.float64 else 4 * np.finfo(np.float32).eps
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=act.name)
