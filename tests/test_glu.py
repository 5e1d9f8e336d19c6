"""glu (SPEC §2.3), the one function of kind HALVES: a * sigmoid(b) with a, b the halves of
x along ``axis``; its backward; every layout, axis, dtype and target; special values; bad
input with nothing written. The generic tests cover what glu shares with every function
(destinations, dask, vectorized drivers, parallel == serial); these are glu's own."""

import numpy as np
import pytest
from conftest import (
    FLOATS,
    assert_same,
    assert_ulp,
    layout_buffer,
    layouts,
    sample,
    specials,
)
from numpy.exceptions import AxisError

import fastact

ACT = fastact.REGISTRY["glu"]
MAX_ULP = 4


def _halves(x, axis):
    return np.split(np.asarray(x), 2, axis)


def test_registry_records_only_the_forms_that_exist():
    assert ACT.kind == "halves" and not ACT.in_place
    assert list(ACT.forms) == ["glu", "glu_backward"]
    assert ACT.form_kinds == ("forward", "backward")
    assert not hasattr(fastact, "glu_") and not hasattr(fastact, "glu_backward_")
    assert ACT.forward_ is None and ACT.backward_ is None
    assert "glu" in fastact.__all__ and "glu_" not in fastact.__all__


@pytest.mark.parametrize("dtype", FLOATS)
def test_forward_matches_the_reference_over_the_whole_range(dtype, rng):
    a = sample(dtype, 20_000, rng)
    b = np.concatenate([sample(dtype, 10_000, rng), rng.uniform(-200, 0, 10_000).astype(dtype)])
    if dtype == np.float64:  # the far tail, where sigmoid(b) underflows but a * exp(b) not
        b[-3000:] = rng.uniform(-1400, -700, 3000)
    x = np.stack([a, b], -1)
    got = fastact.glu(x, target="cpu")
    assert_ulp(got, ACT.reference(x).astype(dtype), MAX_ULP, "glu")


@pytest.mark.parametrize("dtype", FLOATS)
def test_backward_matches_the_reference(dtype, rng):
    x = np.stack([sample(dtype, 20_000, rng, 30), (rng.standard_normal(20_000) * 8)], -1)
    x = x.astype(dtype)
    g = sample(dtype, 20_000, rng, 30).reshape(-1, 1)
    if dtype == np.float64:
        g = np.where(np.abs(g) > 1e30, g * 1e-250, g)  # grad * a within float64's range
    got = fastact.glu_backward(g, x, target="cpu")
    with np.errstate(over="ignore"):  # grad * a beyond float32: inf in both
        want = ACT.reference_backward(g, x).astype(dtype)
    assert_ulp(got, want, MAX_ULP, "glu_backward")


def test_backward_against_finite_differences(rng):
    x = rng.uniform(-6, 6, (50, 8))
    g = rng.standard_normal((50, 4))
    got = fastact.glu_backward(g, x)
    h = 1e-6
    num = np.empty_like(x)
    for k in range(8):
        dx = np.zeros_like(x)
        dx[:, k] = h
        f = (fastact.glu(x + dx) - fastact.glu(x - dx)) / (2 * h)
        num[:, k] = (g * f).sum(-1)
    np.testing.assert_allclose(got, num, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", FLOATS)
def test_torch_parity(dtype, rng):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((64, 6, 40)) * 5).astype(dtype)
    eps = np.finfo(dtype).eps
    for axis in (0, 1, 2, -1):
        y = fastact.glu(x, axis)
        ty = torch.nn.functional.glu(torch.from_numpy(x), axis).numpy()
        np.testing.assert_allclose(y, ty, rtol=8 * eps, atol=np.finfo(dtype).tiny)
        g = rng.standard_normal(y.shape).astype(dtype)
        dx = fastact.glu_backward(g, x, axis)
        tdx = torch.ops.aten.glu_backward(torch.from_numpy(g), torch.from_numpy(x), axis).numpy()
        # PyTorch computes 1 - sigmoid(b), which cancels for large b: its d/db is off by up
        # to eps |grad a| there; fastact writes it as sigmoid(-b).
        a = np.split(x, 2, axis)[0]
        scale = np.concatenate([np.abs(g), np.abs(g * a)], axis).astype(np.float64)
        assert np.all(np.abs(dx - tdx) <= 4 * eps * (np.abs(dx) + scale)), axis


def test_special_values_and_the_sign_of_zero():
    # a = ±inf: ±inf wherever sigmoid(b) > 0, though it underflows; inf * sigmoid(-inf) NaN.
    inf, nan = np.inf, np.nan
    a = np.array([inf, -inf, inf, 1.0, -0.0, 0.0, nan, 2.0, -0.0, 3.0])
    b = np.array([-3e38, -3e38, -inf, -inf, 5.0, -inf, 0.0, nan, inf, inf])
    for dtype in FLOATS:
        with np.errstate(over="ignore"):
            x = np.stack([a, b], -1).astype(dtype)
        want = np.array([inf, -inf, nan, 0.0, -0.0, 0.0, nan, nan, -0.0, 3.0], dtype)
        got = fastact.glu(x)[:, 0]
        np.testing.assert_array_equal(got, want)  # NaN where NaN (of either sign)
        num = ~np.isnan(want)
        assert np.array_equal(np.signbit(got[num]), np.signbit(want[num]))
    # Backward at the limits: d/da = grad sigmoid(b), d/db = 0 at b = ±inf.
    x = np.array([[2.0, inf], [2.0, -inf], [-0.0, 1.0]])
    g = np.array([[3.0], [3.0], [1.0]])
    assert_same(
        fastact.glu_backward(g, x), np.array([[3.0, 0.0], [0.0, 0.0], [0.7310585786300049, -0.0]])
    )


@pytest.mark.parametrize("dtype", FLOATS)
def test_special_value_table_within_the_bound(dtype):
    s = specials(dtype)
    x = np.stack(np.meshgrid(s, s), -1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        want = ACT.reference(x).astype(dtype)
    assert_ulp(fastact.glu(x), want, MAX_ULP, "glu specials")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_every_layout_and_axis_gives_the_contiguous_result(dtype, rng):
    base = (rng.standard_normal((4, 6, 8)) * 3).astype(dtype)
    for _, view in layouts(base):
        c = np.ascontiguousarray(view)
        for axis in [a for a in range(-view.ndim, view.ndim) if view.shape[a] % 2 == 0]:
            y = fastact.glu(view, axis)
            assert y.dtype == dtype
            assert_same(y, fastact.glu(c, axis))
            a, b = _halves(c.astype(np.float64), axis)
            np.testing.assert_allclose(y, a / (1 + np.exp(-b)), rtol=4 * np.finfo(dtype).eps)
            g = np.ascontiguousarray(rng.standard_normal(y.shape).astype(dtype).T).T  # F
            dx = fastact.glu_backward(g, view, axis)
            assert dx.shape == view.shape and dx.dtype == dtype
            assert_same(dx, fastact.glu_backward(np.ascontiguousarray(g), c, axis))


def test_scalars_lists_integers_zero_d_and_empty():
    assert_same(fastact.glu([1.0, 0.0]), np.array([0.5]))
    assert fastact.glu(np.array([1, 2], np.int8)).dtype == np.float64
    assert fastact.glu(np.array([True, False])).dtype == np.float64
    assert fastact.glu(np.ones(2, ">f4")).dtype == np.float32
    for shape, axis, half in [((0,), -1, (0,)), ((3, 0), -1, (3, 0)), ((0, 4), 1, (0, 2))]:
        e = np.empty(shape, np.float32)
        y = fastact.glu(e, axis)
        assert y.shape == half and y.dtype == np.float32
        assert fastact.glu_backward(y, e, axis).shape == shape
    with pytest.raises(ValueError, match=r"fastact\.glu: argument 'axis'.*odd length 1"):
        fastact.glu(0.5)


@pytest.mark.parametrize("target", ["cpu", "parallel", None])
def test_targets_agree_on_long_rows_and_many_short_ones(target, rng):
    for shape, axis in [((3, 400_000), -1), ((400_000, 2), -1), ((200_000, 6), 0)]:
        x = rng.standard_normal(shape, dtype=np.float32)
        want = fastact.glu(x, axis, target="cpu")
        assert_same(fastact.glu(x, axis, target=target), want)
        g = np.ones(want.shape, np.float32)
        assert_same(
            fastact.glu_backward(g, x, axis, target=target),
            fastact.glu_backward(g, x, axis, target="cpu"),
        )


def test_out_any_layout_and_dtype_and_aliasing(rng):
    x = rng.standard_normal((4, 6, 8))
    want = fastact.glu(x, 1)
    for name in ("C", "F", "transposed", "strided", "negative"):
        buf, out = layout_buffer(name, want.shape, np.float32, fill=7.0)
        assert fastact.glu(x, 1, out=out) is out
        assert_same(out, want.astype(np.float32))
    # out overlapping x (its first half): x is read as it was.
    x2 = x.copy()
    a_half = x2[:, :3, :]
    assert fastact.glu(x2, 1, out=a_half) is a_half
    assert_same(a_half, want)
    # glu_backward's out may be x itself.
    g = rng.standard_normal(want.shape)
    bwant = fastact.glu_backward(g, x, 1)
    x3 = x.copy()
    assert fastact.glu_backward(g, x3, 1, out=x3) is x3
    assert_same(x3, bwant)
    # ... also where a block needs the full kernel (b in exp's far tail, grad * a overflows):
    # the common kernel's results must not be what that kernel then reads.
    for dtype in (np.float32, np.float64):
        tail = np.finfo(dtype).max ** 0.5
        x4 = rng.standard_normal((2, 16)).astype(dtype)
        x4[0, 0], x4[0, 10], x4[1, 9] = tail, -750.0 if dtype == np.float64 else -100.0, tail
        g4 = np.full((2, 8), tail, dtype)
        want4 = fastact.glu_backward(g4, x4)
        for target in ("cpu", "parallel"):
            x5 = x4.copy()
            assert fastact.glu_backward(g4, x5, out=x5, target=target) is x5
            assert_same(x5, want4)
    # ... or overlap it shifted.
    buf = np.concatenate([x.ravel(), [0.0]])
    got = fastact.glu_backward(g, buf[:-1].reshape(x.shape), 1, out=buf[1:].reshape(x.shape))
    assert_same(got, bwant)


def _expect(exc, fname, arg, fn, *args, **kw):
    arrays = [a for a in [*args, *kw.values()] if isinstance(a, np.ndarray)]
    before = [a.copy() for a in arrays]
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    msg = str(info.value)
    assert f"fastact.{fname}" in msg and (arg is None or f"'{arg}'" in msg), msg
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_errors_name_the_argument_and_write_nothing():
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    out = np.full((3, 2), 7.0)
    g = np.ones((3, 2))
    _expect(ValueError, "glu", "axis", fastact.glu, x, 0, out=out)  # odd length 3
    _expect(ValueError, "glu_backward", "axis", fastact.glu_backward, g, x, 0, out=x.copy())
    _expect(AxisError, "glu", "axis", fastact.glu, x, 2, out=out)
    _expect(AxisError, "glu_backward", "axis", fastact.glu_backward, g, x, -3)
    _expect(TypeError, "glu", "axis", fastact.glu, x, None, out=out)
    _expect(TypeError, "glu", "axis", fastact.glu, x, 1.0, out=out)
    with pytest.raises(TypeError, match="must be an int .*, got float"):  # not "or None"
        fastact.glu(x, 1.0)
    _expect(ValueError, "glu_backward", "grad", fastact.glu_backward, np.ones((3, 4)), x)
    _expect(ValueError, "glu_backward", "grad", fastact.glu_backward, g.T, x, out=x.copy())
    _expect(ValueError, "glu", "out", fastact.glu, x, out=np.zeros((3, 4)))  # x's shape
    _expect(ValueError, "glu", "out", fastact.glu, x, out=x)  # in place is impossible
    _expect(TypeError, "glu", "out", fastact.glu, x, out=np.zeros((3, 2), np.int64))
    _expect(ValueError, "glu_backward", "out", fastact.glu_backward, g, x, out=np.zeros((3, 2)))
    _expect(TypeError, "glu", "x", fastact.glu, x.astype(complex), out=out)
    _expect(TypeError, "glu_backward", "saved", fastact.glu_backward, g, x.astype(object))
    _expect(ValueError, "glu", "target", fastact.glu, x, target="gpu", out=out)
    _expect(TypeError, "glu", None, fastact.glu, x, -1, 2)
    ro = out.copy()
    ro.flags.writeable = False
    _expect(ValueError, "glu", "out", fastact.glu, x, out=ro)


def test_dask_rechunks_only_the_split_axis(rng):
    da = pytest.importorskip("dask.array")
    x = rng.standard_normal((40, 30))
    y = fastact.glu(da.from_array(x, chunks=(10, 10)), 0)
    assert y.chunks == ((20,), (10, 10, 10))
    assert_same(y.compute(), fastact.glu(x, 0))
    g = rng.standard_normal((20, 30))
    dx = fastact.glu_backward(da.from_array(g, chunks=(5, 15)), da.from_array(x, (10, 10)), 0)
    assert_same(dx.compute(), fastact.glu_backward(g, x, 0))
    with pytest.raises(TypeError, match=r"fastact\.glu: argument 'out'"):
        fastact.glu(da.from_array(x), out=np.empty((40, 15)))


def test_njit_kernels_are_public():
    from numba import njit

    from fastact.kernels import glu, glu_backward

    @njit
    def f(a, b, g):
        return glu(a, b), glu_backward(g, a, b)

    y, (da_, db_) = f(2.0, 0.0, 1.0)
    assert y == 1.0 and da_ == 0.5 and db_ == 0.5


@pytest.mark.parametrize("dtype", FLOATS)
def test_cuda_simulator_or_gpu(dtype, rng):
    cuda = pytest.importorskip("numba.cuda")
    pytest.importorskip("fastact.drivers.cuda")
    x = (rng.standard_normal((2, 4, 6)) * 4).astype(dtype)
    for axis in (0, 1, 2):
        want = fastact.glu(x, axis, target="cpu")
        assert_ulp(fastact.glu(x, axis, target="cuda"), want, 6, "glu host")
        d = fastact.glu(cuda.to_device(x), axis)
        assert_ulp(d.copy_to_host(), want, 6, "glu device")
        g = rng.standard_normal(want.shape).astype(dtype)
        bwant = fastact.glu_backward(g, x, axis, target="cpu")
        assert_ulp(fastact.glu_backward(g, x, axis, target="cuda"), bwant, 6, "glu_backward")
        dout = cuda.device_array(x.shape, dtype)
        r = fastact.glu_backward(cuda.to_device(g), cuda.to_device(x), axis, out=dout)
        assert r is dout
        assert_ulp(dout.copy_to_host(), bwant, 6, "glu_backward device out")
    # A strided device input and destination, and the checks of every target.
    dx = cuda.to_device(x)[:, ::2, ::-1]
    dest = cuda.device_array((2, 2, 6), dtype)[:, :, ::2]
    host_x = x[:, ::2, ::-1]
    fastact.glu(dx, -1, out=dest)
    assert_ulp(dest.copy_to_host(), fastact.glu(host_x, -1), 6, "glu strided")
    with pytest.raises(ValueError, match=r"fastact\.glu: argument 'axis'"):
        fastact.glu(cuda.to_device(x[:1, :3]), 1)
    with pytest.raises(ValueError, match=r"fastact\.glu_backward: argument 'grad'"):
        fastact.glu_backward(cuda.to_device(x), cuda.to_device(x))
