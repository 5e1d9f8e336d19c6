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


# Those with numeric parameters: a user passes Python numbers (float64 to Numba), which
# must not turn a float32 kernel into a float64 one.
WITH_NUMBERS = [(a, v) for a, v in VARIANTS if any(p.kind == "numeric" for p in a.params)]


def _vid(cases):
    return [a.name + (f"-{v}" if v else "") for a, v in cases]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act, variant", VARIANTS, ids=_vid(VARIANTS))
def test_scalar_kernels_inside_njit(act, variant, dtype, rng):
    _compare(act, variant, dtype, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act, variant", WITH_NUMBERS, ids=_vid(WITH_NUMBERS))
def test_python_numbers_as_parameters(act, variant, dtype, rng):
    _compare(act, variant, dtype, lambda v: int(v) if v == int(v) else float(v), rng)


def _compare(act, variant, dtype, as_given, rng):
    """The kernels in a user's loops, parameters converted by ``as_given``, against the
    public functions: the same bits, and float32 stays float32."""
    x = (rng.standard_normal(257) * 4).astype(dtype)
    values = [
        variant if p.is_choice else v for p, v in zip(act.params, param_values(act), strict=True)
    ]
    params = tuple(as_given(v) for p, v in zip(act.params, values, strict=True) if not p.is_choice)
    f = act.kernel("forward", variant)
    scalar = numba.njit(lambda v: f(v, *params))
    scalar(x[0])
    assert scalar.nopython_signatures[0].return_type == numba.from_dtype(np.dtype(dtype))
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
