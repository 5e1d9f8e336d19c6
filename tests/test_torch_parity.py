"""Every elementwise function against PyTorch's own kernels (where torch is installed):
forward values, and the backward at every kink, where the derivative is a convention
(SPEC §2.1: ``relu'(0) = 0``, ``hardtanh'`` 0 at its bounds, ...) that only PyTorch's
ATen backward op defines. The PyTorch callables come from the benchmarks' peers table, so
every registered function with a PyTorch twin is checked here with no other change.
"""

import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, assert_ulp

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


# Where PyTorch's formula cancels, it is within a few ULP of the size of its terms only, not
# of the result: the values are compared to that bound. gelu's 0.5 x (1 + erf(x / sqrt 2))
# is 17% off at x = -5 in float32 and -0.0 below -5.6; tanhshrink's x - tanh(x) near 0;
# the backward passes of gelu and silu near the roots of their derivatives, where
# Phi(x) + x phi(x) and 1 + x (1 - sigmoid(x)) vanish.
CANCELS = {"gelu": {"forward", "backward"}, "tanhshrink": {"forward"}, "silu": {"backward"}}


def _compare(act, direction, got, want, x, g=None):
    dtype = got.dtype
    if direction in CANCELS.get(act.name, ()):
        terms = np.abs(x.astype(np.float64))
        if g is not None:
            terms = np.abs(g) * (1 + terms)
        err = np.abs(got.astype(np.float64) - want)
        bound = 4 * np.finfo(dtype).eps * terms + np.finfo(dtype).smallest_subnormal
        assert np.all(err <= bound), f"{act.name}: {err.max():g} beyond PyTorch's own bound"
    else:
        assert_ulp(got, want, _tolerance(act, dtype), act.name)


def _tolerance(act, dtype):
    # Piecewise-linear functions are exact; elsewhere both libraries are within a few ULP
    # of the truth at these moderate points.
    return 0 if act.exact else (8 if dtype == np.float64 else 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act, variant", CASES, ids=CASE_IDS)
def test_forward_matches_pytorch(act, variant, dtype):
    x = points(act).astype(dtype)
    p = _params(act, variant)
    want = bb.BASELINES[act.name].torch_forward(torch, torch.from_numpy(x), *p).numpy()
    got = act.forward(x, *p)
    _compare(act, "forward", got, want, x)
    if act.exact:  # the sign of zero too
        assert np.array_equal(np.signbit(got), np.signbit(want)), act.name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act, variant", CASES, ids=CASE_IDS)
def test_backward_at_kinks_matches_aten(act, variant, dtype):
    base = bb.BASELINES[act.name]
    x = points(act).astype(dtype)
    p = _params(act, variant)
    g = np.linspace(0.5, 2.0, x.size).astype(dtype)
    tx = torch.from_numpy(x)
    saved = tx if act.saves == "input" else base.torch_forward(torch, tx, *p)
    want = base.torch_backward(torch, torch.from_numpy(g), saved, *p).numpy()
    got = act.backward(g, saved.numpy(), *p)
    _compare(act, "backward", got, want, x, g)
