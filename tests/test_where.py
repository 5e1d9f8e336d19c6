"""Masked rows, ``where=`` (SPEC §2.4), on every function whose record says it takes it."""

import numpy as np
import pytest
from conftest import ALL, FLOATS, assert_same, ids
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MASKED = [a for a in ALL if a.takes_where]
TOL = {np.float32: 2e-6, np.float64: 1e-14}


def _fill(act):
    """What a masked element comes out as."""
    return -np.inf if act.row_family[1] else 0.0


def _close(got, want, dtype, what=""):
    # atol: the NumPy reference's log(sum) is only within an ULP of 1 near 0.
    atol = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=atol, err_msg=what)


def _causal(t):
    return np.tril(np.ones((t, t), bool))


def test_the_registry_says_who_takes_where():
    assert {a.name for a in MASKED} >= {"softmax", "log_softmax", "softmin"}
    for a in ALL:
        assert ("where" in str(a.forward.__signature__)) == a.takes_where


@pytest.mark.parametrize("act", MASKED, ids=ids)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("n", [8, 300, 5000], ids=["tile", "row", "blocks"])
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_causal_mask_all_forms(act, dtype, n, target, rng):
    # A (T, T) mask against (B, H, T, T) scores, rows shortened to n: every row path.
    t = 6
    x = (rng.standard_normal((2, 3, t, n)) * 3).astype(dtype)
    mask = np.zeros((t, n), bool)
    mask[:, :t] = _causal(t)
    mask[3] = False  # a row with nothing unmasked
    mask[4, t:] = rng.random(n - t) < 0.5
    want = act.reference(x.astype(np.float64), -1, mask)
    kw = {"where": mask, "target": target}
    y = act.forward(x, **kw)
    _close(y, want, dtype, "forward")
    assert (y[..., ~np.broadcast_to(mask, x.shape[2:])] == _fill(act)).all()
    assert (y[:, :, 3] == _fill(act)).all()  # not NaN
    x2 = x.copy()
    assert act.forward_(x2, **kw) is x2
    assert_same(x2, y)
    out = np.full_like(x, 7)
    assert act.forward(x, **kw, out=out) is out
    assert_same(out, y)

    g = rng.standard_normal(x.shape).astype(dtype)
    g[..., ~mask] = np.inf  # masked gradients are ignored, not multiplied by 0
    dx = act.backward(g, y, **kw)
    bwant = act.reference_backward(g.astype(np.float64), y.astype(np.float64), -1, mask)
    np.testing.assert_allclose(dx, bwant, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert (dx[..., ~np.broadcast_to(mask, x.shape[2:])] == 0).all()
    g2 = g.copy()
    assert act.backward_(g2, y, **kw) is g2
    assert_same(g2, dx)


@pytest.mark.parametrize("act", MASKED, ids=ids)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
def test_all_true_mask_is_the_unmasked_call(act, dtype, rng):
    for shape in [(40, 7), (3, 200)]:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        x[0, 1] = -np.inf
        assert_same(act.forward(x, where=np.ones(shape[-1], bool)), act.forward(x))


@pytest.mark.parametrize("act", MASKED, ids=ids)
def test_masks_on_every_axis_and_layout(act, rng):
    x = rng.standard_normal((4, 6, 5))
    for axis in [0, 1, 2, -1, None]:
        for mshape in [(4, 6, 5), (6, 1), (4, 1, 1), (5,), ()]:
            mask = rng.random(mshape) < 0.7
            want = act.reference(x, axis, mask)
            for view in (x, np.asfortranarray(x)):
                _close(act.forward(view, axis=axis, where=mask), want, np.float64, f"{axis}")
            dest = np.asfortranarray(x.copy())
            act.forward_(dest, axis=axis, where=mask)
            _close(dest, want, np.float64, f"in place {axis} {mshape}")


@pytest.mark.parametrize("act", MASKED, ids=ids)
def test_rows_with_only_minus_inf_left_give_zeros(act):
    # As PyTorch's _safe_softmax: masked out, or -inf in a masked call, is the same.
    # softmin is softmax(-x): its -inf is +inf.
    x = act.row_family[0] * np.array([[-np.inf, -np.inf, 1], [np.nan, 1, 2], [np.inf, 0, 1]])
    mask = np.array([[True, True, False], [True, True, True], [False, True, True]])
    y = act.forward(x, where=mask)
    assert (y[0] == _fill(act)).all()
    assert np.isnan(y[1]).all()  # NaN unmasked: a NaN row, as without a mask
    assert not np.isnan(y[2]).any()  # +inf masked out: it takes no part


@pytest.mark.parametrize("act", MASKED, ids=ids)
def test_bad_where_raises_and_writes_nothing(act, rng):
    x = rng.standard_normal((3, 4))
    for bad, exc, words in [
        (np.ones((3, 4), np.int8), TypeError, "dtype"),
        (np.ones((2, 4), bool), ValueError, "broadcastable"),
        (np.ones((1, 3, 4), bool), ValueError, "broadcastable"),
        ([[1.0, 0.0, 1.0, 0.0]], TypeError, "dtype"),
    ]:
        for form, args in [("forward_", (x.copy(),)), ("backward_", (x.copy(), x))]:
            before = args[0].copy()
            with pytest.raises(exc, match=rf"fastact\.{act.name}\w*: argument 'where'.*{words}"):
                getattr(act, form)(*args, where=bad)
            assert_same(args[0], before)


@pytest.mark.parametrize("act", MASKED, ids=ids)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_masked_row_is_the_row_of_its_kept_elements(act, data):
    n = data.draw(st.integers(1, 130))
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(hnp.arrays(dtype, n, elements=st.floats(-50, 50, width=32)))
    mask = data.draw(hnp.arrays(bool, n))
    y = act.forward(x, where=mask)
    assert (y[~mask] == _fill(act)).all()
    if mask.any():
        want = act.forward(x[mask])
        np.testing.assert_allclose(y[mask], want, rtol=4 * np.finfo(dtype).eps, atol=1e-30)


@pytest.mark.parametrize("act", MASKED, ids=ids)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
def test_masked_rows_padded_with_huge_values(act, dtype):
    # Padding filled with -1e10 (masked_fill's habit) behind a mask: a long row whose max is
    # huge, where max - gap rounds to max. The masked elements still come out as masked.
    sign = act.row_family[0]
    x = np.full((3, 60), -sign * 1e10 if dtype == np.float32 else -sign * 1e20, dtype)
    x[1, 7] = sign * 3.0
    w = np.arange(60) < 25
    y = act.forward(x, where=w)
    assert_same(y[:, 25:], np.full((3, 35), _fill(act), dtype))
    want = np.where(w, 1 / 25, 0.0)
    for r in (0, 2):  # equal unmasked elements: equal shares
        _close(np.exp(y[r]) if act.row_family[1] else y[r], want, dtype, act.name)
    one_hot = np.where(np.arange(60) == 7, 1.0, 0.0)
    _close(np.exp(y[1]) if act.row_family[1] else y[1], one_hot, dtype, act.name)


@pytest.mark.parametrize("act", MASKED, ids=ids)
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_a_mask_in_the_destinations_bytes(act, target, rng):
    # The mask a bool view of out's (or x's, in place) own memory: read as if before any
    # write, as NumPy reads overlapping inputs.
    rows, n = 12, 16
    x = rng.standard_normal((rows, n))
    g = rng.standard_normal((rows, n))
    tril = np.tril(np.ones((rows, n), bool))
    y = act.forward(x, where=tril)

    def fresh(values):
        raw = np.zeros(rows * n * 8, np.uint8)
        dest = raw.view(np.float64).reshape(rows, n)
        dest[...] = values
        mask = raw[: rows * n].view(np.bool_).reshape(rows, n)  # dest's first rows' bytes
        mask[...] = tril
        return dest, mask

    for form in ("forward", "forward_", "backward", "backward_"):
        args = (x,) if form.startswith("forward") else (g, y)
        plain = getattr(act, form.rstrip("_"))
        if form.endswith("_"):  # in place: the destination is the first argument
            dest, mask = fresh(args[0])  # the mask's bytes are some of its values now
            want = plain(dest.copy(), *args[1:], where=mask.copy())
            got = getattr(act, form)(dest, *args[1:], where=mask, target=target)
        else:
            dest, mask = fresh(0.0)
            want = plain(*args, where=tril)
            got = getattr(act, form)(*args, where=mask, out=dest, target=target)
        assert got is dest
        assert_same(got, want)
