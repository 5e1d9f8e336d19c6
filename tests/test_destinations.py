"""Every form that writes into a given array (in place, ``out=``) writes its whole result
there, whatever the destination's layout and the ``axis`` (SPEC §3): for every registered
function and every form it has (the registry's forms record), so that functions added
later are covered without a change here."""

import numpy as np
import pytest
from conftest import (
    ALL,
    FLOATS,
    HALVES,
    ROWWISE,
    assert_same,
    ids,
    layout_buffer,
    layouts,
    param_values,
)


def _axes(act, shape):
    """The axes to try: all (and None) for the softmax family; for glu those of even length."""
    ndim = len(shape)
    if act.kind == ROWWISE:
        return [None, *range(-ndim, ndim)]
    if act.kind == HALVES:
        return [a for a in range(-ndim, ndim) if shape[a] % 2 == 0]
    return [-1]


@pytest.mark.parametrize("act", ALL, ids=ids)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
def test_destination_holds_the_result(act, dtype, rng):
    p = param_values(act)
    x0 = (rng.standard_normal((4, 6, 5)) * 3).astype(dtype)
    for name, view in layouts(x0):
        x = np.ascontiguousarray(view)
        for axis in _axes(act, x.shape):
            kw = {"axis": axis} if act.takes_axis else {}
            y = act.forward(x, *p, **kw)
            g = np.ascontiguousarray(
                dict(layouts(rng.standard_normal(x0.shape).astype(dtype)))[name]
            )
            if g.shape != y.shape:
                g = rng.standard_normal(y.shape).astype(dtype)
            s = y if act.saves == "output" else x
            dx = act.backward(g, s, *p, **kw)
            what = f"{act.name} {name} axis={axis}"
            if "forward_" in act.form_kinds:
                # In place: the destination is x (grad) itself, in this layout.
                for dest, untouched in _layout_copies(x0, name):
                    dest[...] = x
                    assert act.forward_(dest, *p, **kw) is dest, what
                    _same(dest, y, what)
                    untouched()
            if "backward_" in act.form_kinds:
                for dest, untouched in _layout_copies(x0, name):
                    dest[...] = g
                    assert act.backward_(dest, s, *p, **kw) is dest, what
                    _same(dest, dx, what)
                    untouched()
            # out= in this layout (of the result's shape), from contiguous inputs.
            for dest, untouched in _out_copies(name, y):
                assert act.forward(x, *p, out=dest, **kw) is dest, what
                _same(dest, y, what)
                untouched()
            for dest, untouched in _out_copies(name, dx):
                assert act.backward(g, s, *p, out=dest, **kw) is dest, what
                _same(dest, dx, what)
                untouched()


def _same(got, want, what):
    try:
        assert_same(got, want)
    except AssertionError:
        raise AssertionError(f"{what}: the destination does not hold the result") from None


def _layout_copies(base, name):
    """The view ``name`` of a fresh copy of ``base``, with a check that nothing outside it
    was written."""
    buf = base.copy()
    marks = np.zeros(base.shape, bool)
    dict(layouts(marks))[name][...] = True
    original = buf[~marks].copy()

    def untouched():
        assert_same(buf[~marks], original)

    yield dict(layouts(buf))[name], untouched


def _out_copies(name, result):
    """A destination of ``result``'s shape in the layout ``name``, with a check that nothing
    outside it was written (the buffer around it is full of 7)."""
    buf, view = layout_buffer(name, result.shape, result.dtype, fill=7.0)
    marks, inside = layout_buffer(name, result.shape, bool, fill=False)
    inside[...] = True

    def untouched():
        assert np.all(buf[~marks] == 7.0)

    yield view, untouched
