"""Every form that writes into a given array (in place, ``out=``) writes its whole result
there, whatever the destination's layout and the ``axis`` (SPEC §3): for every registered
function, so that functions added later are covered without a change here."""

import numpy as np
import pytest
from conftest import ALL, FLOATS, ROWWISE, assert_same, ids, layouts, param_values


def _axes(act, ndim):
    return [None, *range(-ndim, ndim)] if act.kind == ROWWISE else [-1]


@pytest.mark.parametrize("act", ALL, ids=ids)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
def test_destination_holds_the_result(act, dtype, rng):
    p = param_values(act)
    x0 = (rng.standard_normal((4, 6, 5)) * 3).astype(dtype)
    g0 = rng.standard_normal(x0.shape).astype(dtype)
    for name, view in layouts(x0):
        x = np.ascontiguousarray(view)
        g = np.ascontiguousarray(dict(layouts(g0))[name])
        for axis in _axes(act, x.ndim):
            kw = {"axis": axis} if act.kind == ROWWISE else {}
            y = act.forward(x, *p, **kw)
            s = y if act.saves == "output" else x
            dx = act.backward(g, s, *p, **kw)
            what = f"{act.name} {name} axis={axis}"
            # In place: the destination is x (grad) itself, in this layout.
            for dest, untouched in _layout_copies(x0, name):
                dest[...] = x
                assert act.forward_(dest, *p, **kw) is dest, what
                _same(dest, y, what)
                untouched()
            for dest, untouched in _layout_copies(g0, name):
                dest[...] = g
                assert act.backward_(dest, s, *p, **kw) is dest, what
                _same(dest, dx, what)
                untouched()
            # out= in this layout, from contiguous inputs.
            for dest, untouched in _layout_copies(np.zeros_like(x0), name):
                assert act.forward(x, *p, out=dest, **kw) is dest, what
                _same(dest, y, what)
                untouched()
            for dest, untouched in _layout_copies(np.zeros_like(x0), name):
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
