"""Properties over arbitrary inputs (hypothesis)."""

import numpy as np
from conftest import IN_PLACE, assert_same, param_values
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastact

finite32 = st.floats(-1e4, 1e4, allow_nan=False, width=32)
any64 = st.floats(allow_nan=True, allow_infinity=True)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)

SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(hnp.arrays(np.float64, shapes, elements=any64))
def test_sigmoid_in_unit_interval_and_monotone(x):
    y = fastact.sigmoid(x)
    ok = ~np.isnan(x)
    assert np.all((y[ok] >= 0) & (y[ok] <= 1))
    assert np.array_equal(np.isnan(y), np.isnan(x))
    flat = np.sort(x[ok].ravel())
    assert np.all(np.diff(fastact.sigmoid(flat)) >= 0)


@SETTINGS
@given(hnp.arrays(np.float64, shapes, elements=any64))
def test_tanh_odd_and_bounded(x):
    y = fastact.tanh(x)
    assert_same(fastact.tanh(-x), -y)
    assert np.all(np.abs(y[~np.isnan(y)]) <= 1)


@SETTINGS
@given(
    hnp.arrays(np.float32, shapes, elements=finite32),
    st.floats(-50, 50, width=32),
    st.integers(-1, 0),
)
def test_softmax_rows_sum_to_one_and_are_shift_invariant(x, shift, axis):
    y = fastact.softmax(x, axis=axis)
    n = x.shape[axis]
    np.testing.assert_allclose(y.sum(axis=axis, dtype=np.float64), 1.0, rtol=4e-7 * n)
    assert np.all((y >= 0) & (y <= 1))
    shifted = fastact.softmax(x + np.float32(shift), axis=axis)
    # x + shift rounds, so compare loosely: the point is no overflow and no drift.
    np.testing.assert_allclose(shifted, y, rtol=1e-3, atol=1e-6)


@SETTINGS
@given(
    st.sampled_from(IN_PLACE),
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]), shapes, elements=st.floats(-100, 100, width=32)
    ),
)
def test_in_place_and_parallel_equal_out_of_place(act, x):
    p = param_values(act)
    want = act.forward(x, *p, target="cpu")
    assert_same(act.forward(x, *p, target="parallel"), want)
    x2 = x.copy()
    act.forward_(x2, *p)
    assert_same(x2, want)
