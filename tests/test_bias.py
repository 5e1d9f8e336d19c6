"""The fused bias (SPEC §2.3): F(x, bias=b) is F(x + b) in one pass; backward returns
(grad_input, grad_bias), grad_bias reduced in float64 in the same pass, the same bits on
one thread and on all.

Compiled paths are sampled (a few functions x dtypes: each combination compiles drivers);
the cheap checks cover every elementwise function."""

import inspect

import numba
import numpy as np
import pytest
from conftest import ALL, ELEMENTWISE_ACTS, ROWWISE_ACTS, assert_same, ids, layouts, param_values

import fastact
from fastact.drivers.channel import blocks
from fastact.registry import ELEMENTWISE

R = fastact.REGISTRY
# Exact, numeric parameter, saves output, a choice, a smooth one that saves its input.
SAMPLE = ["relu", "leaky_relu", "sigmoid", "gelu", "softplus"]  # gelu, softplus: the sum apart


def _call(act, form, *arrays, **kw):
    return act.forms[act.name + form](*arrays, *param_values(act), **kw)


def _expected(act, x, b, g):
    """What the fused forms must give: the plain forms at x + b (rounded once)."""
    y = _call(act, "", x + b)
    gx = _call(act, "_backward", g, y if act.saves == "output" else x + b)
    return y, gx


def _inputs(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype) * 3
    b = rng.standard_normal(shape[-1]).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    return x, b, g


def _sum_in_block_order(gx):
    """grad_bias as the contract sums it: each block of rows (``channel.blocks``) adds its
    rows in order in float64, then the blocks are added in order."""
    rows = gx.reshape(-1, gx.shape[-1]).astype(np.float64)
    step = blocks(rows.shape[0], rows.shape[1], 1)[0]
    total = np.zeros(rows.shape[1])
    for lo in range(0, rows.shape[0], step):
        part = np.zeros(rows.shape[1])
        for row in rows[lo : lo + step]:
            part += row
        total += part
    return total.astype(gx.dtype)


def test_every_elementwise_function_takes_bias():
    takes = {a.name for a in R.values() if a.takes_bias}
    assert takes == {a.name for a in ALL if a.kind == ELEMENTWISE}
    for act in R.values():
        for name, fn in act.forms.items():
            assert ("bias" in inspect.signature(fn).parameters) == act.takes_bias, name


@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_every_function_fused_forward_float64(act, rng):
    # The one compile per function that covers the whole catalogue: float64 forward.
    x, b, _ = _inputs((5, 4), np.float64, rng)
    assert_same(_call(act, "", x, bias=b, target="cpu"), _call(act, "", x + b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", SAMPLE)
def test_fused_forms(name, dtype, rng):
    act = R[name]
    x, b, g = _inputs((9, 13), dtype, rng)
    y, gx = _expected(act, x, b, g)
    assert_same(_call(act, "", x, bias=b), y)
    saved = y if act.saves == "output" else x  # x before the bias
    got, gb = _call(act, "_backward", g, saved, bias=b)
    assert_same(got, gx)
    assert gb.shape == b.shape and gb.dtype == dtype
    assert_same(gb, _sum_in_block_order(gx))
    # in place
    xc = x.copy()
    assert _call(act, "_", xc, bias=b) is xc
    assert_same(xc, y)
    gc = g.copy()
    back, gb2 = _call(act, "_backward_", gc, saved, bias=b)
    assert back is gc
    assert_same(gc, gx)
    assert_same(gb2, gb)
    # out=
    out = np.empty_like(x)
    assert _call(act, "", x, bias=b, out=out) is out
    assert_same(out, y)


def test_higher_dimensions_reduce_every_axis_but_the_last(rng):
    x, b, g = _inputs((3, 4, 5), np.float64, rng)
    gx, gb = fastact.silu_backward(g, x, bias=b)
    assert_same(gx, fastact.silu_backward(g, x + b))
    np.testing.assert_allclose(gb, gx.sum(axis=(0, 1)), rtol=1e-13)
    # 1-D: the bias is elementwise, its gradient grad_input itself
    gx1, gb1 = fastact.silu_backward(g[0, 0], x[0, 0], bias=b)
    assert_same(gb1, gx1)


def test_finite_differences(rng):
    x, b, g = _inputs((6, 4), np.float64, rng)
    _, gb = fastact.gelu_backward(g, x, bias=b)
    h = 1e-6
    for c in range(4):
        e = np.zeros(4)
        e[c] = h
        d = ((fastact.gelu(x, bias=b + e) - fastact.gelu(x, bias=b - e)) * g).sum() / (2 * h)
        assert abs(d - gb[c]) < 1e-6


def test_layouts(rng):
    base = rng.standard_normal((6, 4, 10))
    for name, x in layouts(base):
        b = rng.standard_normal(x.shape[-1])
        g = rng.standard_normal(x.shape)
        c = np.ascontiguousarray(x)
        assert_same(fastact.tanh(x, bias=b), fastact.tanh(c, bias=b)), name
        y = fastact.tanh(c, bias=b)
        got = fastact.tanh_backward(g, y, bias=b)
        want = fastact.tanh_backward(np.ascontiguousarray(g), y, bias=b)
        assert_same(got[0], want[0])
        assert_same(got[1], want[1])


def test_other_dtypes(rng):
    x = rng.integers(-3, 3, (4, 3))
    b = np.array([0.5, -0.25, 2.0])
    y = fastact.relu(x, bias=b)
    assert y.dtype == np.float64
    assert_same(y, np.maximum(x + b, 0))
    h = fastact.relu(x.astype(np.float16), bias=b.astype(np.float32))
    assert h.dtype == np.float16
    assert_same(h, np.maximum(x + b, 0).astype(np.float16))
    assert fastact.relu(np.zeros((0, 3)), bias=b).shape == (0, 3)
    gx, gb = fastact.relu_backward(np.zeros((0, 3)), np.zeros((0, 3)), bias=b)
    assert gx.shape == (0, 3)
    assert_same(gb, np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["leaky_relu", "gelu"])  # the sum in the loop, and apart
def test_bias_gradient_is_the_same_on_one_thread_and_all(name, dtype, rng):
    x, b, g = _inputs((400, 1000), dtype, rng)  # several blocks of rows
    backward = getattr(fastact, name + "_backward")
    gx, one = backward(g, x, bias=b, target="cpu")
    assert_same(one, _sum_in_block_order(gx))
    _, everyone = backward(g, x, bias=b, target="parallel")
    assert_same(one, everyone)
    if numba.config.NUMBA_NUM_THREADS > 1:
        previous = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            _, single = backward(g, x, bias=b, target="parallel")
        finally:
            numba.set_num_threads(previous)
        assert_same(single, one)


def test_torch_parity(rng):
    torch = pytest.importorskip("torch")
    x, b, g = _inputs((8, 16), np.float32, rng)
    tx = torch.from_numpy(x)
    tb = torch.from_numpy(b).requires_grad_()
    y = torch.nn.functional.silu(tx + tb)
    y.backward(torch.from_numpy(g))
    # silu is within 4 ULP (SPEC §4), PyTorch's too: close, not equal
    np.testing.assert_allclose(fastact.silu(x, bias=b), y.detach().numpy(), rtol=1e-6, atol=1e-7)
    _, gb = fastact.silu_backward(g, x, bias=b)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-5, atol=1e-6)


BAD = [
    ("bias", lambda x, b: fastact.relu(x, bias=b[:2]), ValueError),
    ("bias", lambda x, b: fastact.relu(x, bias=b.reshape(1, 3)), ValueError),
    ("bias", lambda x, b: fastact.relu(x, bias=b.astype(np.int32)), TypeError),
    ("bias", lambda x, b: fastact.relu(x, bias=b.astype(np.complex128)), TypeError),
    ("bias", lambda x, b: fastact.relu(x, bias=list(b)), TypeError),
    ("bias", lambda x, b: fastact.relu(x, bias=3.0), TypeError),
    ("bias", lambda x, b: fastact.relu(x[0, 0], bias=b), ValueError),
    ("bias", lambda x, b: fastact.relu_(x, bias=b[:2]), ValueError),
    ("bias", lambda x, b: fastact.relu_backward_(x, x, bias=b[:2]), ValueError),
    ("saved", lambda x, b: fastact.relu_backward(x, x[:1], bias=b), ValueError),
    ("out", lambda x, b: fastact.relu(x, bias=b, out=np.empty((1, 3))), ValueError),
    ("x", lambda x, b: fastact.relu_(x.astype(int), bias=b), TypeError),
    ("target", lambda x, b: fastact.relu(x, bias=b, target="gpu"), ValueError),
]


@pytest.mark.parametrize("arg, bad, exc", BAD)
def test_errors_name_the_argument_and_write_nothing(arg, bad, exc, rng):
    x = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    x0, b0 = x.copy(), b.copy()
    with pytest.raises(exc, match=f"relu.*'{arg}'"):
        bad(x, b)
    assert_same(x, x0)
    assert_same(b, b0)


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_softmax_family_rejects_bias(act, rng):
    x = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    x0 = x.copy()
    for name, fn in act.forms.items():
        arrays = (x,) if "backward" not in name else (x, x)
        with pytest.raises(TypeError, match=f"{name}: argument 'bias'"):
            fn(*arrays, bias=b)
    assert_same(x, x0)


def test_dask_arrays_are_refused_with_bias_and_prelu(rng):
    da = pytest.importorskip("dask.array")
    x = da.from_array(rng.standard_normal((4, 3)), chunks=2)
    b = rng.standard_normal(3)
    with pytest.raises(TypeError, match="relu: argument 'x' is a dask array"):
        fastact.relu(x, bias=b)
    with pytest.raises(TypeError, match="prelu: argument 'x' is a dask array"):
        fastact.prelu(x, b)
    # the argument that is a dask array, not the first one
    xn, bd = rng.standard_normal((4, 3)), da.from_array(b)
    with pytest.raises(TypeError, match="relu: argument 'bias' is a dask array"):
        fastact.relu(xn, bias=bd)
    with pytest.raises(TypeError, match="prelu: argument 'weight' is a dask array"):
        fastact.prelu(xn, bd)
