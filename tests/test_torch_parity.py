"""Every elementwise function against PyTorch's own kernels (where torch is installed):
forward values, and the backward at every kink, where the derivative is a convention
(SPEC §2.1: ``relu'(0) = 0``, ``hardtanh'`` 0 at its bounds, ...) that only PyTorch's
ATen backward op defines. The PyTorch callables come from the benchmarks' peers table, so
every registered function with a PyTorch twin is checked here with no other change.
"""

import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, assert_ulp, ids, ulp_distance

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


CASES = [a for a in ELEMENTWISE_ACTS if bb.BASELINES[a.name].torch_forward is not None]


def _tolerance(act, dtype):
    # Piecewise-linear functions are exact; elsewhere both libraries are within a few ULP
    # of the truth at these moderate points.
    return 0 if act.exact else (8 if dtype == np.float64 else 4)


def _in_float64(dtype, *arrays_and_params):
    # The reference's arguments: arrays in float64, parameters rounded to dtype first.
    return [
        v if isinstance(v, str) else np.asarray(dtype(v) if np.ndim(v) == 0 else v, np.float64)
        for v in arrays_and_params
    ]


def _assert_agrees(act, dtype, x, got, want, ref):
    """fastact within the tolerance of PyTorch at every kink (the conventions); between
    kinks, where the two differ by more, fastact must be the closer to the reference and
    within 4 ULP of it (PyTorch's mish' cancels near its zero: 13 ULP at -1.25)."""
    tol = _tolerance(act, dtype)
    with np.errstate(all="ignore"):
        ref = ref.astype(dtype)
    differ = ulp_distance(got, want) > tol
    kinks = np.isin(np.abs(x), np.abs(np.array(_GRID + _NEAR, dtype)))
    assert_ulp(got[kinks], want[kinks], tol, f"{act.name} at kinks")
    if act.exact:
        assert_ulp(got, want, tol, act.name)
        return
    d = differ & ~kinks
    assert_ulp(got[d], ref[d], 4, f"{act.name} where it differs from PyTorch")
    closer = ulp_distance(got[d], ref[d]) <= ulp_distance(want[d], ref[d])
    assert closer.all(), f"{act.name}: further than PyTorch from the reference at {x[d][~closer]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", CASES, ids=ids)
def test_forward_matches_pytorch(act, dtype):
    x = points(act).astype(dtype)
    p = bb.params(act)
    want = bb.BASELINES[act.name].torch_forward(torch, torch.from_numpy(x), *p).numpy()
    got = act.forward(x, *p)
    _assert_agrees(act, dtype, x, got, want, act.reference(*_in_float64(dtype, x, *p)))
    if act.exact:  # the sign of zero too
        assert np.array_equal(np.signbit(got), np.signbit(want)), act.name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", CASES, ids=ids)
def test_backward_at_kinks_matches_aten(act, dtype):
    base = bb.BASELINES[act.name]
    x = points(act).astype(dtype)
    p = bb.params(act)
    g = np.linspace(0.5, 2.0, x.size).astype(dtype)
    tx = torch.from_numpy(x)
    saved = tx if act.saves == "input" else base.torch_forward(torch, tx, *p)
    want = base.torch_backward(torch, torch.from_numpy(g), saved, *p).numpy()
    got = act.backward(g, saved.numpy(), *p)
    ref = act.reference_backward(*_in_float64(dtype, g, saved.numpy(), *p))
    _assert_agrees(act, dtype, x, got, want, ref)
