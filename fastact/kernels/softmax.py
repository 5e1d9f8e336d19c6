"""The softmax family: row kernels (one contiguous row) and block kernels (C-contiguous
2-D blocks of rows, which the CPU drivers call so that short rows vectorize across rows).

softmax, log_softmax and softmin are one set of kernels, ``_family(name, sign, log)``:
softmax(sign * x), its log if ``log``. Every kernel takes masked rows (``where=``).
"""

import numpy as np
from numba.core import types
from numba.extending import overload, register_jitable

from .. import elementary as em
from ..codegen import borrowed, inline_here, is_single, keep_alive, kernel, same_data, unfolded
from ..registry import ROWWISE, Activation, register

__all__ = [
    f"{name}{suffix}"
    for name in ("softmax", "log_softmax", "softmin")
    for suffix in ("_row", "_rows", "_row_backward", "_rows_backward")
]


# --------------------------------------------------------------------------- helpers
@register_jitable(error_model="numpy", fastmath={"reassoc"})
def _add(s, v):
    """s + v, reorderable: lets LLVM split a running sum into vector lanes. The only
    fast-math flag fastact uses; it assumes nothing about NaN or inf."""
    inline_here()
    return s + v


@kernel
def _exp_diff(a, shift):
    """exp(a - shift), with a - shift corrected by its exact rounding error (TwoSum): for
    a gap of g the rounding of the difference alone would cost about g ULP in exp. (Short
    rows' tiles and GPU code; the CPU's long rows take _exp_row's cheaper route.)"""
    inline_here()  # large once exp is inlined: LLVM would keep it a call, and not vectorize
    T = type(a)
    d = a - shift
    bv = d - a
    err = (a - (d - bv)) + (-shift - bv)
    err = err if err == err else T(0)  # inf - inf: no correction needed
    e = em.exp(d)
    return e + e * err


# Gaps below a row's max beyond which exp(t - max) rounds to 0 (float32, float64).
_GAP = (110.0, 800.0)


@kernel
def _row_shift(m, lanes):
    """(m, c, k, lo): how the CPU's rows take exp(t - m), as exp(d) 2**-k with d = t - c,
    clamped to lo (where the result is 0 anyway), so that no TwoSum is needed: c = m where
    |m| >= 2 gap (d is then exact down to -gap, t and m within a factor of 2: Sterbenz;
    lo = -gap), else c = 0, lo = m - gap and k = m / ln 2 rounded (exp's own scaling takes
    the 2**-k: elementary.exp_pow2). GPU code (``lanes`` None) uses m alone (see _exp_row)."""
    inline_here()
    T = type(m)
    if lanes is None:
        return m, m, T(0), m
    gap = T(em.for_dtype(m, _GAP[0], _GAP[1]))
    far = not (abs(m) < T(2) * gap)  # inf and NaN too: their rows are NaN
    c = m if far else T(0)
    k = T(0) if far else T(np.floor(m * T(1.4426950408889634) + T(0.5)))
    # The clamp is on d, not t: far out (|m| >= 2**31 in float32) m - gap rounds to m, and
    # every t clamped there took exp(0) = 1 (a row of 1e10 and zeros came out uniform).
    return m, c, k, -gap if far else m - gap


@kernel
def _exp_row(t, shift, lanes):
    """exp(t - m) for the element t of a row of max m, ``shift`` = _row_shift(m): on the CPU
    (``lanes``, its scratch, not None) times the row's common factor 2**-k / exp(c - m),
    which cancels in every result; GPU code (lanes None): _exp_diff."""
    inline_here()
    if lanes is None:
        return _exp_diff(t, shift[0])
    m, c, k, lo = shift
    d = t - c
    d = d if not (d < lo) else lo  # NaN passes; -inf - c is -inf
    return em.exp_pow2(d, k)


@kernel
def _t(x, i, sg, mask):
    """The family's argument sign * x[i]; -inf where ``mask`` (None: no mask) is False, so
    that a masked element adds nothing to the row's max and sum and comes out 0 (-inf
    for log_softmax) from the same formulas as every other element."""
    inline_here()
    t = sg * x[i]
    if mask is None:
        return t
    return t if mask[i] else type(t)(-np.inf)


@kernel
def _row_max(x, sg):
    inline_here()
    # Unordered: a NaN may be skipped here, but it makes its row's sum, hence the row, NaN.
    m = sg * x[0]
    for i in range(1, x.size):
        m = em.max_unordered(m, sg * x[i])
    return m


@kernel
def _masked_max(m, masked):
    """A masked row with nothing but -inf left (nothing unmasked, or only -inf unmasked,
    as PyTorch's _safe_softmax sees it) shifts by 0: its exps are all 0, its sum 0, and
    its result zeros (log_softmax: -inf) instead of NaN from -inf - -inf."""
    inline_here()
    return m if not masked or m != type(m)(-np.inf) else type(m)(0)


@kernel
def _two_sum(s, c, v):
    """Add v to the compensated sum (s, c); branch-free TwoSum."""
    inline_here()
    t = s + v
    bp = t - s
    return t, c + ((s - (t - bp)) + (v - bp))


@kernel
def _sum_compensated(a, s, c):
    """Add the float64 array a to the compensated sum (s, c), within about one ULP:
    TwoSum in four independent scalar lanes (GPU code; the CPU's rows sum in vector lanes
    as they compute the exps)."""
    inline_here()
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
    for i in range(n4, a.size):
        s, c = _two_sum(s, c, a[i])
    return s, c


# TwoSum lanes of the float64 row sum (two vectors of AVX-512), and its scratch size.
_LANES = 16
_SCRATCH = 3 * _LANES  # sums, error terms, counts of 1s


# Elements per exp-and-sum step of a row: the sum re-reads the exps while they are in L1.
_ROW_BLOCK = 2048

# Rows per tile of the short-row path (a multiple of every vector width), and the longest
# rows it takes (float32, float64), measured: beyond them the row path is faster.
_TILE = 16
_TILE_ROW_MAX = (24, 48)

# log_softmax's backward takes the exps of short rows (at most _SHORT_GRAD_MAX long) in
# blocks of about _SHORT_GRAD_BLOCK elements.
_SHORT_GRAD_MAX = 64
_SHORT_GRAD_BLOCK = 2048


def _mask_row(where, r):
    """Row r's mask, for ``where`` None or ``(mask, midx)``: the mask's distinct rows and,
    per row of the block, the index of its mask row (the mask is never broadcast to x's
    shape)."""
    return None if where is None else where[0][where[1][r]]


# Chosen by type when compiled: an `is None` branch on a tuple is not pruned, and its two
# return types would not unify.
@overload(_mask_row, inline="always")
def _mask_row_ol(where, r):
    if isinstance(where, types.NoneType):
        return lambda where, r: None
    return lambda where, r: where[0][where[1][r]]


def _borrow_where(where):
    """``where`` with a borrowed mask (codegen.borrowed): its row views then cost no
    reference count, which was a third of a masked 512-element row's extra time."""
    return where


@overload(_borrow_where, inline="always")
def _borrow_where_ol(where):
    if isinstance(where, types.NoneType):
        return lambda where: None
    return lambda where: (borrowed(where[0]), where[1])


@kernel
def _scale(s):
    """1 / sum; 0 for the empty sum of a masked row, whose exps are all 0."""
    inline_here()
    return 1.0 / s if s != 0.0 else 0.0


@kernel
def _lse_shift(s, c, dtype):
    """log(s + c), the sum of the exps (at least 1, the max's) as a large part s and a
    small one c (a compensated sum), as ``dtype``: log1p((s - 1) + c) keeps its relative
    accuracy when the row's other exps are tiny (s - 1 is exact), where log_softmax's
    dominant element, -log(sum), is near 0. 0 for the empty sum of a masked row, whose
    elements are all -inf."""
    inline_here()
    # (s + c, not s: a float32 row's count of 1s is 0 where its max is +inf or NaN.)
    return dtype(em.log1p((s - 1.0) + c)) if s + c != 0.0 else dtype(0)


@kernel
def _where0(v, mask, i):
    """v, or 0 where the mask is False: masked elements get no gradient."""
    inline_here()
    if mask is None:
        return v
    return v if mask[i] else type(v)(0)


def _family(name, sign, log):
    """The kernels of the family member ``name`` = softmax(sign * x), its log if ``log``.

    sign and log are constants of the closures: Numba compiles each member's branches
    away. ``where`` (None, or a row's bool mask in the row kernels, or ``(mask, midx)``
    in the block kernels) takes masked elements out of their row (SPEC §2.4).
    """

    @kernel
    def core(x, out, lanes, buf, sg, staged_max):
        """row_'s work on the row sg * x; ``staged_max``: None, or the max of x, a stage
        that holds -inf at masked elements."""
        inline_here()
        T = x.dtype.type
        n = x.size
        if n == 0:
            return
        if staged_max is None:
            m = _row_max(x, sg)
        else:
            m = _masked_max(staged_max, True)
        sh = _row_shift(m, lanes)
        # The max's exp (1 but for the common factor): the 1s log_softmax counts apart.
        top = _exp_row(m, sh, lanes)
        s = c = 0.0
        if log and buf is None:
            for i in range(n):
                s, c = _two_sum(s, c, float(_exp_diff(sg * x[i], m)))
        elif lanes is not None and not is_single(x):
            # float64: each exp goes straight into the compensated sum (TwoSum lanes), in
            # one loop with no buffer: the sum hides under the exps' arithmetic (1.1x).
            L = lanes.size // 3  # read at run time: see tile
            ls = lanes[:L]
            lc = lanes[L:]
            ls[:] = 0.0
            lc[:] = 0.0
            # Two exps per lane and step, added in float64 before they enter the lane's
            # TwoSum (one rounding, at most half an ULP of the sum: the terms are
            # positive): half the steps of the lanes' chains of dependent operations,
            # which bound the loop (log_softmax 0.85x -> 1.0x PyTorch at 1000x1000,
            # softmax 1.07x -> 1.15x). One block of L exps then, and the last n % L alone.
            n4 = n - n % L
            n8 = n - n % (2 * L)
            if log:
                # The 1s (the max's) counted apart, as in float32 (see _lse_shift): added
                # to a lane's sum, they would leave the tiny exps beside them to the plain
                # sum of its error term (5 ULP at gaps of 80).
                lo = lanes[2 * L : 3 * L]
                lo[:] = 0.0
                for i in range(0, n8, 2 * L):
                    xi, xj = x[i : i + L], x[i + L : i + 2 * L]
                    for k in range(L):
                        e = _exp_row(sg * xi[k], sh, lanes)
                        f = _exp_row(sg * xj[k], sh, lanes)
                        lo[k] += (1.0 if e == top else 0.0) + (1.0 if f == top else 0.0)
                        v = (e if e != top else 0.0) + (f if f != top else 0.0)
                        ls[k], lc[k] = _two_sum(ls[k], lc[k], v)
                for i in range(n8, n4, L):
                    xi = x[i : i + L]
                    for k in range(L):
                        e = _exp_row(sg * xi[k], sh, lanes)
                        lo[k] += 1.0 if e == top else 0.0
                        ls[k], lc[k] = _two_sum(ls[k], lc[k], e if e != top else 0.0)
                ones = 0.0
                for k in range(L):
                    ones += lo[k]
            elif same_data(x, out):  # in place: one array in the loop (codegen.same_data)
                # Written out twice on purpose: a helper shared with the loop below takes
                # out's slices as both x and out, views LLVM cannot prove equal, and the
                # in-place loop then ran scalar (softmax_ 1000x1000: 4.9 ms against 1.4 ms).
                for i in range(0, n8, 2 * L):
                    oi, oj = out[i : i + L], out[i + L : i + 2 * L]
                    for k in range(L):
                        e = _exp_row(sg * oi[k], sh, lanes)
                        f = _exp_row(sg * oj[k], sh, lanes)
                        oi[k], oj[k] = e, f
                        ls[k], lc[k] = _two_sum(ls[k], lc[k], e + f)
                for i in range(n8, n4, L):
                    oi = out[i : i + L]
                    for k in range(L):
                        e = _exp_row(sg * oi[k], sh, lanes)
                        oi[k] = e
                        ls[k], lc[k] = _two_sum(ls[k], lc[k], e)
            else:
                for i in range(0, n8, 2 * L):
                    xi, xj = x[i : i + L], x[i + L : i + 2 * L]
                    oi, oj = out[i : i + L], out[i + L : i + 2 * L]
                    for k in range(L):
                        e = _exp_row(sg * xi[k], sh, lanes)
                        f = _exp_row(sg * xj[k], sh, lanes)
                        oi[k], oj[k] = e, f
                        ls[k], lc[k] = _two_sum(ls[k], lc[k], e + f)
                for i in range(n8, n4, L):
                    xi, oi = x[i : i + L], out[i : i + L]
                    for k in range(L):
                        e = _exp_row(sg * xi[k], sh, lanes)
                        oi[k] = e
                        ls[k], lc[k] = _two_sum(ls[k], lc[k], e)
            for k in range(L):
                s, c = _two_sum(s, c + lc[k], ls[k])
            for i in range(n4, n):
                e = _exp_row(sg * x[i], sh, lanes)
                if not log:
                    out[i] = e
                    s, c = _two_sum(s, c, e)
                elif e == top:
                    ones += 1.0
                else:
                    s, c = _two_sum(s, c, e)
            if log:  # the order of the float32 sums below: c counts the 1s, s the rest
                s, c = s + c, ones
        else:
            for b in range(0, n, _ROW_BLOCK):
                # Slices, so that every loop counts from 0: an index range(b, e) is not
                # known to be non-negative, and its wraparound check stops the loops from
                # vectorizing.
                xb = x[b : b + _ROW_BLOCK]
                eb = buf[: xb.size] if log else out[b : b + _ROW_BLOCK]
                # The exps in a loop of their own: a float64 sum in the same loop would
                # make LLVM vectorize all of it at float64 width, halving the float32 exps'
                # throughput.
                if same_data(xb, eb):  # in place: one array in the loop (codegen.same_data)
                    for i in range(eb.size):
                        eb[i] = _exp_row(sg * eb[i], sh, lanes)
                else:
                    for i in range(eb.size):
                        eb[i] = _exp_row(sg * xb[i], sh, lanes)
                if is_single(x) and not log:
                    # float32: pairs added in float32 (one rounding: at most 2**-24 of the
                    # sum, as the terms are positive), then in float64, reordered (far
                    # below that): half the conversions to float64, 3% of the row.
                    h = eb.size // 2
                    e1 = eb[:h]
                    e2 = eb[h : 2 * h]
                    for i in range(h):
                        s = _add(s, float(e1[i] + e2[i]))
                    if eb.size % 2:
                        s += float(eb[eb.size - 1])
                elif is_single(x):
                    # float32 log_softmax needs its sum beyond the max's 1 to within a few
                    # of its own ULP (see _lse_shift): the exps below 1 summed apart from
                    # the count of 1s (the max's) keep it, in 2.2x less time than TwoSum.
                    one, zero = T(1), T(0)
                    h = eb.size // 2
                    e1 = eb[:h]
                    e2 = eb[h : 2 * h]
                    for i in range(h):
                        a, b = e1[i], e2[i]
                        s = _add(s, float((a if a != top else zero) + (b if b != top else zero)))
                        c = _add(
                            c, float((one if a == top else zero) + (one if b == top else zero))
                        )
                    if eb.size % 2:
                        a = eb[eb.size - 1]
                        s += float(a if a != top else zero)
                        c += float(one if a == top else zero)
                else:
                    # (GPU code.) A reordered sum of a few hundred float64 terms already
                    # costs ~5 ULP.
                    s, c = _sum_compensated(eb, s, c)
        if log:
            # c counts the 1s, s sums the rest (on the CPU; GPU float64: s + c is the sum).
            # (The rest over the max's exp: the common factor out.)
            if is_single(x) or lanes is not None:
                hi = _lse_shift(c, s / float(top), T)
            else:
                hi = _lse_shift(s, c, T)
            # (t - m) - log(sum): both terms <= 0, no cancellation; t = m gives -log(sum).
            if same_data(x, out):
                for i in range(n):
                    out[i] = (sg * out[i] - m) - hi
            else:
                for i in range(n):
                    out[i] = (sg * x[i] - m) - hi
        elif is_single(x):
            # 1/sum as float32 hi + lo: out * hi + out * lo is one FMA and a multiply at 16
            # lanes, as exact as the float64 product (which converts twice, at 8 lanes).
            r = _scale(s + c)
            hi = T(r)
            lo = T(r - float(hi))
            for i in range(n):
                out[i] = em.fma(out[i], hi, out[i] * lo)
        else:
            r = _scale(s + c)
            for i in range(n):
                out[i] = out[i] * r

    @kernel
    def row_(x, out, lanes, buf, mask, stage):
        """One row into out, with float64 scratch of _SCRATCH elements and, for log, a
        buffer of _ROW_BLOCK elements of x's dtype for the exps (log writes out only in its
        last pass, so that x may be out); either None (GPU code): four scalar TwoSum lanes,
        and log sums its exps as they come. ``mask``: the row's bool mask, or None; then
        ``stage``, a row of x's dtype, takes sign * x with -inf where masked."""
        inline_here()  # into the drivers' loop over rows: no call per row
        T = x.dtype.type
        if mask is None:
            core(x, out, lanes, buf, T(sign), None)
            return
        # The masked row is staged first (a select inside the max reduction over x stopped
        # LLVM from vectorizing it, 13x slower), its max taken in the same loop (8x8x512x512
        # float32, causal: softmax's mask cost 1.13-1.19x -> 1.0x the unmasked call). Not
        # in out: its first write there would then be this memory-bound loop's, which cost
        # 20-30% more than the exps'. log_softmax keeps its max apart: with it, its masked
        # rows took 1.6x (12.4 ms against 8 ms; not understood, measured 2026-12-03).
        if log:
            for i in range(stage.size):
                stage[i] = _t(x, i, T(sign), mask)
            core(stage, out, lanes, buf, T(1), _row_max(stage, T(1)))
            return
        m = T(-np.inf)
        for i in range(stage.size):
            v = _t(x, i, T(sign), mask)
            stage[i] = v
            m = em.max_unordered(m, v)
        core(stage, out, lanes, buf, T(1), m)

    @kernel
    def tile(x, out, base, n, buf, m, s, c, ones, mask, midx):
        """The ``m.size`` (at most _TILE) rows of length n from flat index ``base`` of the
        row-major x, into out (mask: None, or the 2-D mask and the tile's midx). The tile
        is transposed into buf, so that every vector operation works on one element of
        each row: a short row leaves nothing to vectorize."""
        inline_here()
        # The lane count is read at run time on purpose: a loop of constant trip count 16
        # is fully unrolled before the vectorizer sees it, into 16 scalar copies (3x
        # slower). Slices keep every index counting from 0 (see row_).
        # The transposes go row by row through the tile's contiguous block: reading or
        # writing it column by column (slices of step n) is 7x slower, most of the time of
        # the whole kernel.
        T = x.dtype.type
        sg = T(sign)
        L = m.size
        xb = x[base : base + L * n]
        ob = out[base : base + L * n]
        for k in range(L):
            if mask is None:
                for j in range(n):
                    buf[j * L + k] = sg * xb[k * n + j]
            else:
                for j in range(n):
                    buf[j * L + k] = sg * xb[k * n + j] if mask[midx[k], j] else T(-np.inf)
        for k in range(L):
            m[k] = buf[k]
            s[k] = c[k] = 0.0
        for j in range(1, n):
            bj = buf[j * L : (j + 1) * L]
            for k in range(L):
                m[k] = em.max_unordered(m[k], bj[k])
        for k in range(L):
            m[k] = _masked_max(m[k], mask is not None)
        if log:
            # The exps summed as they come (bj keeps t for the last pass), compensated,
            # the 1s (the max's) counted apart: see _lse_shift and core.
            for k in range(L):
                ones[k] = 0.0
            for j in range(n):
                bj = buf[j * L : (j + 1) * L]
                if is_single(x):
                    # At most 40 float32 terms: their float64 sum in order is far inside
                    # a float32 ULP of the sum beyond the 1s; no TwoSum needed.
                    for k in range(L):
                        e = _exp_diff(bj[k], m[k])
                        ones[k] += 1.0 if e == T(1) else 0.0
                        s[k] += float(e) if e != T(1) else 0.0
                else:
                    for k in range(L):
                        e = _exp_diff(bj[k], m[k])
                        ones[k] += 1.0 if e == 1.0 else 0.0
                        s[k], c[k] = _two_sum(s[k], c[k], e if e != 1.0 else 0.0)
            for k in range(L):
                s[k] = _lse_shift(ones[k], s[k] + c[k], T)
            for k in range(L):
                for j in range(n):
                    ob[k * n + j] = (buf[j * L + k] - m[k]) - T(s[k])
            return
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
            s[k] = _scale(s[k] + c[k])
        for k in range(L):
            for j in range(n):
                ob[k * n + j] = buf[j * L + k] * s[k]

    @kernel
    def rows(x, out, where=None):
        """Every row of the C-contiguous 2-D ``x``, into ``out`` (the CPU drivers' kernel:
        short rows go through tiles of _TILE rows, long ones one by one)."""
        inline_here()
        # Borrowed views (see codegen): the loops below make views per row or tile.
        x = borrowed(x)
        out = borrowed(out)
        masks = _borrow_where(where)
        rows, n = x.shape
        if 0 < n <= _TILE_ROW_MAX[0 if is_single(x) else 1]:
            own = np.empty(n * _TILE + _TILE, x.dtype)
            own64 = np.empty(3 * _TILE)
            buf = borrowed(own)[: n * _TILE]
            m = borrowed(own)[n * _TILE :]
            s = borrowed(own64)[:_TILE]
            c = borrowed(own64)[_TILE : 2 * _TILE]
            ones = borrowed(own64)[2 * _TILE :]
            xf = x.reshape(x.size)
            of = out.reshape(out.size)
            for r in range(0, rows, _TILE):
                # The last tile may be partial: fewer lanes, the same arithmetic, so that a
                # row's result never depends on how the drivers split the rows.
                k = min(_TILE, rows - r)
                if where is None:
                    tile(xf, of, r * n, n, buf, m[:k], s[:k], c[:k], ones[:k], None, None)
                else:
                    tile(
                        xf, of, r * n, n, buf, m[:k], s[:k], c[:k], ones[:k], where[0], where[1][r:]
                    )
            keep_alive(own)
            keep_alive(own64)
        else:
            own64 = np.empty(_SCRATCH)
            lanes = borrowed(own64)
            # log's exps buffer starts half a page after the row it takes the exps of, in
            # the addresses' low 12 bits: a load from a page offset that a store just
            # before it wrote waits for that store (4K aliasing). Placed as they happened
            # to be, log_softmax's masked rows (read from the stage) took 1.4x its
            # unmasked ones (8x8x512x512 float32, causal).
            item = x.itemsize
            nb = min(n, _ROW_BLOCK) if log and is_single(x) else 0  # float64: TwoSum lanes
            own = np.empty((nb + 4096 // item) if nb else 0, x.dtype)
            base = own.ctypes.data
            own_stage = np.empty(0 if where is None else n, x.dtype)
            stage = borrowed(own_stage)
            for r in range(rows):
                src = x[r] if where is None else stage
                off = (src.ctypes.data + 2048 - base) % 4096 // item if nb else 0
                buf = borrowed(own)[off : off + nb]
                row_(x[r], out[r], lanes, buf if log else None, _mask_row(masks, r), stage)
            keep_alive(own)
            keep_alive(own_stage)
            keep_alive(own64)

    @kernel
    def row(x, out):
        inline_here()
        row_(x, out, None, None, None, None)

    @kernel
    def _grad(g, y, d, sg):
        inline_here()
        if log:
            return g - em.exp(y) * d
        return sg * (y * (g - d))

    @kernel
    def _row_sum(grad, y, mask):
        """The sum a row's gradient subtracts: sum(grad) (log) or sum(grad * y), as y's
        dtype."""
        inline_here()
        T = y.dtype.type
        dot = 0.0
        if log:
            # unfolded: a masked row's select would become a zero-masking load of grad,
            # which made the masked backward 1.6x the unmasked one on Zen 4.
            for i in range(y.size):
                dot = _add(dot, float(_where0(unfolded(grad[i]), mask, i)))
        elif is_single(y) and y.size >= 256 and mask is None:
            # Half the conversions to float64: long rows stream 5% faster (short ones lose).
            h = y.size // 2
            g1, g2, y1, y2 = grad[:h], grad[h : 2 * h], y[:h], y[h : 2 * h]
            for i in range(h):
                dot = _add(dot, float(em.fma(g1[i], y1[i], g2[i] * y2[i])))
            if y.size % 2:
                dot += float(grad[y.size - 1]) * float(y[y.size - 1])
        else:
            for i in range(y.size):
                dot = _add(dot, _where0(grad[i] * y[i], mask, i))
        return T(dot)  # float32 rows keep 16-lane vectors

    @kernel
    def row_backward_(grad, y, out, mask):
        inline_here()
        d = _row_sum(grad, y, mask)
        sg = y.dtype.type(sign)
        if same_data(grad, out):  # in place: one array in the loop (see codegen.same_data)
            for i in range(y.size):
                out[i] = _where0(_grad(out[i], y[i], d, sg), mask, i)
        else:
            for i in range(y.size):
                out[i] = _where0(_grad(grad[i], y[i], d, sg), mask, i)

    @kernel
    def row_backward(grad, y, out):
        inline_here()
        row_backward_(grad, y, out, None)

    @kernel
    def rows_backward(grad, y, out, where=None):
        """Every row of the C-contiguous 2-D blocks: short ones in blocks of rows, long
        ones one by one."""
        inline_here()
        grad, y, out = borrowed(grad), borrowed(y), borrowed(out)
        masks = _borrow_where(where)
        rows, n = grad.shape
        if not log or where is not None or not 0 < n <= _SHORT_GRAD_MAX:
            for r in range(rows):
                row_backward_(grad[r], y[r], out[r], _mask_row(masks, r))
            return
        # log_softmax's short rows: the exps of a block of rows in one loop first. A row of
        # 10 alone is a vector of 8 and two scalar exps. The same arithmetic: the same bits.
        step = max(1, _SHORT_GRAD_BLOCK // n)
        own = np.empty(step * n, y.dtype)
        exps = borrowed(own)
        yf = y.reshape(y.size)
        in_place = same_data(grad, out)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            yb, eb = yf[r0 * n : r1 * n], exps[: (r1 - r0) * n]
            for i in range(eb.size):
                eb[i] = em.exp(yb[i])
            for r in range(r0, r1):
                d = _row_sum(grad[r], y[r], None)
                er, orow, gr = exps[(r - r0) * n : (r - r0 + 1) * n], out[r], grad[r]
                if in_place:
                    for j in range(n):
                        orow[j] = orow[j] - er[j] * d
                else:
                    for j in range(n):
                        orow[j] = gr[j] - er[j] * d
        keep_alive(own)

    for f, suffix in (
        (row, "_row"),
        (rows, "_rows"),
        (row_backward, "_row_backward"),
        (rows_backward, "_rows_backward"),
    ):
        f.__name__ = f.__qualname__ = name + suffix
    row.__doc__ = f"{name} of one contiguous row, into ``out`` (any target)."
    row_backward.__doc__ = f"{name}'s gradient of one row from its output ``y``, into ``out``."
    return row, rows, row_backward, rows_backward


softmax_row, softmax_rows, softmax_row_backward, softmax_rows_backward = _family(
    "softmax", 1, False
)
log_softmax_row, log_softmax_rows, log_softmax_row_backward, log_softmax_rows_backward = _family(
    "log_softmax", 1, True
)
softmin_row, softmin_rows, softmin_row_backward, softmin_rows_backward = _family(
    "softmin", -1, False
)


# --------------------------------------------------------------------------- references
def _mask_ref(where, x):
    return np.ones(np.shape(x), bool) if where is None else np.broadcast_to(where, np.shape(x))


def _shifted_ref(x, axis, where):
    """x - max with masked elements at -inf (a fully masked row's max taken as 0), and the
    row sums of its exps."""
    keep = _mask_ref(where, x)
    with np.errstate(invalid="ignore"):
        t = np.where(keep, x, -np.inf)
        m = np.max(t, axis=axis, keepdims=True)
        if where is not None:
            m = np.where(m == -np.inf, 0.0, m)
        d = t - m
        return d, np.sum(np.exp(d), axis=axis, keepdims=True)


def _softmax_ref(x, axis, where=None):
    d, s = _shifted_ref(x, axis, where)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s == 0, 0.0, np.exp(d) / s)


def _log_softmax_ref(x, axis, where=None):
    d, s = _shifted_ref(x, axis, where)
    with np.errstate(invalid="ignore", divide="ignore"):
        return d - np.where(s == 0, 0.0, np.log(s))


def _softmin_ref(x, axis, where=None):
    return _softmax_ref(-np.asarray(x), axis, where)


def _softmax_ref_backward(g, y, axis, where=None):
    keep = _mask_ref(where, g)
    with np.errstate(invalid="ignore"):
        gy = np.where(keep, g * y, 0.0)
        return np.where(keep, y * (g - np.sum(gy, axis=axis, keepdims=True)), 0.0)


def _log_softmax_ref_backward(g, y, axis, where=None):
    keep = _mask_ref(where, g)
    with np.errstate(invalid="ignore"):
        d = np.sum(np.where(keep, g, 0.0), axis=axis, keepdims=True)
        return np.where(keep, g - np.exp(y) * d, 0.0)


def _softmin_ref_backward(g, y, axis, where=None):
    return -_softmax_ref_backward(g, y, axis, where)


for _name, _sign, _log, _ref, _ref_backward, _summary in (
    ("softmax", 1, False, _softmax_ref, _softmax_ref_backward,
     "Softmax along ``axis``: exp(x - max) / sum(exp(x - max))."),
    ("log_softmax", 1, True, _log_softmax_ref, _log_softmax_ref_backward,
     "Log-softmax along ``axis``: x - max - log(sum(exp(x - max))), never log(softmax)."),
    ("softmin", -1, False, _softmin_ref, _softmin_ref_backward,
     "Softmin along ``axis``: softmax(-x)."),
):  # fmt: skip
    _k = globals()
    register(
        Activation(
            name=_name,
            kind=ROWWISE,
            forward_kernel=_k[f"{_name}_row"],
            backward_kernel=_k[f"{_name}_row_backward"],
            saves="output",
            reference=_ref,
            reference_backward=_ref_backward,
            row_family=(_sign, _log),
            block_kernels=(_k[f"{_name}_rows"], _k[f"{_name}_rows_backward"]),
            takes_where=True,
            summary=_summary,
        )
    )
