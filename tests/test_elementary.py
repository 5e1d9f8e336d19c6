"""Accuracy, special values and vectorization-independence of fastact.elementary.

The exhaustive float32 sweep lives in tools/ulp_sweep.py; this file checks dense
samples against the same 4-ULP bound fast enough for every test run.
"""

import functools
import math

import mpmath
import numba
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from fastact import elementary

NAMES = ["exp", "expm1", "log", "log1p", "tanh", "erf", "erfc"]
DTYPES = [np.float32, np.float64]
MAX_ULP = 4.0

# float64 references for the float32 checks (a few float64 ULP = ~2**-29 float32 ULP).
REF64 = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "erf": scipy.special.erf,
    "erfc": scipy.special.erfc,
}
MPREF = {
    "exp": mpmath.exp,
    "expm1": mpmath.expm1,
    "log": mpmath.log,
    "log1p": mpmath.log1p,
    "tanh": mpmath.tanh,
    "erf": mpmath.erf,
    "erfc": mpmath.erfc,
}


@functools.cache
def kernel(name):
    """``out[i] = f(x[i])`` compiled the way a fastact driver would call f."""
    f = getattr(elementary, name)

    @njit(error_model="numpy")
    def run(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = f(x[i])
        return out

    return run


def ulp_error(got, ref, dtype):
    """|got - ref| in ULP of ref's binade in ``dtype`` (ref: float64 array).

    Non-finite results count as 0 if they equal ref rounded to ``dtype`` (NaN
    matching NaN), else inf.
    """
    fi = np.finfo(dtype)
    with np.errstate(all="ignore"):
        ref_t = ref.astype(dtype).astype(np.float64)
        got = got.astype(np.float64)
        _, e = np.frexp(ref)
        ulp = np.ldexp(1.0, np.maximum(e - 1, fi.minexp) - fi.nmant)
        err = np.abs(got - ref) / ulp
    special = ~np.isfinite(ref_t) | ~np.isfinite(got)
    same = (got == ref_t) | (np.isnan(got) & np.isnan(ref_t))
    return np.where(special, np.where(same, 0.0, np.inf), err)


def f32_sample():
    rng = np.random.default_rng(1)
    mags = np.exp2(rng.uniform(-149, 128, 60_000)) * rng.choice([-1, 1], 60_000)
    parts = [
        mags,
        rng.uniform(-110, 95, 40_000),
        rng.uniform(-12, 12, 40_000),
        rng.uniform(-1.2, 1.2, 20_000),
    ]
    with np.errstate(over="ignore"):
        return np.concatenate(parts).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_float32_dense_ulp(name):
    x = f32_sample()
    got = kernel(name)(x)
    assert got.dtype == np.float32
    with np.errstate(all="ignore"):
        ref = REF64[name](x.astype(np.float64))
    err = ulp_error(got, ref, np.float32)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP, f"{name}({x[worst]!r}) off by {err[worst]} ULP"


def f64_sample(name, n=1500):
    rng = np.random.default_rng(2)
    lo = {"log": 0.0, "log1p": -1.0}.get(name, -760.0)
    mags = np.exp2(rng.uniform(-1074, 1024, n)) * rng.choice([-1, 1], n)
    x = np.concatenate(
        [
            mags,
            rng.uniform(max(lo, -760), 760, n // 2),
            rng.uniform(max(lo, -8), 8, n),
            rng.uniform(max(lo, -1), 1, n // 2),
        ]
    )
    # mpmath is slow (and pointless) where the result saturates.
    return x[(x > lo) & (np.abs(x) < {"erf": 7, "erfc": 30}.get(name, 1e300))]


@pytest.mark.parametrize("name", NAMES)
def test_float64_ulp_against_mpmath(name):
    x = f64_sample(name)
    got = kernel(name)(x)
    worst = (0.0, math.nan)
    with mpmath.workdps(40):
        for xi, gi in zip(x.tolist(), got.tolist(), strict=True):
            r = MPREF[name](mpmath.mpf(xi))
            rf = float(r)
            if not math.isfinite(rf) or rf == 0.0:
                assert gi == rf, (name, xi, gi, rf)
                continue
            _, e = math.frexp(rf)
            ulp = math.ldexp(1.0, max(e - 1, -1022) - 52)
            err = float(abs(mpmath.mpf(gi) - r)) / ulp
            worst = max(worst, (err, xi))
    assert worst[0] <= MAX_ULP, f"{name}({worst[1]!r}) off by {worst[0]} ULP"


INF, NAN = math.inf, math.nan
SPECIALS = [
    ("exp", NAN, NAN),
    ("exp", INF, INF),
    ("exp", -INF, 0.0),
    ("exp", 0.0, 1.0),
    ("exp", -0.0, 1.0),
    ("exp", 1000.0, INF),
    ("exp", -1000.0, 0.0),
    ("expm1", NAN, NAN),
    ("expm1", INF, INF),
    ("expm1", -INF, -1.0),
    ("expm1", 0.0, 0.0),
    ("expm1", -0.0, -0.0),
    ("expm1", 1000.0, INF),
    ("expm1", -1000.0, -1.0),
    ("log", NAN, NAN),
    ("log", INF, INF),
    ("log", -INF, NAN),
    ("log", 0.0, -INF),
    ("log", -0.0, -INF),
    ("log", -1.0, NAN),
    ("log", 1.0, 0.0),
    ("log1p", NAN, NAN),
    ("log1p", INF, INF),
    ("log1p", -INF, NAN),
    ("log1p", -1.0, -INF),
    ("log1p", -2.0, NAN),
    ("log1p", 0.0, 0.0),
    ("log1p", -0.0, -0.0),
    ("tanh", NAN, NAN),
    ("tanh", INF, 1.0),
    ("tanh", -INF, -1.0),
    ("tanh", 0.0, 0.0),
    ("tanh", -0.0, -0.0),
    ("tanh", 50.0, 1.0),
    ("tanh", -50.0, -1.0),
    ("erf", NAN, NAN),
    ("erf", INF, 1.0),
    ("erf", -INF, -1.0),
    ("erf", 0.0, 0.0),
    ("erf", -0.0, -0.0),
    ("erf", 10.0, 1.0),
    ("erfc", NAN, NAN),
    ("erfc", INF, 0.0),
    ("erfc", -INF, 2.0),
    ("erfc", 0.0, 1.0),
    ("erfc", 30.0, 0.0),
    ("erfc", -30.0, 2.0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "x", "expected"), SPECIALS)
def test_special_values(name, x, expected, dtype):
    got = kernel(name)(np.array([x], dtype))[0]
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected
        assert np.signbit(got) == np.signbit(expected), "sign of zero"


SUBNORMAL_CASES = [  # (name, x): arguments whose result is subnormal in float32 / float64
    ("exp", {np.float32: -100.0, np.float64: -740.0}),
    ("exp", {np.float32: -103.5, np.float64: -744.0}),
    ("erfc", {np.float32: 9.5, np.float64: 26.6}),
    ("tanh", {np.float32: 1e-40, np.float64: 1e-310}),
    ("log1p", {np.float32: -1e-40, np.float64: -1e-310}),
    ("expm1", {np.float32: 3e-42, np.float64: 3e-320}),
    ("erf", {np.float32: 1e-40, np.float64: 1e-310}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "xs"), SUBNORMAL_CASES)
def test_subnormal_results(name, xs, dtype):
    x = dtype(xs[dtype])
    with mpmath.workdps(40):
        ref = MPREF[name](mpmath.mpf(float(x)))
    expected = dtype(float(ref))  # float(ref) is exact enough: ref is far above 2**-1074
    got = kernel(name)(np.array([x]))[0]
    assert 0 < abs(expected) < np.finfo(dtype).smallest_normal
    spacing = float(np.finfo(dtype).smallest_subnormal)
    assert abs(float(got) - float(ref)) <= spacing, (name, x, got, expected)


def hostile(dtype, n=1000, seed=3):
    """Values across the whole range plus every special, in random order."""
    rng = np.random.default_rng(seed)
    fi = np.finfo(dtype)
    bits = rng.integers(0, 2**fi.bits, n - 16, dtype=np.uint64)
    x = bits.astype(np.uint32 if fi.bits == 32 else np.uint64).view(dtype)
    specials = np.array(
        [
            0.0,
            -0.0,
            INF,
            -INF,
            NAN,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            20.0,
            -20.0,
            100.0,
            -100.0,
            fi.max,
            fi.smallest_subnormal,
        ],
        dtype,
    )
    x = np.concatenate([x, specials])
    rng.shuffle(x)
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_vector_body_matches_scalar_remainder(name, dtype):
    """The vectorized loop body and its scalar remainder give identical bits."""
    x = hostile(dtype)
    run = kernel(name)
    whole = run(x)
    one_by_one = np.concatenate([run(x[i : i + 1]) for i in range(x.size)])
    nan = np.isnan(whole)
    np.testing.assert_array_equal(nan, np.isnan(one_by_one))
    # Bit-identical, signed zeros included; NaN payloads may differ (x86 keeps the
    # first operand's NaN, and vector code may commute operands).
    np.testing.assert_array_equal(
        whole[~nan].view(f"u{x.itemsize}"), one_by_one[~nan].view(f"u{x.itemsize}")
    )


def test_callable_from_user_njit_with_default_error_model():
    """The overloads carry their own error_model: callers need not set one."""

    @njit
    def user(x):
        return elementary.tanh(x) + elementary.exp(x) + elementary.log1p(x)

    for v in (0.3, -0.7, 5.0):
        for dt in DTYPES:
            expected = (
                kernel("tanh")(np.array([v], dt))
                + kernel("exp")(np.array([v], dt))
                + kernel("log1p")(np.array([v], dt))
            )
            assert user(dt(v)) == expected[0]
    assert {str(sig.return_type) for sig in user.nopython_signatures} == {"float32", "float64"}


def test_python_path_is_math():
    for name in NAMES:
        assert getattr(elementary, name)(0.5) == getattr(math, name)(0.5)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NAMES), st.floats(width=32, allow_nan=True, allow_infinity=True))
def test_float32_property(name, v):
    x = np.array([v], np.float32)
    got = kernel(name)(x)
    with np.errstate(all="ignore"):
        ref = REF64[name](x.astype(np.float64))
    assert ulp_error(got, ref, np.float32)[0] <= MAX_ULP


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maximum_propagates_nan_and_reduces_like_numpy(dtype):
    @numba.njit(error_model="numpy")
    def pairwise(a, b, out):
        for i in range(a.size):
            out[i] = elementary.maximum(a[i], b[i])

    @numba.njit(error_model="numpy")
    def reduce(a):
        m = a[0]
        for i in range(1, a.size):
            m = elementary.maximum(m, a[i])
        return m

    v = np.array([np.nan, 1.0, -np.inf, np.inf, 0.0, -0.0, 3.0], dtype)
    a, b = np.repeat(v, v.size), np.tile(v, v.size)
    out = np.empty_like(a)
    pairwise(a, b, out)
    want = np.maximum(a, b)  # NaN-propagating, as IEEE maximum
    assert np.array_equal(out, want, equal_nan=True)
    assert np.array_equal(
        out, [elementary.maximum(x, y) for x, y in zip(a, b, strict=True)], equal_nan=True
    )  # the Python path agrees
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1001).astype(dtype)
    assert reduce(x) == x.max()
    x[517] = np.nan
    assert np.isnan(reduce(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_pow2_scales_without_rounding_its_argument(dtype):
    # exp(x) 2**-k with results from above 1 down through the subnormals to 0: x itself is
    # exp's argument (a rounded x - k ln 2 would cost up to |x| ULP) and the scaling by
    # 2**-k rounds a subnormal result once.
    f = elementary.exp_pow2

    @njit(error_model="numpy")
    def run(x, k):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = f(x[i], k[i])
        return out

    rng = np.random.default_rng(7)
    lim = 300.0 if dtype == np.float32 else 2300.0
    x = rng.uniform(-lim, lim, 4000).astype(dtype)
    top = np.floor(x / math.log(2)) + rng.integers(-2, 2, x.size)  # results around 1 ...
    k = (
        top
        + np.where(
            rng.random(x.size) < 0.5,
            0,
            rng.uniform(0, 180 if dtype == np.float32 else 1100, x.size).round(),
        )
    ).astype(dtype)  # ... and far below
    got = run(x, k)
    with mpmath.workdps(40):
        want = np.array(
            [
                float(mpmath.exp(mpmath.mpf(float(a))) * mpmath.mpf(2) ** -int(b))
                for a, b in zip(x, k, strict=True)
            ]
        )
    tiny = np.finfo(dtype).tiny
    want32 = want.astype(dtype)  # correctly rounded but for double rounding at ties: 1 ULP
    ulp = np.spacing(np.abs(want32)).astype(np.float64)
    err = np.abs(got.astype(np.float64) - want) / np.maximum(
        ulp, float(np.finfo(dtype).smallest_subnormal)
    )
    assert (got[want32 < tiny] != 0).any() and (got == 0).any()  # subnormal results and 0 sampled
    assert err.max() <= 1.0, (err.max(), x[err.argmax()], k[err.argmax()])


@pytest.mark.parametrize("terms", [5, 11, 15, 23])
def test_long_polynomials_split_without_losing_accuracy(terms):
    # _horner evaluates long float64 polynomials in two chains and ends with plain Horner
    # steps, so that the split's extra rounding is damped: as accurate as Horner's scheme
    # (under 0.9 ULP for these decaying coefficients), where a split to the last term gives 1.03.
    from fastact.elementary import _horner

    coeffs = tuple(float(0.3**k / (k + 1) * (-1) ** k) for k in range(terms - 1, -1, -1))

    @njit
    def poly(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = _horner(x[i], coeffs)
        return out

    x = np.random.default_rng(0).uniform(-1.1, 1.1, 3000)
    got = poly(x)
    mpmath.mp.prec = 120
    worst = 0.0
    for xi, gi in zip(x, got, strict=True):
        exact = mpmath.mpf(0)
        for c in coeffs:
            exact = exact * mpmath.mpf(xi) + mpmath.mpf(c)
        worst = max(worst, abs(float((mpmath.mpf(gi) - exact) / np.spacing(abs(float(exact))))))
        assert abs(float(exact - mpmath.mpf(float(_horner(xi, coeffs))))) <= 1.5 * np.spacing(
            abs(float(exact))
        )  # the Python form too
    assert worst <= 0.9, worst
