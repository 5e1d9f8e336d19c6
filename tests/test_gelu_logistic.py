"""gelu, silu, tanhshrink, softsign where the generic registry tests cannot look: the tails
and cancellations against mpmath (SPEC §4), the tanh form of gelu, the choice errors."""

import warnings

import mpmath
import numpy as np
import pytest
from conftest import FLOATS, assert_ulp

import fastact

MAX_ULP = 4


def _mp(f, xs, dtype):
    with mpmath.workdps(50):
        return np.array([float(f(mpmath.mpf(float(v)))) for v in xs]).astype(dtype)


def _gelu_mp(x):
    return x * mpmath.ncdf(x)


def _gelu_tanh_mp(x):
    k = 2 * mpmath.sqrt(2 / mpmath.pi)
    return x / (1 + mpmath.exp(-k * (x + mpmath.mpf("0.044715") * x**3)))


def _silu_mp(x):
    return x / (1 + mpmath.exp(-x))


def _tail(dtype, lo, hi, n=2000):
    return np.linspace(lo, hi, n).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gelu_negative_tail_against_mpmath(dtype):
    # Down to where the results underflow (subnormal on the way); PyTorch's float32 is 17%
    # off at -5 and -0.0 below -5.6 (its 1 + erf(x / sqrt 2) cancels).
    lo = -14.5 if dtype == np.float32 else -38.6
    x = _tail(dtype, lo, -1.0)
    y = fastact.gelu(x)
    assert_ulp(y, _mp(_gelu_mp, x, dtype), MAX_ULP, "gelu tail")
    assert np.sum((y < 0) & (y > -np.finfo(dtype).tiny)) > 10, "subnormal results kept"


@pytest.mark.parametrize("dtype", FLOATS)
def test_gelu_tanh_form_against_mpmath(dtype, rng):
    lo = -10.4 if dtype == np.float32 else -21.8
    x = np.concatenate([_tail(dtype, lo, 8.0), (rng.standard_normal(2000) * 3).astype(dtype)])
    y = fastact.gelu(x, approximate="tanh")
    assert_ulp(y, _mp(_gelu_tanh_mp, x, dtype), MAX_ULP, "gelu tanh")


@pytest.mark.parametrize("dtype", FLOATS)
def test_gelu_tanh_form_backward_against_reference(dtype, rng):
    act = fastact.REGISTRY["gelu"]
    x = (rng.standard_normal(50_000) * 6).astype(dtype)
    g = rng.standard_normal(x.size).astype(dtype)
    want = act.reference_backward(g.astype(float), x.astype(float), "tanh").astype(dtype)
    # float64: 5, not 4 (measured, around x = -2.3): exp's argument in two parts costs the
    # correction's rounding, and the derivative's product and quotient add three more.
    bound = MAX_ULP if dtype == np.float32 else 5
    assert_ulp(fastact.gelu_backward(g, x, approximate="tanh"), want, bound, "gelu tanh'")


@pytest.mark.parametrize("dtype", FLOATS)
def test_silu_keeps_subnormals_in_the_negative_tail(dtype):
    # NumPy, SciPy and PyTorch flush these to 0 (float32 below about -88.7).
    lo, hi = (-103.0, -93.0) if dtype == np.float32 else (-744.0, -716.0)
    x = _tail(dtype, lo, hi, 500)
    y = fastact.silu(x)
    assert np.all((y < 0) & (y > -np.finfo(dtype).tiny))
    assert_ulp(y, _mp(_silu_mp, x, dtype), MAX_ULP, "silu subnormal tail")


@pytest.mark.parametrize("dtype", FLOATS)
def test_tanhshrink_near_zero_against_mpmath(dtype):
    # x - tanh(x) cancels: by 2 log2(1/x) bits near 0, still 14x at x = 0.5.
    tiny = np.finfo(dtype).smallest_subnormal
    mags = np.geomspace(1e-40 if dtype == np.float32 else 1e-300, 3.0, 3000)
    x = np.concatenate([mags, -mags, [tiny, -tiny]]).astype(dtype)

    def f(v):
        return v - mpmath.tanh(v) if abs(v) > 1e-15 else v**3 / 3 - 2 * v**5 / 15

    assert_ulp(fastact.tanhshrink(x), _mp(f, x, dtype), MAX_ULP, "tanhshrink")
    assert np.signbit(fastact.tanhshrink(np.array(-0.0, dtype)))  # odd, as tanh


@pytest.mark.parametrize("dtype", FLOATS)
def test_softsign_for_huge_inputs(dtype):
    big = np.finfo(dtype).max
    x = np.array([big, -big, 1e30, -1e30, 3e7, -3e7], dtype)
    assert_ulp(fastact.softsign(x), _mp(lambda v: v / (1 + abs(v)), x, dtype), 1, "softsign")
    # The derivative 1 / (1 + |x|)**2 stays representable, down to the subnormals, where
    # (1 + |x|)**2 itself overflows.
    x = np.array([1e160, -1e161] if dtype == np.float64 else [1e20, -1e22], dtype)
    d = fastact.softsign_backward(np.ones_like(x), x)
    assert_ulp(d, _mp(lambda v: 1 / (1 + abs(v)) ** 2, x, dtype), MAX_ULP, "softsign'")
    assert np.all(d > 0)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_limits_and_special_values(dtype, approximate):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], dtype)
    g = np.ones_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fastact.gelu(x, approximate=approximate)
        d = fastact.gelu_backward(g, x, approximate=approximate)
    np.testing.assert_array_equal(y, [np.inf, 0.0, np.nan, 0.0, 0.0])
    assert np.array_equal(np.signbit(y[[0, 1, 3, 4]]), [False, True, False, True])
    np.testing.assert_array_equal(d, [1.0, 0.0, np.nan, 0.5, 0.5])
    for name, at_inf, at_minus_inf in [
        ("silu", (np.inf, 1.0), (0.0, 0.0)),
        ("tanhshrink", (np.inf, 1.0), (-np.inf, 1.0)),
        ("softsign", (1.0, 0.0), (-1.0, 0.0)),
    ]:
        act = fastact.REGISTRY[name]
        y = act.forward(x[:3])
        d = act.backward(g[:3], x[:3])
        np.testing.assert_array_equal(y, [at_inf[0], at_minus_inf[0], np.nan], name)
        np.testing.assert_array_equal(d, [at_inf[1], at_minus_inf[1], np.nan], name)


def test_approximate_picks_a_kernel_and_is_checked():
    x = np.linspace(-3, 3, 7)
    assert not np.array_equal(fastact.gelu(x), fastact.gelu(x, approximate="tanh"))
    np.testing.assert_array_equal(fastact.gelu(x), fastact.gelu(x, "none"))
    for bad in ["Tanh", "erf", ""]:
        with pytest.raises(ValueError, match="'none', 'tanh'"):
            fastact.gelu(x, approximate=bad)
        with pytest.raises(ValueError, match="approximate"):
            fastact.gelu_backward_(x.copy(), x, approximate=bad)
    with pytest.raises(TypeError, match="approximate"):
        fastact.gelu(x, approximate=None)
