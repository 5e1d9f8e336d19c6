"""prelu (SPEC §2.3): per-channel weight along axis 1, backward returning (grad_x, grad_weight).

The weight's gradient is a float64 sum over a partition fixed by the shape (drivers/cpu.py):
one thread and all threads give the same bits."""

import warnings

import numba
import numpy as np
import pytest
from conftest import assert_same, layouts

import fastact
from fastact.drivers import channel

ACT = fastact.REGISTRY["prelu"]

# (shape, weight size): every path of the drivers: channels last ((N, C): "last"), channels
# with an inner extent ("inner"), one weight for all, 1-D and 0-d inputs.
SHAPES = [
    ((7, 5), 5),
    ((3, 4, 6, 5), 4),
    ((3, 4, 6, 5), 1),
    ((50,), 1),
    ((), 1),
    ((0, 3), 3),
]


def _inputs(shape, n, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x.flat[:: max(1, x.size // 7)] = 0.0  # x == 0: gradient weight * grad
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-0.5, 1.5, n).astype(dtype)
    return x, g, w


def _rounded(a, dtype):
    return np.asarray(a).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, n", SHAPES)
def test_matches_reference(shape, n, dtype, rng):
    x, g, w = _inputs(shape, n, dtype, rng)
    y = fastact.prelu(x, w)
    assert_same(y, _rounded(ACT.reference(x, w), dtype))
    gx, gw = fastact.prelu_backward(g, x, w)
    want_gx, want_gw = ACT.reference_backward(g, x, w)
    assert_same(gx, _rounded(want_gx, dtype))
    assert gw.shape == w.shape and gw.dtype == dtype
    np.testing.assert_allclose(gw, want_gw, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_gradient_at_zero_is_weight_times_grad():
    x = np.zeros((2, 3))
    w = np.array([0.25, -2.0, 3.0])
    g = np.ones((2, 3))
    gx, gw = fastact.prelu_backward(g, x, w)
    assert_same(gx, np.broadcast_to(w, (2, 3)).copy())
    assert_same(gw, np.zeros(3))


def test_finite_differences(rng):
    x = rng.standard_normal((4, 3, 5))
    g = rng.standard_normal(x.shape)
    w = rng.uniform(0.1, 0.9, 3)
    _, gw = fastact.prelu_backward(g, x, w)
    h = 1e-6
    for c in range(3):
        e = np.zeros(3)
        e[c] = h
        d = (fastact.prelu(x, w + e) - fastact.prelu(x, w - e)) * g
        assert abs(d.sum() / (2 * h) - gw[c]) < 1e-6


@pytest.mark.parametrize("shape, n", [((40, 3000), 3000), ((2, 3, 140_000), 3), ((300_000,), 1)])
def test_weight_gradient_is_the_same_on_one_thread_and_all(shape, n, rng):
    x, g, w = _inputs(shape, n, np.float32, rng)
    _, one = fastact.prelu_backward(g, x, w, target="cpu")
    _, everyone = fastact.prelu_backward(g, x, w, target="parallel")
    assert_same(one, everyone)
    if numba.config.NUMBA_NUM_THREADS > 1:
        previous = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            _, single = fastact.prelu_backward(g, x, w, target="parallel")
        finally:
            numba.set_num_threads(previous)
        assert_same(single, one)


def test_reduction_partition_depends_on_the_shape_only():
    assert channel.blocks(10_000, 1000, 1) == (channel.BLOCK // 1000, 1)
    assert channel.blocks(2, 3, 3 * channel.BLOCK + 1) == (1, 4)


def test_layouts(rng):
    base = rng.standard_normal((6, 4, 10))
    for name, x in layouts(base):
        n = x.shape[1] if x.ndim >= 2 else 1
        w = rng.uniform(-1, 1, n)
        g = rng.standard_normal(x.shape)
        c = np.ascontiguousarray(x)
        assert_same(fastact.prelu(x, w), fastact.prelu(c, w)), name
        gx, gw = fastact.prelu_backward(g, x, w)
        cgx, cgw = fastact.prelu_backward(np.ascontiguousarray(g), c, w)
        assert_same(gx, cgx)
        assert_same(gw, cgw)


def test_in_place_forms_and_out(rng):
    x, g, w = _inputs((5, 3, 4), 3, np.float64, rng)
    want = fastact.prelu(x, w)
    want_gx, want_gw = fastact.prelu_backward(g, x, w)
    xc = x.copy()
    assert fastact.prelu_(xc, w) is xc
    assert_same(xc, want)
    gc = g.copy()
    got, gw = fastact.prelu_backward_(gc, x, w)
    assert got is gc
    assert_same(gc, want_gx)
    assert_same(gw, want_gw)
    out = np.empty_like(x)
    assert fastact.prelu(x, w, out=out) is out
    assert_same(out, want)


@pytest.mark.parametrize("xdtype", [np.float32, np.float64])
@pytest.mark.parametrize("wdtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_a_weight_of_another_float_dtype_is_rounded_to_xs(xdtype, wdtype, rng):
    # np.array([0.25]) is float64 whatever x is: the weight is rounded to x's dtype, on the
    # short path of plain arrays as on the general one (a transposed x), quietly where it
    # overflows float32.
    x, g, w = _inputs((5, 3, 4), 3, xdtype, rng)
    w = rng.uniform(-0.5, 1.5, 3).astype(wdtype)
    if float(np.finfo(wdtype).max) > 1e300:
        w[1] = 1e300
    with np.errstate(all="ignore"):
        wx = w.astype(xdtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(fastact.prelu(x, w), fastact.prelu(x, wx))
        xt = np.ascontiguousarray(x.transpose(2, 1, 0)).transpose(2, 1, 0)  # not C-contiguous
        assert_same(fastact.prelu(xt, w), fastact.prelu(x, wx))
        gx, gw = fastact.prelu_backward(g, x, w)
        want_gx, want_gw = fastact.prelu_backward(g, x, wx)
        assert_same(gx, want_gx)
        assert gw.dtype == xdtype
        assert_same(gw, want_gw)
        assert_same(fastact.gelu(x, bias=w[:1].repeat(4)), fastact.gelu(x, bias=wx[:1].repeat(4)))


def test_other_dtypes(rng):
    x = rng.integers(-3, 3, (4, 3))
    w = np.array([0.5, 0.25, 2.0])
    y = fastact.prelu(x, w)
    assert y.dtype == np.float64
    assert_same(y, ACT.reference(x, w))
    h = fastact.prelu(x.astype(np.float16), w)
    assert h.dtype == np.float16
    assert_same(h, ACT.reference(x, w).astype(np.float16))


def test_torch_parity(rng):
    torch = pytest.importorskip("torch")
    x, g, w = _inputs((4, 3, 5, 6), 3, np.float32, rng)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    assert_same(fastact.prelu(x, w), torch.nn.functional.prelu(tx, tw).numpy())
    gx, gw = fastact.prelu_backward(g, x, w)
    tgx, tshare = torch.ops.aten._prelu_kernel_backward(
        torch.from_numpy(g), tx, tw.reshape(1, 3, 1, 1)
    )
    assert_same(gx, tgx.numpy())
    want = tshare.double().sum(dim=(0, 2, 3)).numpy()
    np.testing.assert_allclose(gw, want, rtol=1e-6)


BAD = [
    ("weight", lambda x, w: fastact.prelu(x, w[:2]), ValueError),
    ("weight", lambda x, w: fastact.prelu(x, w.reshape(1, 3)), ValueError),
    # float32 x, a float64 weight: rounded on the short path, checked all the same
    ("weight", lambda x, w: fastact.prelu(x.astype(np.float32), w[:0]), ValueError),
    ("weight", lambda x, w: fastact.prelu(x.astype(np.float32), w[:2]), ValueError),
    ("weight", lambda x, w: fastact.prelu(x, w.astype(np.int64)), TypeError),
    ("weight", lambda x, w: fastact.prelu(x, list(w)), TypeError),
    ("weight", lambda x, w: fastact.prelu(x), TypeError),
    ("weight", lambda x, w: fastact.prelu_(x, w[:2]), ValueError),
    ("weight", lambda x, w: fastact.prelu_backward_(x, x, w[:2]), ValueError),
    ("bias", lambda x, w: fastact.prelu(x, w, bias=w), TypeError),
    ("saved", lambda x, w: fastact.prelu_backward(x, x[:1], w), ValueError),
    ("out", lambda x, w: fastact.prelu(x, w, out=np.empty((1, 3))), ValueError),
]


@pytest.mark.parametrize("arg, bad, exc", BAD)
def test_errors_name_the_argument_and_write_nothing(arg, bad, exc, rng):
    x = rng.standard_normal((4, 3))
    w = rng.standard_normal(3)
    x0, w0 = x.copy(), w.copy()
    with pytest.raises(exc, match=f"prelu.*'{arg}'"):
        bad(x, w)
    assert_same(x, x0)
    assert_same(w, w0)


def test_weight_gradient_does_not_depend_on_the_arrays_addresses(rng):
    # The vector loop starts at out's first cache line; the lanes rotate, the bits stay.
    for dtype in (np.float32, np.float64):
        x, g, w = _inputs((70_001,), 1, dtype, rng)
        want = fastact.prelu_backward(g, x, w)[1]
        for offset in range(1, 4):
            out = np.empty(x.size + offset, dtype)[offset:]
            assert_same(fastact.prelu_backward(g, x, w, out=out)[1], want)


@pytest.mark.parametrize("shape, n", [((64, 16), 16), ((4, 16, 33), 16), ((50, 7), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_into_the_saved_input(shape, n, dtype, rng):
    # out=x (SPEC §3: out may be x itself) and the in-place form with grad as the saved x:
    # the weight's gradient reads each x before its gradient overwrites it.
    x, g, w = _inputs(shape, n, dtype, rng)
    want_gx, want_gw = fastact.prelu_backward(g, x, w)
    for target in ("cpu", "parallel"):
        xc = x.copy()
        gx, gw = fastact.prelu_backward(g, xc, w, out=xc, target=target)
        assert gx is xc
        assert_same(gx, want_gx)
        assert_same(gw, want_gw)
        gc = x.copy()
        want = fastact.prelu_backward(x, x, w, target=target)
        gx, gw = fastact.prelu_backward_(gc, gc, w, target=target)
        assert_same(gx, want[0])
        assert_same(gw, want[1])
