"""Backward passes: against the analytic reference, against float64 finite differences,
and the derivative conventions at kinks (SPEC §2)."""

import numpy as np
import pytest
from conftest import (
    ALL,
    ELEMENTWISE_ACTS,
    FLOATS,
    ROWWISE_ACTS,
    assert_same,
    assert_ulp,
    call_forward,
    ids,
    param_values,
    reference_backward,
    saved_for,
)

import fastact


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_elementwise_backward_matches_reference(act, dtype, rng):
    x = (rng.standard_normal(50_000) * 6).astype(dtype)
    g = rng.standard_normal(x.size).astype(dtype)
    s = saved_for(act, x)
    got = act.backward(g, s, *param_values(act), target="cpu")
    want = reference_backward(act, g, s).astype(dtype)
    if act.exact:
        assert_same(got, want)
    else:
        assert_ulp(got, want, 4, act.name)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
# (700, 9): short rows in several blocks of rows, the last one partial
@pytest.mark.parametrize(
    "shape,axis", [((40, 9), -1), ((700, 9), -1), ((6, 501), 1), ((30, 4, 5), 0)]
)
def test_rowwise_backward_matches_reference(act, dtype, shape, axis, rng):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = act.forward(x, axis=axis)
    got = act.backward(g, y, axis=axis, target="cpu")
    want = reference_backward(act, g, y, axis)
    # g - sum(g * y) cancels: bound the error by the size of the terms, not the result.
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    if act.row_family[1]:  # log_softmax: g - exp(y) * sum(g)
        scale = np.abs(g64) + np.exp(y64) * np.abs(g64).sum(axis, keepdims=True)
    else:
        scale = np.abs(y64) * (np.abs(g64) + np.abs(g64 * y64).sum(axis, keepdims=True))
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(got - want) <= 4 * eps * scale + np.finfo(dtype).tiny)


def _fd_points(act, rng):
    # Away from kinks at 0 (relu, leaky_relu): the finite difference straddles them.
    x = rng.uniform(-6, 6, 400)
    return x[np.abs(x) > 1e-3]


@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_elementwise_backward_matches_finite_differences(act, rng):
    x = _fd_points(act, rng)
    h = 1e-6
    fd = (call_forward(act, x + h) - call_forward(act, x - h)) / (2 * h)
    g = np.ones_like(x)
    got = act.backward(g, saved_for(act, x), *param_values(act))
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_rowwise_backward_matches_finite_differences(act, axis, rng):
    x = rng.standard_normal((4, 6))
    g = rng.standard_normal((4, 6))
    h = 1e-6
    fd = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        # d/dx_i of sum(g * F(x)): the vector-Jacobian product backward computes.
        fd[i] = np.sum(g * (act.forward(xp, axis=axis) - act.forward(xm, axis=axis))) / (2 * h)
    got = act.backward(g, act.forward(x, axis=axis), axis=axis)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_derivatives_at_kinks_follow_pytorch():
    zero = np.array([0.0, -0.0])
    one = np.ones(2)
    assert np.array_equal(fastact.relu_backward(one, zero), [0.0, 0.0])  # relu'(0) = 0
    assert np.array_equal(fastact.leaky_relu_backward(one, zero, 0.2), [0.2, 0.2])
    # PyTorch's threshold_backward passes the gradient through where x is NaN.
    assert fastact.relu_backward(np.array([3.0]), np.array([np.nan]))[0] == 3.0


def test_relu_backward_does_not_turn_infinite_gradients_into_nan():
    # grad * relu'(x) would give inf * 0 = NaN; PyTorch gives 0.
    assert fastact.relu_backward(np.array([np.inf]), np.array([-1.0]))[0] == 0.0


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_backward_saves_what_the_registry_says(act, rng):
    # Feeding the wrong saved tensor must give a different answer, or the test above
    # could not tell input-saving from output-saving functions apart.
    x = rng.uniform(0.5, 2.0, (3, 4))
    y = call_forward(act, x)
    g = rng.standard_normal(y.shape)
    right = act.backward(g, y if act.saves == "output" else x, *param_values(act))
    want = reference_backward(act, g, y if act.saves == "output" else x)
    np.testing.assert_allclose(right, want, rtol=1e-12)
    # Where the derivative is constant over both tensors (relu on x > 0), the two agree.
    other = x if act.saves == "output" else y
    if other.shape == x.shape and not np.allclose(reference_backward(act, g, other), want):
        wrong = act.backward(g, other, *param_values(act))
        assert not np.allclose(wrong, want)
