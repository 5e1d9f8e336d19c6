"""Inputs and outputs (SPEC §3): every layout, dtype and kind of argument; out=, in place,
aliasing. Every layout must give exactly the contiguous result."""

import tracemalloc

import numpy as np
import pytest
from conftest import (
    ALL,
    ELEMENTWISE_ACTS,
    FLOATS,
    IN_PLACE,
    ROWWISE_ACTS,
    assert_same,
    ids,
    layout_buffer,
    layouts,
    param_values,
    sample,
    saved_for,
    specials,
)

import fastact
from fastact import dispatch


def _forms(act, x, **kw):
    """Every form ``act`` has (of the registry's forms record) on ``x`` (copied where in
    place), as a dict of results; ``grad`` has the forward result's shape."""
    p = param_values(act)
    y = act.forward(x, *p, **kw)
    g = np.linspace(-1, 1, y.size).reshape(y.shape).astype(np.asarray(x).dtype)
    s = y if act.saves == "output" else x
    forms = {
        "forward": lambda: y,
        "forward_": lambda: act.forward_(np.array(x, copy=True), *p, **kw),
        "backward": lambda: act.backward(g, s, *p, **kw),
        "backward_": lambda: act.backward_(g.copy(), s, *p, **kw),
    }
    return {k: forms[k]() for k in act.form_kinds}


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def base(request, rng):
    # Every layout of it has an even last axis: glu splits it.
    return (rng.standard_normal((4, 6, 8)) * 3).astype(request.param)


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_every_layout_gives_the_contiguous_result(act, base):
    for name, view in layouts(base):
        want = _forms(act, np.ascontiguousarray(view))
        got = _forms(act, view)
        for form in want:
            assert_same(got[form], want[form])
            if form.startswith("backward") or act.in_place:
                assert got[form].shape == view.shape, (name, form)


@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
def test_results_do_not_depend_on_alignment(act, dtype, rng):
    # The CPU drivers run elements before out's first 64-byte boundary in a scalar loop
    # and the rest in the vector loop: every element must come out the same either way.
    p = param_values(act)
    x = np.concatenate([specials(dtype), sample(dtype, 200, rng)])
    rng.shuffle(x)
    g = sample(dtype, x.size, rng)
    s = act.forward(x, *p) if act.saves == "output" else x
    want = act.forward(x, *p, target="cpu"), act.backward(g, s, *p, target="cpu")
    for k in range(17):
        for shift in (0, 1, 3):  # out's offset from x's, in elements
            out = np.empty(x.size + shift, dtype)[shift:][k:]
            assert_same(act.forward(x[k:], *p, out=out, target="cpu"), want[0][k:])
            out = np.empty(x.size + shift, dtype)[shift:][k:]
            got = act.backward(g[k:], s[k:], *p, out=out, target="cpu")
            assert_same(got, want[1][k:])


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_rowwise_axes(act, base):
    for name, view in layouts(base):
        for axis in [None] + list(range(-view.ndim, view.ndim)):
            y = act.forward(view, axis=axis)
            np.testing.assert_allclose(
                y,
                act.reference(view.astype(np.float64), axis),
                rtol=2e-6,
                atol=1e-30,
                err_msg=f"{name} axis={axis}",
            )
            g = np.ones_like(view)
            assert act.backward(g, y, axis=axis).shape == view.shape


@pytest.mark.parametrize("act", IN_PLACE, ids=ids)  # glu's 0-d and empty cases: test_glu
def test_scalars_lists_zero_d_and_empty(act):
    p = param_values(act)
    y = act.forward(0.5, *p)
    assert isinstance(y, np.ndarray) and y.shape == () and y.dtype == np.float64
    assert_same(act.forward([0.5, -1.0], *p), act.forward(np.array([0.5, -1.0]), *p))
    assert act.forward(np.float32(0.5), *p).dtype == np.float32
    for shape in [(0,), (3, 0), (0, 4)]:
        e = np.empty(shape, np.float32)
        assert act.forward(e, *p).shape == shape
        assert act.forward_(e, *p) is e
        assert act.backward(e, e, *p).shape == shape
    z = np.array(0.25)
    assert act.forward_(z, *p) is z
    assert act.backward(1.0, 0.5, *p).shape == ()


@pytest.mark.parametrize("act", ALL, ids=ids)
@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.bool_])
def test_integer_and_bool_compute_in_float64(act, dtype):
    x = np.array([[0, 1, 1, 0], [1, 0, 1, 1]]).astype(dtype)
    y = act.forward(x, *param_values(act))
    assert y.dtype == np.float64
    assert_same(y, act.forward(x.astype(np.float64), *param_values(act)))
    s = act.forward(x.astype(np.float64), *param_values(act)) if act.saves == "output" else x
    g = np.ones(y.shape, dtype)
    assert act.backward(g, s, *param_values(act)).dtype == np.float64


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_float16_computes_in_float32_and_rounds_back(act, rng):
    x = (rng.standard_normal((3, 8)) * 4).astype(np.float16)
    y = act.forward(x, *param_values(act))
    assert y.dtype == np.float16
    assert_same(y, act.forward(x.astype(np.float32), *param_values(act)).astype(np.float16))
    if act.in_place:
        x2 = x.copy()
        act.forward_(x2, *param_values(act))
        assert_same(x2, y)


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_big_endian_and_longdouble(act, rng):
    x = rng.standard_normal((3, 6))
    want = act.forward(x, *param_values(act))
    be = x.astype(">f8")
    assert_same(act.forward(be, *param_values(act)), want)
    if act.in_place:
        act.forward_(be, *param_values(act))
        assert be.dtype == np.dtype(">f8")
        np.testing.assert_array_equal(be, want)
    ld = act.forward(x.astype(np.longdouble), *param_values(act))
    assert ld.dtype == np.longdouble
    np.testing.assert_array_equal(ld.astype(np.float64), want)


# The short path serves functions whose result has the input's shape (glu has none).
@pytest.mark.parametrize("act", IN_PLACE, ids=ids)
def test_results_carry_numpys_own_dtype_objects(act, monkeypatch):
    # The short path tells dtypes apart by identity: a result of the general path with a
    # copy of the float32 dtype sent every later call that took it (a forward's output
    # into the backward) down the slow general path.
    general = []
    real = dispatch._general
    monkeypatch.setattr(dispatch, "_general", lambda *a: general.append(a) or real(*a))
    p = param_values(act)
    for x in (np.ones((4, 6), ">f4"), np.ones((4, 6), np.int16), np.ones((4, 6), np.float16)):
        y = act.forward(x, *p)
        assert general, x.dtype  # the spy sees the general path
        assert y.dtype is np.dtype(y.dtype.type), x.dtype
        general.clear()
        act.backward(y, saved_for(act, y), *p)
        assert not general or y.dtype == np.float16, x.dtype


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_out_in_any_layout_and_float_dtype(act, base):
    want = act.forward(base, *param_values(act))
    for name in ("C", "F", "transposed", "strided", "negative"):
        _, view = layout_buffer(name, want.shape, base.dtype)
        r = act.forward(base, *param_values(act), out=view)
        assert r is view, name
        assert_same(view, want)
    for dtype in [np.float16, np.float32, np.float64]:
        out = np.empty(want.shape, dtype)
        act.forward(base, *param_values(act), out=out)
        assert_same(out, want.astype(dtype))


@pytest.mark.parametrize("act", IN_PLACE, ids=ids)  # out of x's shape (glu: test_glu)
def test_out_is_x_and_out_overlapping_x(act, rng):
    p = param_values(act)
    x = rng.standard_normal(64)
    want = act.forward(x, *p)
    y = x.copy()
    assert act.forward(y, *p, out=y) is y
    assert_same(y, want)
    # out shifted by one element over x: x must be read as it was before the call.
    buf = np.concatenate([x, [0.0]])
    act.forward(buf[:-1], *p, out=buf[1:])
    assert_same(buf[1:], want)
    buf = np.concatenate([[0.0], x])
    act.forward(buf[1:], *p, out=buf[:-1])
    assert_same(buf[:-1], want)
    # backward with out aliasing grad, and with out overlapping saved.
    g = rng.standard_normal(64)
    s = want if act.saves == "output" else x
    bwant = act.backward(g, s, *p)
    g2 = g.copy()
    act.backward(g2, s, *p, out=g2)
    assert_same(g2, bwant)
    sbuf = np.concatenate([s, [0.0]])
    act.backward(g, sbuf[:-1], *p, out=sbuf[1:])
    assert_same(sbuf[1:], bwant)


@pytest.mark.parametrize("act", IN_PLACE, ids=ids)
def test_in_place_equals_out_of_place(act, base):
    f = _forms(act, base)
    assert_same(f["forward_"], f["forward"])
    assert_same(f["backward_"], f["backward"])
    x = base.copy()
    assert act.forward_(x, *param_values(act)) is x


@pytest.mark.parametrize("act", IN_PLACE, ids=ids)
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_in_place_forms_allocate_nothing(act, target, rng):
    # NumPy reports its buffers to tracemalloc: a temporary or a scratch copy of 8e4 bytes
    # would show; Numba's own small scratch (softmax tiles, < 2 kB) is not NumPy's.
    x = rng.standard_normal((100, 100))
    g = rng.standard_normal(x.shape)
    s = saved_for(act, x)
    p = param_values(act)
    act.forward_(x.copy(), *p, target=target)  # compiled and loaded before measuring
    act.backward_(g.copy(), s, *p, target=target)
    tracemalloc.start()
    try:
        act.forward_(x, *p, target=target)
        act.backward_(g, s, *p, target=target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes // 8, peak


def test_keyword_and_positional_parameters():
    x = np.linspace(-2, 2, 9)
    a = fastact.leaky_relu(x, 0.3)
    assert_same(fastact.leaky_relu(x, negative_slope=0.3), a)
    assert_same(fastact.leaky_relu(x=x, negative_slope=0.3), a)
    assert not np.array_equal(fastact.leaky_relu(x), a)  # the parameter matters
    m = np.arange(6.0).reshape(2, 3)
    assert_same(fastact.softmax(m, 0), fastact.softmax(m, axis=0))


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
def test_parameter_values_are_not_confused(dtype):
    # Converted parameters are memoised by value: equal values that differ (the sign of
    # zero, float32 vs float64 values) must still give their own results.
    x = np.array([-1.0, 2.0], dtype)
    for slope, want in [(0.0, 0.0), (-0.0, -0.0), (0.0, 0.0), (0.1, dtype(-0.1))]:
        assert_same(
            fastact.leaky_relu(x, slope), np.array([-slope if slope == 0 else want, 2.0], dtype)
        )
    assert_same(fastact.leaky_relu(x, np.float32(0.1)), np.array([-np.float32(0.1), 2.0], dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_memory_order_of_the_result(dtype, rng):
    # README: an elementwise result keeps x's order (C or Fortran); the softmax family, glu,
    # prelu and the fused bias return C-contiguous results, as PyTorch's do.
    xf = np.asfortranarray(rng.standard_normal((4, 6)).astype(dtype))
    for y in (fastact.relu(xf), fastact.sigmoid(xf), fastact.tanh_backward(xf, xf)):
        assert y.flags.f_contiguous and not y.flags.c_contiguous
    assert fastact.relu(np.ascontiguousarray(xf)).flags.c_contiguous
    for y in (
        fastact.softmax(xf),
        fastact.softmax(xf, axis=0),
        fastact.glu(xf),
        fastact.prelu(xf, np.ones(6, dtype)),
        fastact.relu(xf, bias=np.ones(6, dtype)),
    ):
        assert y.flags.c_contiguous
