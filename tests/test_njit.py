"""The public kernels are callable inside a user's own @njit code (SPEC §5)."""

import numba
import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, ROWWISE_ACTS, assert_same, ids, param_values

import fastact
from fastact import kernels


def _loop(f):
    @numba.njit
    def loop(x, out, params):
        for i in range(x.size):
            out[i] = f(x[i], *params)

    return loop


def _loop2(f):
    @numba.njit
    def loop(g, s, out, params):
        for i in range(g.size):
            out[i] = f(g[i], s[i], *params)

    return loop


# One case per choice of a choice parameter (gelu's approximate): each has its kernels.
VARIANTS = [(a, v) for a in ELEMENTWISE_ACTS for v in a.variants]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "act, variant", VARIANTS, ids=[a.name + (f"-{v}" if v else "") for a, v in VARIANTS]
)
def test_scalar_kernels_inside_njit(act, variant, dtype, rng):
    x = (rng.standard_normal(257) * 4).astype(dtype)
    values = [
        variant if p.is_choice else v for p, v in zip(act.params, param_values(act), strict=True)
    ]
    params = tuple(dtype(v) for p, v in zip(act.params, values, strict=True) if not p.is_choice)
    out = np.empty_like(x)
    _loop(act.kernel("forward", variant))(x, out, params)
    assert_same(out, act.forward(x, *values))
    g = rng.standard_normal(x.size).astype(dtype)
    s = act.forward(x, *values) if act.saves == "output" else x
    _loop2(act.kernel("backward", variant))(g, s, out, params)
    assert_same(out, act.backward(g, s, *values))


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_row_kernels_inside_njit(act, rng):
    x = rng.standard_normal((5, 9))
    row = act.forward_kernel

    @numba.njit
    def rows(x, out):
        for r in range(x.shape[0]):
            row(x[r], out[r])

    out = np.empty_like(x)
    rows(x, out)
    assert_same(out, act.forward(x))


def test_a_user_function_mixing_kernels():
    @numba.njit
    def gate(x):
        return kernels.sigmoid(x) * kernels.tanh(x) + kernels.leaky_relu(x, np.float32(0.1))

    for v in [0.5, -2.0, 30.0]:
        x = np.float32(v)
        # float32 all the way: the same roundings as the float32 array functions.
        want = fastact.sigmoid(x) * fastact.tanh(x) + fastact.leaky_relu(x, 0.1)
        assert want.dtype == np.float32
        assert np.float32(gate(x)) == want
