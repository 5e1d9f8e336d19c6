"""The softmax family: row kernels (one contiguous row) and block kernels (C-contiguous
2-D blocks of rows, which the CPU drivers call so that short rows vectorize across rows).
"""

import numpy as np
from numba.extending import register_jitable

from .. import elementary as em
from ..codegen import borrowed, inline_here, is_single, keep_alive, kernel, same_data
from ..registry import ROWWISE, Activation, register

__all__ = ["softmax_row", "softmax_row_backward", "softmax_rows"]


# --------------------------------------------------------------------------- softmax
@register_jitable(error_model="numpy", fastmath={"reassoc"})
def _add(s, v):
    """s + v, reorderable: lets LLVM split a running sum into vector lanes. The only
    fast-math flag fastact uses; it assumes nothing about NaN or inf."""
    inline_here()
    return s + v


@kernel
def _exp_diff(a, shift):
    """exp(a - shift), with a - shift corrected by its exact rounding error (TwoSum): for
    a gap of g the rounding of the difference alone would cost about g ULP in exp."""
    inline_here()  # large once exp is inlined: LLVM would keep it a call, and not vectorize
    T = type(a)
    d = a - shift
    bv = d - a
    err = (a - (d - bv)) + (-shift - bv)
    err = err if err == err else T(0)  # inf - inf: no correction needed
    e = em.exp(d)
    return e + e * err


@kernel
def _row_max(x):
    inline_here()
    # Unordered: a NaN may be skipped here, but it makes its row's sum, hence the row, NaN.
    m = x[0]
    for i in range(1, x.size):
        m = em.max_unordered(m, x[i])
    return m


@kernel
def _two_sum(s, c, v):
    """Add v to the compensated sum (s, c); branch-free TwoSum."""
    inline_here()
    t = s + v
    bp = t - s
    return t, c + ((s - (t - bp)) + (v - bp))


@kernel
def _sum_compensated(a, s, c, lanes):
    """Add the float64 array a to the compensated sum (s, c), within about one ULP.

    TwoSum in len(lanes) // 2 independent lanes, which vectorize (2.6x faster), then
    merged; ``lanes`` None (GPU code, which cannot allocate it) gives four scalar lanes.
    """
    inline_here()
    if lanes is None:
        n4 = a.size - a.size % 4
        s0 = s1 = s2 = s3 = c0 = c1 = c2 = c3 = 0.0
        for i in range(0, n4, 4):
            s0, c0 = _two_sum(s0, c0, a[i])
            s1, c1 = _two_sum(s1, c1, a[i + 1])
            s2, c2 = _two_sum(s2, c2, a[i + 2])
            s3, c3 = _two_sum(s3, c3, a[i + 3])
        s, c = _two_sum(s, c + c0 + c1 + c2 + c3, s0)
        s, c = _two_sum(s, c, s1)
        s, c = _two_sum(s, c, s2)
        s, c = _two_sum(s, c, s3)
    else:
        L = lanes.size // 2  # read at run time: see _softmax_tile
        ls = lanes[:L]
        lc = lanes[L:]
        ls[:] = 0.0
        lc[:] = 0.0
        n4 = a.size - a.size % L
        for i in range(0, n4, L):
            ai = a[i : i + L]
            for k in range(L):
                ls[k], lc[k] = _two_sum(ls[k], lc[k], ai[k])
        for k in range(L):
            s, c = _two_sum(s, c + lc[k], ls[k])
    for i in range(n4, a.size):
        s, c = _two_sum(s, c, a[i])
    return s, c


# TwoSum lanes of the float64 row sum (two vectors of AVX-512), and its scratch size.
_LANES = 16
_SCRATCH = 2 * _LANES


# Elements per exp-and-sum step of a row: the sum re-reads the exps while they are in L1.
_ROW_BLOCK = 2048


@kernel
def softmax_row(x, out):
    """Softmax of one row: exp(x - max) / sum(exp(x - max)), into ``out``.

    A row holding NaN, +inf or only -inf becomes NaN through the sum, as in PyTorch.
    """
    inline_here()
    _softmax_row(x, out, None)


@kernel
def _softmax_row(x, out, scratch):
    """softmax_row, with float64 scratch of _SCRATCH elements, or None (GPU code)."""
    inline_here()  # into the drivers' loop over rows: no call per row
    n = x.size
    if n == 0:
        return
    m = _row_max(x)
    s = c = 0.0
    for b in range(0, n, _ROW_BLOCK):
        # Slices, so that every loop counts from 0: an index range(b, e) is not known to
        # be non-negative, and its wraparound check stops the loops from vectorizing.
        xb = x[b : b + _ROW_BLOCK]
        ob = out[b : b + _ROW_BLOCK]
        # The exps in a loop of their own: a float64 sum in the same loop would make LLVM
        # vectorize all of it at float64 width, halving the float32 exps' throughput.
        if same_data(xb, ob):  # in place: one array in the loop (see codegen.same_data)
            for i in range(ob.size):
                ob[i] = _exp_diff(ob[i], m)
        else:
            for i in range(ob.size):
                ob[i] = _exp_diff(xb[i], m)
        if is_single(x):
            # float32: pairs added in float32 (one rounding: at most 2**-24 of the sum, as
            # the terms are positive), then in float64, reordered (far below that): half
            # the conversions to float64, 3% of the row.
            h = ob.size // 2
            o1 = ob[:h]
            o2 = ob[h : 2 * h]
            for i in range(h):
                s = _add(s, float(o1[i] + o2[i]))
            if ob.size % 2:
                s += float(ob[ob.size - 1])
        else:
            # float64: a reordered sum of a few hundred terms already costs ~5 ULP.
            s, c = _sum_compensated(ob, s, c, scratch)
    r = 1.0 / (s + c)
    if is_single(x):
        # r as float32 hi + lo: out * hi + out * lo is one FMA and a multiply at 16 lanes,
        # as exact as the float64 product (which converts twice, at 8 lanes).
        T = x.dtype.type
        hi = T(r)
        lo = T(r - float(hi))
        for i in range(n):
            out[i] = em.fma(out[i], hi, out[i] * lo)
    else:
        for i in range(n):
            out[i] = out[i] * r


# Rows per tile of the short-row path (a multiple of every vector width), and the longest
# rows it takes (float32, float64), measured: beyond them the row path is faster.
_TILE = 16
_TILE_ROW_MAX = (40, 96)


@kernel
def _softmax_tile(x, out, base, n, buf, m, s, c):
    """Softmax of the ``m.size`` (at most _TILE) rows of length n from flat index ``base``
    of the row-major x, into out. The tile is transposed into buf, so that every vector
    operation works on one element of each row: a short row leaves nothing to vectorize.
    """
    inline_here()
    # The lane count is read at run time on purpose: a loop of constant trip count 16
    # is fully unrolled before the vectorizer sees it, into 16 scalar copies (3x slower).
    # Slices keep every index counting from 0 (see softmax_row).
    L = m.size
    for j in range(n):
        bj = buf[j * L : (j + 1) * L]
        xj = x[base + j : base + L * n : n]
        for k in range(L):
            bj[k] = xj[k]
    for k in range(L):
        m[k] = buf[k]
        s[k] = c[k] = 0.0
    for j in range(1, n):
        bj = buf[j * L : (j + 1) * L]
        for k in range(L):
            m[k] = em.max_unordered(m[k], bj[k])
    for j in range(n):
        bj = buf[j * L : (j + 1) * L]
        for k in range(L):
            bj[k] = _exp_diff(bj[k], m[k])
    for j in range(n):
        bj = buf[j * L : (j + 1) * L]
        if is_single(x):
            for k in range(L):
                s[k] += float(bj[k])  # in order: n <= 40 terms, far inside a float32 ULP
        else:
            for k in range(L):
                s[k], c[k] = _two_sum(s[k], c[k], bj[k])
    for k in range(L):
        s[k] = 1.0 / (s[k] + c[k])
    for j in range(n):
        bj = buf[j * L : (j + 1) * L]
        oj = out[base + j : base + L * n : n]
        for k in range(L):
            oj[k] = bj[k] * s[k]


@kernel
def softmax_rows(x, out):
    """Softmax of every row of the C-contiguous 2-D ``x``, into ``out`` (the CPU drivers'
    kernel: short rows go through tiles of _TILE rows, long ones one by one)."""
    inline_here()
    # Borrowed views (see codegen): the loops below make views per row or tile.
    x = borrowed(x)
    out = borrowed(out)
    rows, n = x.shape
    if 0 < n <= _TILE_ROW_MAX[0 if is_single(x) else 1]:
        own = np.empty(n * _TILE + _TILE, x.dtype)
        own64 = np.empty(2 * _TILE)
        buf = borrowed(own)[: n * _TILE]
        m = borrowed(own)[n * _TILE :]
        s = borrowed(own64)[:_TILE]
        c = borrowed(own64)[_TILE:]
        xf = x.reshape(x.size)
        of = out.reshape(out.size)
        for r in range(0, rows, _TILE):
            # The last tile may be partial: fewer lanes, the same arithmetic, so that a
            # row's result never depends on how the drivers split the rows.
            k = min(_TILE, rows - r)
            _softmax_tile(xf, of, r * n, n, buf, m[:k], s[:k], c[:k])
        keep_alive(own)
        keep_alive(own64)
    else:
        own64 = np.empty(_SCRATCH)
        scratch = borrowed(own64)
        for r in range(rows):
            _softmax_row(x[r], out[r], scratch)
        keep_alive(own64)


@kernel
def softmax_row_backward(grad, y, out):
    """Softmax gradient of one row: y * (grad - sum(grad * y)), into ``out``.

    grad - sum(grad * y) cancels, so the error is bounded by sum(|grad * y|), not by the
    result. The sum is taken in float64, reordered (far below that bound), of float32
    rows' products taken in pairs (fma(g, y, g' * y'): two roundings, within 2**-23 of
    the bound); the rest in the row's precision, within ~2 of its ULP of that bound.
    """
    inline_here()
    dot = 0.0
    if is_single(y) and y.size >= 256:
        # Half the conversions to float64: long rows stream 5% faster (short ones lose).
        h = y.size // 2
        g1, g2, y1, y2 = grad[:h], grad[h : 2 * h], y[:h], y[h : 2 * h]
        for i in range(h):
            dot = _add(dot, float(em.fma(g1[i], y1[i], g2[i] * y2[i])))
        if y.size % 2:
            dot += float(grad[y.size - 1]) * float(y[y.size - 1])
    else:
        for i in range(y.size):
            dot = _add(dot, grad[i] * y[i])
    d = y.dtype.type(dot)  # float32 rows keep 16-lane vectors
    if same_data(grad, out):  # in place: one array in the loop (see codegen.same_data)
        for i in range(y.size):
            out[i] = y[i] * (out[i] - d)
    else:
        for i in range(y.size):
            out[i] = y[i] * (grad[i] - d)


def _softmax_ref(x, axis):
    with np.errstate(invalid="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_ref_backward(g, y, axis):
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


register(
    Activation(
        name="softmax",
        kind=ROWWISE,
        forward_kernel=softmax_row,
        backward_kernel=softmax_row_backward,
        saves="output",
        reference=_softmax_ref,
        reference_backward=_softmax_ref_backward,
        row_family=(1, False),
        block_kernels=(softmax_rows, None),
        summary="Softmax along ``axis``: exp(x - max) / sum(exp(x - max)).",
    )
)
