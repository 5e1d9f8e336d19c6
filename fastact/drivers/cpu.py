"""CPU drivers: one loop template per kernel kind, compiled per activation, cached on disk.

Each template loops over 1-D contiguous arrays (elementwise), C-contiguous 2-D arrays
of rows (row-wise) or C-contiguous ``(outer, 2, m)`` pairs of halves (kind ``HALVES``)
and calls the activation's kernel, bound to the global name ``_forward`` / ``_backward``.
The same template gives the one-thread driver
(``parallel=False``: ``prange`` is ``range``) and the all-threads driver.

Why not a closure over the kernel: Numba's disk cache keys a closure by its pickled
cells, and a pickled dispatcher differs in every process, so such kernels would
recompile at every start. Instead ``compiled()`` copies the template with the kernel
as a *global* and a unique ``__qualname__`` (its cache file name). Numba does not hash
globals into the cache key, so the qualname also carries a hash of the source files
that kernels depend on: editing the math invalidates every cached driver.
"""

import threading
import types

import numpy as np
from numba import njit, prange

from ..codegen import borrowed, is_single, prefer_wide_vectors, same_data
from ..registry import ELEMENTWISE, HALVES, ROWWISE
from . import channel, source_fingerprint

# Rebound per activation by compiled(); these placeholders are never called.
_forward = _backward = _share = None
_PARALLEL = False
_SPLIT_SUM = False  # a bias's backward: the gradient's sum in a pass of its own


# prefer_wide_vectors() sits inside the loop bodies: with parallel=True Numba outlines
# the body into its own function, and the attribute must be on the function that holds
# the loop (it emits no code).


def map_forward(x, out, params):
    head = _unaligned_head(out)
    for i in range(head):
        out[i] = _forward(x[i], *params)
    x, out = borrowed(x)[head:], borrowed(out)[head:]
    step = _elements_per_block(x.size, _PARALLEL)
    in_place = same_data(x, out)
    for b in prange((x.size + step - 1) // step):
        prefer_wide_vectors()
        lo, hi = b * step, (b + 1) * step
        xb, ob = x[lo:hi], out[lo:hi]
        if in_place:  # one array in the loop: see codegen.same_data
            for i in range(ob.size):
                ob[i] = _forward(ob[i], *params)
        else:
            for i in range(ob.size):
                ob[i] = _forward(xb[i], *params)


def map_backward(grad, saved, out, params):
    head = _unaligned_head(out)
    for i in range(head):
        out[i] = _backward(grad[i], saved[i], *params)
    grad, saved, out = borrowed(grad)[head:], borrowed(saved)[head:], borrowed(out)[head:]
    step = _elements_per_block(grad.size, _PARALLEL)
    in_place = same_data(grad, out)  # the backward's in-place form writes grad
    for b in prange((grad.size + step - 1) // step):
        prefer_wide_vectors()
        lo, hi = b * step, (b + 1) * step
        gb, sb, ob = grad[lo:hi], saved[lo:hi], out[lo:hi]
        if in_place:
            for i in range(ob.size):
                ob[i] = _backward(ob[i], sb[i], *params)
        else:
            for i in range(ob.size):
                ob[i] = _backward(gb[i], sb[i], *params)


@njit(cache=True)
def _elements_per_block(n, parallel):
    """Elements per block of the map drivers: all of them on one thread; else up to 64
    blocks (for load balancing) of a multiple of 64 elements, at least 4096, so that every
    block starts on a 64-byte boundary like the first: left to Numba's scheduler, the
    threads' ranges split anywhere, and stores that straddle cache lines cost ~10% at the
    memory bound."""
    if not parallel:
        return max(n, 1)
    return max(4096, -(-n // 64 // 64) * 64)


@njit(cache=True)
def _unaligned_head(out):
    """Elements before ``out``'s first 64-byte boundary. The vector loop starts there:
    stores that straddle cache lines cost up to 20% at the memory bound (NumPy's large
    arrays start 16 bytes into a page). Kernels give the same bits in either loop."""
    return min(out.size, (-out.ctypes.data) % 64 // out.itemsize)


# Row-wise drivers take ``where``: None, or ``(mask, midx)`` for functions that take masks
# (registry ``takes_where``): their block kernels get it, midx cut to the block's rows.
def rows_forward(x, out, params, where):
    x, out = borrowed(x), borrowed(out)  # no reference counts on the row views
    for r in prange(x.shape[0]):
        prefer_wide_vectors()
        _forward(x[r], out[r], *params)


def rows_backward(grad, saved, out, params, where):
    grad, saved, out = borrowed(grad), borrowed(saved), borrowed(out)
    for r in prange(grad.shape[0]):
        prefer_wide_vectors()
        _backward(grad[r], saved[r], out[r], *params)


def blocks_forward(x, out, params, where):
    x, out = borrowed(x), borrowed(out)
    step = _rows_per_block(x.shape[0], _PARALLEL)
    for b in prange((x.shape[0] + step - 1) // step):
        prefer_wide_vectors()
        lo = b * step
        hi = min(lo + step, x.shape[0])
        if where is None:
            _forward(x[lo:hi], out[lo:hi], *params)
        else:
            _forward(x[lo:hi], out[lo:hi], *(params + ((where[0], where[1][lo:hi]),)))


def blocks_backward(grad, saved, out, params, where):
    grad, saved, out = borrowed(grad), borrowed(saved), borrowed(out)
    step = _rows_per_block(grad.shape[0], _PARALLEL)
    for b in prange((grad.shape[0] + step - 1) // step):
        prefer_wide_vectors()
        lo = b * step
        hi = min(lo + step, grad.shape[0])
        g, s, o = grad[lo:hi], saved[lo:hi], out[lo:hi]
        if where is None:
            _backward(g, s, o, *params)
        else:
            _backward(g, s, o, *(params + ((where[0], where[1][lo:hi]),)))


@njit(cache=True)
def _rows_per_block(rows, parallel):
    """Rows per call of a block kernel: all of them on one thread; else up to 64 blocks
    (work for every thread, whatever their number up to 16, and for load balancing), in
    multiples of 16 rows where there are enough (block kernels work on tiles of 16 short
    rows). The thread count is not read here: a function that reads it cannot be cached."""
    if not parallel:
        return max(rows, 1)
    step = max(1, -(-rows // 64))
    return step if step < 16 else -(-step // 16) * 16


# ------------------------------------------------------------------ per-channel drivers
# An array parameter (registry ``Param.axis``: prelu's weight, the fused bias) gives each
# element a value ``c[ch]`` by its index along one axis. The drivers see x as rows of
# channels, ``(rows, C)`` when that axis is the last (the loop over channels is the
# contiguous, vectorized one), else as ``(outer, C, inner)`` (the loop over inner is).
# The kernels take the value in the array parameter's place: ``_forward(x, v, *params)``,
# ``_backward(grad, saved, v, *params)``, and ``_share(grad, saved, v, grad_input)`` is
# an element's contribution to the parameter's gradient (for a bias, the kernels are
# wrappers of the function's own: see drivers/channel.py).
#
# The parameter's gradient is summed over the partition of ``channel.blocks`` (the same
# on every target, whatever the number of threads): see drivers/channel.py.
_channel_blocks = njit(cache=True)(channel.blocks)


def last_forward(x, c, out, params):
    x, c, out = borrowed(x), borrowed(c), borrowed(out)
    rows, n = x.shape
    step = _channel_blocks(rows, n, 1)[0]
    in_place = same_data(x, out)
    for b in prange((rows + step - 1) // step):
        prefer_wide_vectors()
        for r in range(b * step, min(rows, (b + 1) * step)):
            xr, orow = x[r], out[r]
            h = _unaligned_head(orow)  # see last_backward
            for j in range(h):
                orow[j] = _forward(xr[j], c[j], *params)
            xr, orow, cr = xr[h:], orow[h:], c[h:]
            if in_place:
                for j in range(orow.size):
                    orow[j] = _forward(orow[j], cr[j], *params)
            else:
                for j in range(orow.size):
                    orow[j] = _forward(xr[j], cr[j], *params)


def last_backward(grad, saved, c, out, params):
    grad, saved, c, out = borrowed(grad), borrowed(saved), borrowed(c), borrowed(out)
    rows, n = grad.shape
    step = _channel_blocks(rows, n, 1)[0]
    blocks = (rows + step - 1) // step
    partial = np.zeros((blocks, n), np.float64)
    in_place = same_data(grad, out)
    for b in prange(blocks):
        prefer_wide_vectors()
        p = partial[b]
        lo, hi = b * step, min(rows, (b + 1) * step)
        if _SPLIT_SUM and is_single(out):
            # A float64 sum in the backward's loop would make LLVM vectorize the backward
            # at float64's width too, half float32's (gelu's float32 bias backward took 2.2x
            # the plain backward). So the rows are computed in groups of four, then summed
            # from L1 in one pass over the group, which loads and stores each partial sum
            # once per four rows, not once per row (silu 1.32x -> 1.20x the plain backward,
            # celu 1.64x -> 1.35x). Each channel still adds its rows in order: the same bits.
            for r0 in range(lo, hi, 4):
                r1 = min(hi, r0 + 4)
                for r in range(r0, r1):
                    gr, sr, orow = grad[r], saved[r], out[r]
                    h = _unaligned_head(orow)  # aligned stores: see below
                    for j in range(h):
                        orow[j] = _backward(gr[j], sr[j], c[j], *params)
                    gr, sr, orow, cr = gr[h:], sr[h:], orow[h:], c[h:]
                    if in_place:
                        for j in range(orow.size):
                            orow[j] = _backward(orow[j], sr[j], cr[j], *params)
                    else:
                        for j in range(orow.size):
                            orow[j] = _backward(gr[j], sr[j], cr[j], *params)
                if r1 - r0 == 4:
                    o0, o1, o2, o3 = out[r0], out[r0 + 1], out[r0 + 2], out[r0 + 3]
                    for j in range(n):
                        p[j] = (((p[j] + float(o0[j])) + float(o1[j])) + float(o2[j])) + float(
                            o3[j]
                        )
                else:
                    for r in range(r0, r1):
                        orow = out[r]
                        for j in range(n):
                            p[j] += float(orow[j])
            continue
        for r in range(lo, hi):
            gr, sr, orow = grad[r], saved[r], out[r]
            # The vector loop stores whole cache lines (rows of 1000 float32 start 32
            # bytes into one every other row: 1.2x the time). Each channel's sum still
            # takes the rows in order: the same bits.
            h = _unaligned_head(orow)
            for j in range(h):
                d = _backward(gr[j], sr[j], c[j], *params)
                p[j] += _share(gr[j], sr[j], c[j], d)
                orow[j] = d
            gr, sr, orow, cr, pr = gr[h:], sr[h:], orow[h:], c[h:], p[h:]
            if in_place:
                for j in range(orow.size):
                    g = orow[j]
                    d = _backward(g, sr[j], cr[j], *params)
                    orow[j] = d
                    pr[j] += _share(g, sr[j], cr[j], d)
            else:
                for j in range(orow.size):
                    d = _backward(gr[j], sr[j], cr[j], *params)
                    orow[j] = d
                    pr[j] += _share(gr[j], sr[j], cr[j], d)
    total = np.zeros(n, np.float64)
    for b in range(blocks):
        total += partial[b]
    return total


def inner_forward(x, c, out, params):
    x, c, out = borrowed(x), borrowed(c), borrowed(out)
    outer, n, inner = x.shape
    chunks = _channel_blocks(outer, n, inner)[1]
    step = -(-inner // chunks)
    in_place = same_data(x, out)
    for u in prange(outer * n * chunks):
        prefer_wide_vectors()
        o = u // (n * chunks)
        j = u // chunks % n
        k = u % chunks
        v = c[j]
        lo, hi = k * step, min(inner, (k + 1) * step)
        xr, orow = x[o, j, lo:hi], out[o, j, lo:hi]
        h = _unaligned_head(orow)  # the vector loop stores whole cache lines
        for i in range(h):
            orow[i] = _forward(xr[i], v, *params)
        xr, orow = xr[h:], orow[h:]
        if in_place:
            for i in range(orow.size):
                orow[i] = _forward(orow[i], v, *params)
        else:
            for i in range(orow.size):
                orow[i] = _forward(xr[i], v, *params)


def inner_backward(grad, saved, c, out, params):
    grad, saved, c, out = borrowed(grad), borrowed(saved), borrowed(c), borrowed(out)
    outer, n, inner = grad.shape
    chunks = _channel_blocks(outer, n, inner)[1]
    step = -(-inner // chunks)
    lanes = channel.LANES
    partial = np.zeros((outer, n, chunks, lanes), np.float64)
    partial_lanes = np.empty((outer * n * chunks, lanes), np.float64)
    in_place = same_data(grad, out)
    for u in prange(outer * n * chunks):
        prefer_wide_vectors()
        o = u // (n * chunks)
        j = u // chunks % n
        k = u % chunks
        v = c[j]
        lo, hi = k * step, min(inner, (k + 1) * step)
        gr, sr, orow = grad[o, j, lo:hi], saved[o, j, lo:hi], out[o, j, lo:hi]
        p = partial[o, j, k]
        # Element i adds to lane i % lanes: a float64 sum that vectorizes (one lane per
        # vector lane), in an order fixed by the shape. The vector loop starts at out's
        # first cache line (h elements in): its lanes are p's rotated by h, each lane still
        # summed in the order of its elements, so the bits do not depend on the address.
        h = min(_unaligned_head(orow), lanes)
        for i in range(h):
            d = _backward(gr[i], sr[i], v, *params)
            p[i] += _share(gr[i], sr[i], v, d)
            orow[i] = d
        rotated = partial_lanes[u]
        for q in range(lanes):
            rotated[q] = p[(h + q) % lanes]
        m = orow.size - h
        full = max(m - m % lanes, 0)
        gb, sb, ob = gr[h:], sr[h:], orow[h:]
        if in_place:
            for r in range(0, full, lanes):
                for q in range(lanes):
                    g = ob[r + q]
                    d = _backward(g, sb[r + q], v, *params)
                    ob[r + q] = d
                    rotated[q] += _share(g, sb[r + q], v, d)
        else:
            for r in range(0, full, lanes):
                for q in range(lanes):
                    d = _backward(gb[r + q], sb[r + q], v, *params)
                    ob[r + q] = d
                    rotated[q] += _share(gb[r + q], sb[r + q], v, d)
        for i in range(full, m):
            d = _backward(gb[i], sb[i], v, *params)
            rotated[i - full] += _share(gb[i], sb[i], v, d)
            ob[i] = d
        for q in range(lanes):
            p[(h + q) % lanes] = rotated[q]
    total = np.zeros(n, np.float64)
    for o in range(outer):
        for j in range(n):
            for k in range(chunks):
                for q in range(lanes):
                    total[j] += partial[o, j, k, q]
    return total


# Halves (glu): x is C-contiguous (outer, 2, m), x[o, 0] and x[o, 1] the two halves of
# the o-th slice of the input along its axis (whatever the axis: the dispatch reshapes
# (outer, 2 * half, inner) as (outer, 2, half * inner), no copy); the forward result is
# (outer, m), the backward's (outer, 2, m). The loop runs over contiguous pieces of the
# m-long rows: whole rows on one thread; split into blocks for all threads, so that one
# long row (axis=0) is shared out too.
def halves_forward(x, out, params):
    x, out = borrowed(x), borrowed(out)
    step, pieces = _pieces(out.shape[1], out.size, _PARALLEL)
    for t in prange(out.shape[0] * pieces):
        prefer_wide_vectors()
        o, lo, hi = _piece(t, step, pieces, out.shape[1])
        a, b, y = x[o, 0][lo:hi], x[o, 1][lo:hi], out[o][lo:hi]
        for i in range(y.size):
            y[i] = _forward(a[i], b[i], *params)


def halves_backward(grad, x, out, params):
    grad, x, out = borrowed(grad), borrowed(x), borrowed(out)
    step, pieces = _pieces(grad.shape[1], grad.size, _PARALLEL)
    for t in prange(grad.shape[0] * pieces):
        prefer_wide_vectors()
        o, lo, hi = _piece(t, step, pieces, grad.shape[1])
        g, a, b = grad[o][lo:hi], x[o, 0][lo:hi], x[o, 1][lo:hi]
        da, db = out[o, 0][lo:hi], out[o, 1][lo:hi]
        for i in range(g.size):
            da[i], db[i] = _backward(g[i], a[i], b[i], *params)


# With common kernels (registry ``common_kernels``): blocks of _COMMON elements through
# ``_common``, or through the full kernel if ``_needs_full`` holds for any of its elements
# (an or-reduction: vectorized, and it leaves the block in L1). The reduction comes first:
# the backward's out may be x itself.
_common = _needs_full = None
_COMMON = 512


def halves_forward_common(x, out, params):
    x, out = borrowed(x), borrowed(out)
    step, pieces = _pieces(out.shape[1], out.size, _PARALLEL)
    for t in prange(out.shape[0] * pieces):
        prefer_wide_vectors()
        o, lo, hi = _piece(t, step, pieces, out.shape[1])
        a, b, y = x[o, 0], x[o, 1], out[o]
        for s in range(lo, hi, _COMMON):
            e = min(s + _COMMON, hi)
            ab, bb, yb = a[s:e], b[s:e], y[s:e]
            full = False
            for i in range(yb.size):
                full |= _needs_full(ab[i], bb[i], *params)
            if full:
                for i in range(yb.size):
                    yb[i] = _forward(ab[i], bb[i], *params)
            else:
                for i in range(yb.size):
                    yb[i] = _common(ab[i], bb[i], *params)


def halves_backward_common(grad, x, out, params):
    grad, x, out = borrowed(grad), borrowed(x), borrowed(out)
    step, pieces = _pieces(grad.shape[1], grad.size, _PARALLEL)
    for t in prange(grad.shape[0] * pieces):
        prefer_wide_vectors()
        o, lo, hi = _piece(t, step, pieces, grad.shape[1])
        gr, a, b, da, db = grad[o], x[o, 0], x[o, 1], out[o, 0], out[o, 1]
        for s in range(lo, hi, _COMMON):
            e = min(s + _COMMON, hi)
            gb, ab, bb, dab, dbb = gr[s:e], a[s:e], b[s:e], da[s:e], db[s:e]
            full = False
            for i in range(gb.size):
                full |= _needs_full(gb[i], ab[i], bb[i], *params)
            if full:
                for i in range(gb.size):
                    dab[i], dbb[i] = _backward(gb[i], ab[i], bb[i], *params)
            else:
                for i in range(gb.size):
                    dab[i], dbb[i] = _common(gb[i], ab[i], bb[i], *params)


@njit(cache=True)
def _pieces(m, size, parallel):
    """(elements per piece, pieces per row) of the halves drivers' m-long rows."""
    step = max(1, min(m, _elements_per_block(size, parallel)))
    return step, -(-m // step)


@njit(cache=True, inline="always")
def _piece(t, step, pieces, m):
    """(row, lo, hi) of the t-th piece."""
    o = t // pieces
    lo = (t - o * pieces) * step
    return o, lo, min(lo + step, m)


_TEMPLATES = {
    (ELEMENTWISE, "forward"): map_forward,
    (ELEMENTWISE, "backward"): map_backward,
    (ROWWISE, "forward"): rows_forward,
    (ROWWISE, "backward"): rows_backward,
    ("blocks", "forward"): blocks_forward,
    ("blocks", "backward"): blocks_backward,
    ("last", "forward"): last_forward,
    ("last", "backward"): last_backward,
    ("inner", "forward"): inner_forward,
    ("inner", "backward"): inner_backward,
    (HALVES, "forward"): halves_forward,
    (HALVES, "backward"): halves_backward,
    ("common", "forward"): halves_forward_common,
    ("common", "backward"): halves_backward_common,
}

# Sources the compiled kernels depend on (see source_fingerprint).
_KERNEL_SOURCES = (
    "kernels",
    "elementary.py",
    "codegen.py",
    "drivers/cpu.py",
    "drivers/channel.py",
)


_lock = threading.Lock()
_drivers: dict = {}


def compiled(activation, direction: str, parallel: bool, variant=None):
    """The driver running ``activation``'s ``direction`` kernel (for the choice ``variant``
    of its choice parameter, if it has one), one thread or all.

    Built on first use and memoised (Numba compiles it at its first call, per dtype,
    or loads it from the disk cache).
    """
    key = (activation.name, direction, parallel, variant)
    try:
        return _drivers[key]
    except KeyError:
        with _lock:  # two threads must not build (and compile) the same driver twice
            if key not in _drivers:
                _drivers[key] = _build(activation, direction, parallel, variant)
            return _drivers[key]


def template_of(activation, direction):
    """The key of ``_TEMPLATES`` whose driver runs ``activation``'s ``direction``: the drivers
    of one template call the same helpers."""
    i = 0 if direction == "forward" else 1
    if activation.kind == ROWWISE and activation.block_kernels[i] is not None:
        return "blocks", direction
    if activation.kind == HALVES and activation.common_kernels[i] is not None:
        return "common", direction
    return activation.kind, direction


def _build(activation, direction, parallel, variant):
    i = 0 if direction == "forward" else 1
    kind, _ = key = template_of(activation, direction)
    kernel = activation.kernel(direction, variant)
    kernel = activation.block_kernels[i] if kind == "blocks" else kernel
    common = activation.common_kernels[i] if kind == "common" else None
    template = _TEMPLATES[key]
    tag = activation.name if variant is None else f"{activation.name}_{variant}"
    name = f"{template.__name__}__{tag}__{'parallel' if parallel else 'serial'}"
    bound = dict(template.__globals__, _forward=kernel, _backward=kernel)
    bound["_PARALLEL"] = parallel
    if common is not None:
        bound["_common"], bound["_needs_full"] = common
    fn = types.FunctionType(template.__code__, bound, name)
    fn.__qualname__ = f"{name}__{source_fingerprint(*_KERNEL_SOURCES)}"
    return njit(cache=True, parallel=parallel, nogil=True, error_model="numpy")(fn)


def compiled_channel(activation, direction: str, parallel: bool, variant, layout: str, bias: bool):
    """The per-channel driver (``layout`` "last": ``(rows, C)`` views, "inner":
    ``(outer, C, inner)``) of ``activation``'s own array parameter or, with ``bias``, of
    its fused bias. Backward drivers return the parameter's gradient (float64)."""
    key = (activation.name, direction, parallel, variant, layout, bias)
    try:
        return _drivers[key]
    except KeyError:
        with _lock:
            if key not in _drivers:
                _drivers[key] = _build_channel(*key[1:], activation)
            return _drivers[key]


def _build_channel(direction, parallel, variant, layout, bias, activation):
    own, share, tag = channel.kernels(activation, direction, variant, bias)
    template = _TEMPLATES[layout, direction]
    name = f"{template.__name__}__{tag}__{'parallel' if parallel else 'serial'}"
    bound = dict(template.__globals__, _forward=own, _backward=own, _share=share)
    bound["_PARALLEL"] = parallel
    # A bias's backward with transcendental math on the input (not piecewise linear, not
    # from the output) sums apart: see last_backward (the sum there is grad_input's, a
    # bias's share).
    bound["_SPLIT_SUM"] = bias and not activation.exact and activation.saves == "input"
    fn = types.FunctionType(template.__code__, bound, name)
    fn.__qualname__ = f"{name}__{source_fingerprint(*_KERNEL_SOURCES)}"
    return njit(cache=True, parallel=parallel, nogil=True, error_model="numpy")(fn)
