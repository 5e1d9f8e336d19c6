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
MP = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "tanh": mpmath.tanh,
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    # 60 digits cannot resolve x - tanh(x) below 1e-20: the series there.
    "tanhshrink": lambda x: x - mpmath.tanh(x) if abs(x) > 1e-20 else x**3 / 3,
    "softsign": lambda x: x / (1 + abs(x)),
    "gelu": lambda x: x * mpmath.ncdf(x) if abs(x) < 50 else max(x, 0),
    "hardswish": lambda x: x * min(max(x + 3, 0), 6) / 6,
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
        assert np.isnan(act.forward(np.nan)), act.name


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


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [2, 7, 300, 5000])
def test_log_softmax_near_zero(dtype, n, rng):
    # One dominant element: its log_softmax, -log(1 + sum of tiny exps), is near 0, where
    # x - max - log(sum) cancels (and log(sum) of a rounded sum loses everything).
    gaps = {np.float32: (5, 16, 40, 80), np.float64: (5, 20, 40, 300, 700)}[dtype]
    for gap in gaps:
        x = (rng.uniform(-gap - 3, -gap, (8, n))).astype(dtype)
        x[:, 0] = 0
        want = _mp_rows(x, 1, True).astype(dtype)
        got = fastact.log_softmax(x)
        assert_ulp(got[:, 0], want[:, 0], MAX_ULP, f"dominant, gap {gap}")
        assert_ulp(got, want, MAX_ULP, f"gap {gap}")


@pytest.mark.parametrize("n", [3, 40, 3000])  # short rows (tiles of rows), long rows
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
