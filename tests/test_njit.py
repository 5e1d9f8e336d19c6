"""The public kernels are callable inside a user's own @njit code (SPEC §5)."""

import numba
import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, ROWWISE_ACTS, assert_same, ids, param_values, saved_for

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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_scalar_kernels_inside_njit(act, dtype, rng):
    x = (rng.standard_normal(257) * 4).astype(dtype)
    params = tuple(dtype(v) for v in param_values(act))
    out = np.empty_like(x)
    _loop(act.forward_kernel)(x, out, params)
    assert_same(out, act.forward(x, *param_values(act)))
    g = rng.standard_normal(x.size).astype(dtype)
    s = saved_for(act, x)
    _loop2(act.backward_kernel)(g, s, out, params)
    assert_same(out, act.backward(g, s, *param_values(act)))


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
