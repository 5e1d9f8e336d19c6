"""Values: ULP bounds against float64 and mpmath references, special values, SPEC §4."""

import warnings

import mpmath
import numpy as np
import pytest
from conftest import (
    ALL,
    ELEMENTWISE_ACTS,
    FLOATS,
    ROWWISE_ACTS,
    assert_same,
    assert_ulp,
    ids,
    param_values,
    reference,
    sample,
    specials,
)

import fastact

MAX_ULP = 4

# Correctly rounded references in arbitrary precision, for float64 results (a float64
# NumPy reference is itself a few float64 ULP off). Piecewise-linear functions are
# checked for exactness instead.
SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")
SELU_SCALE = mpmath.mpf("1.0507009873554804934193349852946")


def _mp_softplus(x, beta=1, threshold=20):
    # PyTorch's meaning: x itself where the rounded beta * x exceeds the threshold.
    z = x * beta
    return x if float(z) > threshold else mpmath.log1p(mpmath.exp(z)) / beta


def _mp_mish(x):
    return x * mpmath.tanh(mpmath.log1p(mpmath.exp(x))) if x > -1e6 else -mpmath.mpf(0)


def _mp_elu(x, alpha=1):
    return x if x > 0 else alpha * mpmath.expm1(x)


MP = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "tanh": mpmath.tanh,
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    # 60 digits cannot resolve x - tanh(x) below 1e-20: the series there.
    "tanhshrink": lambda x: x - mpmath.tanh(x) if abs(x) > 1e-20 else x**3 / 3,
    "softsign": lambda x: x / (1 + abs(x)),
    "gelu": lambda x: x * mpmath.ncdf(x) if abs(x) < 50 else max(x, 0),
    "hardswish": lambda x: x * min(max(x + 3, 0), 6) / 6,
    "softplus": _mp_softplus,
    "logsigmoid": lambda x: -mpmath.log1p(mpmath.exp(-x)),
    "mish": _mp_mish,
    "elu": _mp_elu,
    "selu": lambda x: SELU_SCALE * _mp_elu(x, SELU_ALPHA),
    "celu": _mp_elu,  # alpha = 1
}


def _mp_round(f, xs, dtype):
    with mpmath.workdps(60):
        return np.array([float(f(mpmath.mpf(float(v)))) for v in xs]).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_dense_sample_within_ulp_of_float64_reference(act, dtype, rng):
    x = sample(dtype, 200_000, rng)
    got = act.forward(x, *param_values(act), target="cpu")
    with np.errstate(over="ignore", under="ignore"):
        want = reference(act, x).astype(dtype)
    # float64 results against a float64 reference: the reference's own rounding is in
    # the bound; the mpmath test below is the correctly rounded one.
    if act.exact:
        assert_same(got, want)
    else:
        assert_ulp(got, want, MAX_ULP, f"{act.name} {np.dtype(dtype)}")


@pytest.mark.parametrize("act", [a for a in ELEMENTWISE_ACTS if a.name in MP], ids=ids)
def test_float64_within_ulp_of_mpmath(act, rng):
    x = sample(np.float64, 3000, rng)
    assert_ulp(
        act.forward(x, target="cpu"), _mp_round(MP[act.name], x, np.float64), MAX_ULP, act.name
    )


def test_mpmath_table_covers_every_non_exact_elementwise_function():
    missing = [a.name for a in ELEMENTWISE_ACTS if not a.exact and a.name not in MP]
    assert not missing, f"add mpmath references for {missing}"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("act", ALL, ids=ids)
def test_special_values(act, dtype):
    x = specials(dtype)
    if act.kind == "rowwise":
        x = x.reshape(-1, 1)  # one element per row: softmax of a lone finite value is 1
    if act.kind == "halves":  # glu: every special value against every other, (a, b) rows
        x = np.stack(np.meshgrid(x, x), -1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        want = reference(act, x).astype(dtype)
    got = act.forward(x, *param_values(act), target="cpu")
    if act.exact:
        assert_same(got, want)
    else:
        assert_ulp(got, want, MAX_ULP, act.name)
        zeros = want == 0
        assert np.array_equal(np.signbit(got[zeros]), np.signbit(want[zeros])), "sign of zero"


def test_spec_special_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fastact.sigmoid(-1000.0) == 0.0
        assert fastact.sigmoid(np.float32(-1000.0)) == 0.0
    assert fastact.sigmoid(np.inf) == 1.0 and fastact.sigmoid(-np.inf) == 0.0
    assert fastact.tanh(np.inf) == 1.0 and fastact.tanh(-np.inf) == -1.0
    assert fastact.relu(np.inf) == np.inf
    for act in ALL:
        nan = [np.nan, np.nan] if act.kind == "halves" else np.nan  # glu splits a pair
        assert np.all(np.isnan(act.forward(nan, *param_values(act)))), act.name


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_keeps_subnormals_in_the_negative_tail(dtype):
    # NumPy, SciPy and PyTorch flush these to 0 (float32 below about -88.7).
    x = np.array([-100.0, -103.0] if dtype == np.float32 else [-720.0, -744.0], dtype)
    y = fastact.sigmoid(x)
    info = np.finfo(dtype)
    assert np.all((y > 0) & (y < info.tiny))
    assert_ulp(y, _mp_round(MP["sigmoid"], x, dtype), MAX_ULP, "subnormal tail")


def test_negative_zero_follows_pytorch():
    z = np.array([-0.0])
    assert np.signbit(fastact.relu(z))[0]  # torch.relu(-0.0) is -0.0
    assert np.signbit(fastact.leaky_relu(z))[0]
    assert np.signbit(fastact.tanh(z))[0]


@pytest.mark.parametrize("dtype", FLOATS)
def test_leaky_relu_rounds_once(dtype):
    x = np.linspace(-3, 3, 1001).astype(dtype)
    slope = dtype(0.01)
    want = (x.astype(np.float64) * np.float64(slope)).astype(dtype)
    want = np.where(x > 0, x, want)
    assert_same(fastact.leaky_relu(x), want)


# ------------------------------------------------------------------ the softmax family
def _mp_rows(x, sign=1, log=False):
    """The family member (sign, log) of every row of x, correctly rounded to float64."""
    out = np.empty(x.shape)
    with mpmath.workdps(60):
        for r, row in enumerate(x):
            vals = [sign * mpmath.mpf(float(v)) for v in row]
            m = max(vals)
            e = [mpmath.exp(v - m) for v in vals]
            s = mpmath.fsum(e)
            # log1p of the sum beyond the max's 1: 60 digits of log(s) would round
            # log_softmax's dominant element, -log(1 + 1e-131), to 0.
            i = vals.index(m)
            lse = m + mpmath.log1p(mpmath.fsum(e[:i] + e[i + 1 :]))
            out[r] = [
                float(v - lse) if log else float(ev / s) for v, ev in zip(vals, e, strict=True)
            ]
    return out


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(50, 7), (20, 90), (4, 300), (1, 5000)])
@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_rows_within_ulp_of_mpmath(act, dtype, shape, rng):
    # Wide spreads: exp(x - max) with |x - max| up to ~80 exercises the correction of
    # the rounding of x - max, which alone would cost |x - max| ULP.
    x = (rng.standard_normal(shape) * 20).astype(dtype)
    want = _mp_rows(x, *act.row_family).astype(dtype)
    for target in ("cpu", "parallel"):
        assert_ulp(act.forward(x, target=target), want, MAX_ULP, f"{act.name} {shape}")


# Row maxima on both sides of where the CPU's long rows change how they take exp(x - max)
# (kernels.softmax._row_shift: |max| = 2 * _GAP), far beyond it, and where max - _GAP
# rounds to max (a row's ULP there is beyond the gap: 1e10 in float32, 1e20 in float64).
OFFSETS = {
    np.float32: (-1e10, -1e8, -221.0, -219.0, -60.0, 60.0, 219.0, 221.0, 1e8, 1e10),
    np.float64: (-1e20, -1e17, -1601.0, -1599.0, -600.0, 600.0, 1599.0, 1601.0, 1e17, 1e20),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [300, 2500])  # long rows: in one piece, and in blocks
@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_rows_within_ulp_of_mpmath_wherever_their_max_lies(act, dtype, n, rng):
    for offset in OFFSETS[dtype]:
        x = rng.standard_normal((2, n)) * 20
        x[:, -4:] = [-120, -130, -900, -np.inf]  # beyond the clamp: exactly 0 (float32)
        x = (x * act.row_family[0] + offset).astype(dtype)  # softmin: the max is -x's
        want = _mp_rows(x, *act.row_family).astype(dtype)
        assert_ulp(act.forward(x), want, MAX_ULP, f"{act.name} {offset}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [2, 7, 40, 300, 5000])  # up to 40: tiles of rows in float64
def test_log_softmax_near_zero(dtype, n, rng):
    # One dominant element: its log_softmax, -log(1 + sum of tiny exps), is near 0, where
    # x - max - log(sum) cancels (and log(sum) of a rounded sum loses everything).
    gaps = {np.float32: (5, 16, 40, 80), np.float64: (5, 20, 40, 80, 300, 700)}[dtype]
    rows = 32 if n <= 300 else 4  # two tiles of short rows; long rows each take the same path
    for gap in gaps:
        x = (rng.uniform(-gap - 3, -gap, (rows, n))).astype(dtype)
        x[:, 0] = 0
        want = _mp_rows(x, 1, True).astype(dtype)
        got = fastact.log_softmax(x)
        assert_ulp(got[:, 0], want[:, 0], MAX_ULP, f"dominant, gap {gap}")
        assert_ulp(got, want, MAX_ULP, f"gap {gap}")


@pytest.mark.parametrize("n", [3, 20, 3000])  # short rows (tiles of rows), long rows
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_rows_with_nan_or_inf_give_nan_rows(act, dtype, n, rng):
    # softmin is softmax(-x): its NaN rows hold -inf or only +inf.
    sign = act.row_family[0]
    x = rng.standard_normal((37, n)).astype(dtype)  # two full tiles of 16 rows, one partial
    bad = {0: (0, np.nan), 5: (n - 1, np.nan), 16: (n // 2, sign * np.inf), 36: (n // 2, -np.nan)}
    for r, (j, v) in bad.items():
        x[r, j] = v
    x[20] = -sign * np.inf
    good = [r for r in range(len(x)) if r not in bad and r != 20]
    for target in ("cpu", "parallel"):
        y = act.forward(x, target=target)
        assert np.isnan(y[[*bad, 20]]).all(), target
        assert np.isfinite(y[good]).all(), target
        # A row's result does not depend on its neighbours (nor on how rows are split).
        assert_same(y[good], act.forward(x[good], target=target))


def test_softmax_handles_huge_and_minus_inf_entries():
    x = np.array([[1e30, 1e30 - 1e24, -np.inf], [-1e30, 0.0, -np.inf]], np.float32)
    y = fastact.softmax(x)
    assert np.isfinite(y).all() and y[0, 2] == 0 and y[1, 2] == 0
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)


# ------------------------------------------------------------------ the exponential family
def _mp_mish_prime(x):
    u = mpmath.exp(x)
    t = mpmath.tanh(mpmath.log1p(u))
    return t + x * u / (1 + u) * (1 - t * t)


TAILS = {
    # (function, float32 points, float64 points): results that NumPy-style formulas lose.
    # logsigmoid's positive tail is subnormal; mish's negative tail is x * exp(x), normal
    # while exp(x) alone is already subnormal; softplus's negative tail likewise.
    "logsigmoid": ([20.0, 90.0, 100.0, 103.0], [40.0, 700.0, 720.0, 744.0]),
    "mish": ([-20.0, -50.0, -88.0, -95.0, -100.0, -103.0], [-40.0, -710.0, -730.0, -740.0]),
    "softplus": ([-20.0, -88.0, -95.0, -103.0], [-40.0, -710.0, -740.0]),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(TAILS))
def test_exponential_tails_within_ulp_of_mpmath(name, dtype):
    x32, x64 = TAILS[name]
    x = np.array(x32 if dtype == np.float32 else x64, dtype)
    x = np.concatenate([x, np.nextafter(x, dtype(0))])
    got = fastact.REGISTRY[name].forward(x)
    assert np.all(got != 0), f"{name}: flushed to zero"
    assert_ulp(got, _mp_round(MP[name], x, dtype), MAX_ULP, f"{name} tail")


@pytest.mark.parametrize("beta", [3.0, 0.01])
@pytest.mark.parametrize("dtype", FLOATS)
def test_softplus_with_large_or_small_beta_is_accurate(dtype, beta, rng):
    # beta * x is rounded before exp: uncorrected, |beta * x| * eps / 2 relative error in
    # the negative tail (PyTorch: 64 ULP at beta = 3). With beta < 1, exp(beta * x) / beta
    # is normal where exp(beta * x) is already subnormal (float32 below beta * x = -87).
    thr = 20.0
    lo = -110.0 / beta if dtype == np.float32 else -760.0 / beta
    x = np.concatenate([rng.uniform(-30, 6, 1000), rng.uniform(lo, lo / 3, 1000)]).astype(dtype)
    got = fastact.softplus(x, beta, thr)
    b = float(dtype(beta))
    want = _mp_round(lambda v: _mp_softplus(v, mpmath.mpf(b), thr), x, dtype)
    assert_ulp(got, want, MAX_ULP, f"softplus beta={beta}")


@pytest.mark.parametrize("alpha", [0.1, 3.0, 0.5])
@pytest.mark.parametrize("dtype", FLOATS)
def test_celu_with_any_alpha_is_accurate(dtype, alpha, rng):
    # x / alpha is rounded before exp: uncorrected, the backward's exp(x / alpha) is
    # |x / alpha| eps / 2 off (440 ULP at x / alpha = -640 in float64, alpha = 0.1).
    a = float(dtype(alpha))
    lo = (-100.0 if dtype == np.float32 else -740.0) * a
    x = np.concatenate([rng.uniform(-5, 1, 500), rng.uniform(lo, lo / 10, 1000)]).astype(dtype)
    g = np.ones_like(x)
    want_y = _mp_round(lambda v: mpmath.expm1(v / mpmath.mpf(a)) * a if v <= 0 else v, x, dtype)
    want_d = _mp_round(lambda v: mpmath.exp(v / mpmath.mpf(a)) if v <= 0 else 1, x, dtype)
    assert_ulp(fastact.celu(x, alpha), want_y, MAX_ULP, f"celu alpha={alpha}")
    zeros = np.array([-0.0, 0.0], dtype)  # the sign of zero kept, as PyTorch keeps it
    assert_same(fastact.celu(zeros, alpha), zeros)
    assert_ulp(fastact.celu_backward(g, x, alpha), want_d, MAX_ULP, f"celu' alpha={alpha}")


@pytest.mark.parametrize("dtype", FLOATS)
def test_mish_backward_near_its_zero_within_ulp_of_mpmath(dtype, rng):
    # mish' crosses 0 at x0 = -1.1924: any formula from exp(x) cancels there.
    x0 = -1.1924312145154952
    x = np.concatenate([rng.uniform(-2.5, 0.0, 2000), x0 + rng.uniform(-1e-5, 1e-5, 500)])
    x = np.concatenate([x.astype(dtype), np.array([-1.75, -0.625, -1.7500001], dtype)])
    got = fastact.mish_backward(np.ones_like(x), x)
    assert_ulp(got, _mp_round(_mp_mish_prime, x, dtype), MAX_ULP, "mish'")


def test_exponential_limits_and_signed_zeros():
    inf = np.array([-np.inf, np.inf])
    one = np.ones(2)
    assert_same(fastact.mish(inf), np.array([-0.0, np.inf]))  # PyTorch: NaN at -inf
    assert_same(fastact.mish_backward(one, inf), np.array([-0.0, 1.0]))
    assert_same(fastact.softplus(inf), np.array([0.0, np.inf]))
    assert_same(fastact.logsigmoid(inf), np.array([-np.inf, -0.0]))  # PyTorch: +0.0
    for name in ("elu", "selu", "celu", "mish"):
        assert np.signbit(fastact.REGISTRY[name].forward(np.array([-0.0])))[0], name
    # ATen's kinks: x <= 0 takes the exponential branch.
    z = np.array([0.0, -0.0])
    assert_same(fastact.elu_backward(np.ones(2), z, 0.5), np.array([0.5, 0.5]))
    assert_same(fastact.celu_backward(np.ones(2), z, 3.0), np.array([1.0, 1.0]))


@pytest.mark.parametrize(
    "dtype, x, alpha", [(np.float64, -1e301, 1e300), (np.float32, -3.2e38, 3e38)]
)
def test_celu_with_huge_alpha_below_float32s_range(dtype, x, alpha):
    # x / alpha is a one-FMA product whose clamp (against -inf * 0) is the dtype's lowest
    # value: a float32 constant (-3e38) clamped float64 inputs, and float32 ones below it.
    mpmath.mp.prec = 100
    xs, a = np.array([x], dtype), dtype(alpha)
    z = mpmath.mpf(float(xs[0])) / mpmath.mpf(float(a))
    for got, exact in (
        (fastact.celu(xs, a)[0], mpmath.mpf(float(a)) * mpmath.expm1(z)),
        (fastact.celu_backward(np.ones(1, dtype), xs, a)[0], mpmath.exp(z)),
    ):
        assert abs(float(got) - float(exact)) <= 4 * np.spacing(abs(dtype(float(exact))))
