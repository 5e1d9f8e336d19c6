"""CUDA kernel templates and device helpers, compiled per activation by ``compiled()``.

Elementwise templates are grid-stride loops calling the activation's scalar kernel
(``_forward`` / ``_backward``) on values cast to the compute type ``_T`` (float16 loads
are widened to float32 in registers; the store casts back to the destination's dtype).
There is a 1-D contiguous fast path and an N-d strided path (``.flat`` indexing, any
strides, no copy).

Row templates work on 3-D views ``(outer, n, inner)``: the row ``(o, i)`` is
``x[o, :, i]``, so ``axis`` other than the last is a strided row and needs no transpose.
The softmax family is generic over two constants of its members: ``_SIGN`` (softmin is
softmax of ``-x``) and ``_LOG`` (log_softmax writes ``t - max - log(sum)``). Three
forward algorithms: one warp per row (short rows), one block per row with a max pass and
a sum pass (medium rows), one block per row with a single-pass online max/sum
(Milakov & Gimelshein 2018) for long rows. Backward is one reduction and one write pass
(a warp or a block per row). Sums are accumulated in float64, as on the CPU.

Why templates re-bound per activation rather than closures: see ``drivers/cpu.py``
(closures over dispatchers never hit the disk cache).
"""

import math
import threading
import types

from numba import cuda
from numba.cuda import config, float64

from . import source_fingerprint

# Rebound per activation by compiled(); these placeholders are never called.
_forward = _backward = _share = _T = None
_SIGN = 1
_LOG = False

_SIM = bool(config.ENABLE_CUDASIM)
_FULL = 0xFFFFFFFF
_NEG_INF = -math.inf

# ------------------------------------------------------------------ warp and block helpers
if _SIM:

    @cuda.jit(device=True)
    def _shfl(v, step, slot):
        # The simulator has no warp shuffles: exchange through shared memory, one mailbox
        # per (slot, step), so a mailbox is rewritten only after a later barrier that
        # every reader of its previous value has passed. Callers are block-uniform.
        box = cuda.shared.array((2, 5, 1024), float64)
        t = cuda.threadIdx.x
        box[slot, step, t] = v
        cuda.syncthreads()
        return box[slot, step, t ^ (16 >> step)]

else:

    @cuda.jit(device=True)
    def _shfl(v, step, slot):
        return cuda.shfl_xor_sync(_FULL, v, 16 >> step)


@cuda.jit(device=True)
def _warp_max(v):
    for step in range(5):
        o = _shfl(v, step, 0)
        v = o if o > v else v
    return v


@cuda.jit(device=True)
def _warp_sum(v):
    for step in range(5):
        v += _shfl(v, step, 0)
    return v


@cuda.jit(device=True)
def _merge(m1, s1, m2, s2):
    """Combine two online (max, sum of exp(t - max)) pairs; an empty pair has s == 0."""
    m = m2 if m2 > m1 else m1
    a = s1 * math.exp(m1 - m) if s1 != 0 else s1
    b = s2 * math.exp(m2 - m) if s2 != 0 else s2
    return m, a + b


@cuda.jit(device=True)
def _warp_online(m, s):
    for step in range(5):
        m2 = _shfl(m, step, 0)
        s2 = _shfl(s, step, 1)
        m, s = _merge(m, s, type(m)(m2), s2)
    return m, s


@cuda.jit(device=True)
def _warp_partials(v, fill):
    """Warp i's reduced value ``v`` in lane i of every warp (``fill`` beyond the block's
    warps). Every warp then reduces the partials itself, so no broadcast step is needed;
    the first barrier keeps a previous reduction's readers ahead of this one's writers."""
    part = cuda.shared.array(32, float64)
    lane = cuda.threadIdx.x % 32
    cuda.syncthreads()
    if lane == 0:
        part[cuda.threadIdx.x // 32] = v
    cuda.syncthreads()
    return part[lane] if lane < cuda.blockDim.x // 32 else fill


@cuda.jit(device=True)
def _block_max(v):
    return type(v)(_warp_max(_warp_partials(_warp_max(v), _NEG_INF)))


@cuda.jit(device=True)
def _block_sum(v):
    return _warp_sum(_warp_partials(_warp_sum(v), 0.0))


@cuda.jit(device=True)
def _block_online(m, s):
    pm = cuda.shared.array(32, float64)
    ps = cuda.shared.array(32, float64)
    lane = cuda.threadIdx.x % 32
    m, s = _warp_online(m, s)
    cuda.syncthreads()
    if lane == 0:
        pm[cuda.threadIdx.x // 32] = m
        ps[cuda.threadIdx.x // 32] = s
    cuda.syncthreads()
    m2 = _NEG_INF
    s2 = 0.0
    if lane < cuda.blockDim.x // 32:
        m2 = pm[lane]
        s2 = ps[lane]
    m3, s3 = _warp_online(type(m)(m2), s2)
    return m3, s3


@cuda.jit(device=True)
def _exp_shifted(a, shift):
    """exp(a - shift), corrected by the rounding error of the difference (as on the CPU)."""
    d = a - shift
    bv = d - a
    err = (a - (d - bv)) + (-shift - bv)
    if err != err:  # inf - inf: no correction needed
        err = type(d)(0)
    e = math.exp(d)
    return e + e * err


@cuda.jit(device=True)
def _online_add(m, s, t):
    """Fold one value into a running (max, sum of exp(t - max))."""
    if t > m:
        # t - t is NaN for t = inf, so a row holding +inf gives NaN, as in PyTorch.
        s = s * math.exp(m - t) + (t - t + type(t)(1))
        m = t
    elif t != _NEG_INF:  # -inf adds nothing; were it this thread's max, exp(-inf + inf) = NaN
        s += math.exp(t - m)
    return m, s


# ------------------------------------------------------------------ masks (where=)
# ``mask`` is None, or the mask's distinct rows (2-D) with ``midx`` the index of each
# row's mask row (see validation.mask_rows); None compiles the checks away.
@cuda.jit(device=True)
def _kept(r, j, mask, midx):
    if mask is None:
        return True
    return mask[midx[r], j]


@cuda.jit(device=True)
def _t(t, r, j, mask, midx):
    """A masked element is -inf: nothing in the row's max and sum, 0 (-inf) out."""
    return t if _kept(r, j, mask, midx) else type(t)(_NEG_INF)


@cuda.jit(device=True)
def _shift(m, mask):
    """A masked row with nothing but -inf shifts by 0 (zeros out, not NaN), as on the CPU."""
    if mask is None:
        return m
    return m if m != _NEG_INF else type(m)(0)


# ------------------------------------------------------------------ elementwise templates
def map_forward(x, out, params):
    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[k] = _forward(_T(x[k]), *params)


def map_backward(grad, saved, out, params):
    for k in range(cuda.grid(1), grad.size, cuda.gridsize(1)):
        out[k] = _backward(_T(grad[k]), _T(saved[k]), *params)


def map_forward_nd(x, out, params):
    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out.flat[k] = _forward(_T(x.flat[k]), *params)


def map_backward_nd(grad, saved, out, params):
    for k in range(cuda.grid(1), grad.size, cuda.gridsize(1)):
        out.flat[k] = _backward(_T(grad.flat[k]), _T(saved.flat[k]), *params)


# Halves (glu): x C-contiguous (outer, 2, m), as on the CPU; the result (outer, m)
# (forward) or (outer, 2, m) (backward).
def halves_forward(x, out, params):
    m = out.shape[1]
    for k in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        o = k // m
        j = k - o * m
        out[o, j] = _forward(_T(x[o, 0, j]), _T(x[o, 1, j]), *params)


def halves_backward(grad, x, out, params):
    m = grad.shape[1]
    for k in range(cuda.grid(1), grad.size, cuda.gridsize(1)):
        o = k // m
        j = k - o * m
        da, db = _backward(_T(grad[o, j]), _T(x[o, 0, j]), _T(x[o, 1, j]), *params)
        out[o, 0, j] = da
        out[o, 1, j] = db


def copy_nd(x, out):
    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out.flat[k] = x.flat[k]


# ------------------------------------------------------------------ per-channel templates
# Per-channel values (drivers/channel.py): ``c[j]`` for the elements of channel j, x seen as
# (rows, C) or (outer, C, inner). The backward's parameter gradient is reduced over the
# CPU's partition, in its order: one thread per (block, channel) of (rows, C) views (the
# block's rows in order; adjacent threads read adjacent channels), one per (row, chunk)
# of 3-D views, each writing its float64 partial; then one thread per channel adds the
# partials in block order. The same per-element values give the CPU's bits.
def channel_last_forward(x, c, out, params):
    n = x.shape[1]
    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        r = k // n
        j = k % n
        out[r, j] = _forward(_T(x[r, j]), _T(c[j]), *params)


def channel_inner_forward(x, c, out, params):
    n = x.shape[1]
    inner = x.shape[2]
    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        o = k // (n * inner)
        j = k // inner % n
        i = k % inner
        out[o, j, i] = _forward(_T(x[o, j, i]), _T(c[j]), *params)


def channel_last_backward(grad, saved, c, out, partial, step, params):
    rows = grad.shape[0]
    n = grad.shape[1]
    for u in range(cuda.grid(1), partial.size, cuda.gridsize(1)):
        b = u // n
        j = u % n
        v = _T(c[j])
        acc = float64(0.0)
        for r in range(b * step, min(rows, (b + 1) * step)):
            g = _T(grad[r, j])
            s = _T(saved[r, j])
            d = _backward(g, s, v, *params)
            out[r, j] = d
            acc += float64(_share(g, s, v, d))
        partial[b, j] = acc


def channel_inner_backward(grad, saved, c, out, partial, step, params):
    # partial: (outer, C, chunks, LANES); element i of a chunk adds to lane i % LANES,
    # as on the CPU (where the lanes let the sum vectorize).
    n = grad.shape[1]
    inner = grad.shape[2]
    chunks = partial.shape[2]
    lanes = partial.shape[3]
    for u in range(cuda.grid(1), _chunk_units(partial), cuda.gridsize(1)):
        o = u // (n * chunks)
        j = u // chunks % n
        k = u % chunks
        v = _T(c[j])
        for q in range(lanes):
            partial[o, j, k, q] = 0.0
        lo = k * step
        for i in range(lo, min(inner, lo + step)):
            g = _T(grad[o, j, i])
            s = _T(saved[o, j, i])
            d = _backward(g, s, v, *params)
            out[o, j, i] = d
            q = (i - lo) % lanes
            partial[o, j, k, q] += float64(_share(g, s, v, d))


@cuda.jit(device=True)
def _chunk_units(partial):
    return partial.shape[0] * partial.shape[1] * partial.shape[2]


def channel_total(partial, total):
    """total[j] = the partials of channel j in block order: partial is (blocks, C) or
    (outer, C, chunks, lanes), seen as 3-D (outer, C, chunks * lanes) by the caller."""
    n = partial.shape[1]
    for j in range(cuda.grid(1), n, cuda.gridsize(1)):
        acc = float64(0.0)
        for o in range(partial.shape[0]):
            for k in range(partial.shape[2]):
                acc += partial[o, j, k]
        total[j] = acc


# ------------------------------------------------------------------ row templates
# Row loops are block-uniform (warp kernels) or block-wide (block kernels) so that every
# thread reaches every barrier and shuffle; `valid` masks the work instead of `return`.
def rows_forward_warp(x, out, mask, midx):
    n = x.shape[1]
    inner = x.shape[2]
    rows = x.shape[0] * inner
    lane = cuda.threadIdx.x % 32
    per_block = cuda.blockDim.x // 32
    sign = _T(_SIGN)
    for base in range(cuda.blockIdx.x * per_block, rows, cuda.gridDim.x * per_block):
        r = base + cuda.threadIdx.x // 32
        valid = r < rows
        o = r // inner
        i = r % inner
        m = _T(_NEG_INF)
        if valid:
            for j in range(lane, n, 32):
                t = _t(sign * _T(x[o, j, i]), r, j, mask, midx)
                m = t if t > m else m
        m = _shift(_T(_warp_max(m)), mask)
        s = c = 0.0
        if valid:
            for j in range(lane, n, 32):
                s, c = _row_add(s, c, _exp_shifted(_t(sign * _T(x[o, j, i]), r, j, mask, midx), m))
        s = _warp_sum(s)
        if _LOG:
            c = _warp_sum(c)
        if valid:
            for j in range(lane, n, 32):
                out[o, j, i] = _row_value(_t(sign * _T(x[o, j, i]), r, j, mask, midx), m, s, c)


def rows_forward_block(x, out, mask, midx):
    n = x.shape[1]
    inner = x.shape[2]
    sign = _T(_SIGN)
    for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
        o = r // inner
        i = r % inner
        m = _T(_NEG_INF)
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            t = _t(sign * _T(x[o, j, i]), r, j, mask, midx)
            m = t if t > m else m
        m = _shift(_block_max(m), mask)
        s = c = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            s, c = _row_add(s, c, _exp_shifted(_t(sign * _T(x[o, j, i]), r, j, mask, midx), m))
        s = _block_sum(s)
        if _LOG:
            c = _block_sum(c)
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            out[o, j, i] = _row_value(_t(sign * _T(x[o, j, i]), r, j, mask, midx), m, s, c)


def rows_forward_online(x, out, mask, midx):
    n = x.shape[1]
    inner = x.shape[2]
    sign = _T(_SIGN)
    for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
        o = r // inner
        i = r % inner
        m = _T(_NEG_INF)
        s = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            m, s = _online_add(m, s, _t(sign * _T(x[o, j, i]), r, j, mask, midx))
        m, s = _block_online(m, s)
        m = _shift(m, mask)  # s is 0 for a row with nothing unmasked: nothing to rescale
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            # (The online sum rescales as the max moves: its 1s are not counted apart.)
            out[o, j, i] = _row_value(_t(sign * _T(x[o, j, i]), r, j, mask, midx), m, s, 0.0)


def rows_backward_warp(grad, saved, out, mask, midx):
    n = grad.shape[1]
    inner = grad.shape[2]
    rows = grad.shape[0] * inner
    lane = cuda.threadIdx.x % 32
    per_block = cuda.blockDim.x // 32
    for base in range(cuda.blockIdx.x * per_block, rows, cuda.gridDim.x * per_block):
        r = base + cuda.threadIdx.x // 32
        valid = r < rows
        o = r // inner
        i = r % inner
        d = 0.0
        if valid:
            for j in range(lane, n, 32):
                if _kept(r, j, mask, midx):
                    d += _row_dot_term(float64(grad[o, j, i]), float64(saved[o, j, i]))
        d = _warp_sum(d)
        if valid:
            for j in range(lane, n, 32):
                g = _row_grad(float64(grad[o, j, i]), float64(saved[o, j, i]), d)
                out[o, j, i] = g if _kept(r, j, mask, midx) else 0.0


def rows_backward_block(grad, saved, out, mask, midx):
    n = grad.shape[1]
    inner = grad.shape[2]
    for r in range(cuda.blockIdx.x, grad.shape[0] * inner, cuda.gridDim.x):
        o = r // inner
        i = r % inner
        d = 0.0
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            if _kept(r, j, mask, midx):
                d += _row_dot_term(float64(grad[o, j, i]), float64(saved[o, j, i]))
        d = _block_sum(d)
        for j in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            g = _row_grad(float64(grad[o, j, i]), float64(saved[o, j, i]), d)
            out[o, j, i] = g if _kept(r, j, mask, midx) else 0.0


# The per-member pieces, specialised by the _LOG / _SIGN constants (pruned at compile
# time). They are re-bound with the templates, so they see the same constants.
def _row_add(s, c, e):
    """Add one exp to the row's sum: log_softmax counts the 1s (the max's) in c, apart
    from the rest in s, as the CPU does, so that its dominant element, -log1p(rest), keeps
    the rest's relative accuracy (added to 1, the tiny exps would be lost)."""
    if _LOG and e == 1:
        return s, c + 1.0
    return s + e, c


def _row_value(t, m, s, c):
    # s + c is 0 only in a row with nothing unmasked (t = -inf everywhere, m = 0).
    if _LOG:
        return (float64(t) - float64(m)) - (math.log1p((c - 1.0) + s) if s + c != 0 else 0.0)
    return _exp_shifted(t, m) * (1.0 / s if s != 0 else 0.0)


def _row_dot_term(g, y):
    if _LOG:
        return g
    return g * y


def _row_grad(g, y, d):
    if _LOG:
        return g - math.exp(y) * d
    return float64(_SIGN) * (y * (g - d))


TEMPLATES = {
    "map_forward": map_forward,
    "map_backward": map_backward,
    "map_forward_nd": map_forward_nd,
    "map_backward_nd": map_backward_nd,
    "halves_forward": halves_forward,
    "halves_backward": halves_backward,
    "copy_nd": copy_nd,
    "channel_last_forward": channel_last_forward,
    "channel_inner_forward": channel_inner_forward,
    "channel_last_backward": channel_last_backward,
    "channel_inner_backward": channel_inner_backward,
    "channel_total": channel_total,
    "rows_forward_warp": rows_forward_warp,
    "rows_forward_block": rows_forward_block,
    "rows_forward_online": rows_forward_online,
    "rows_backward_warp": rows_backward_warp,
    "rows_backward_block": rows_backward_block,
}

# Sources the compiled kernels depend on (see source_fingerprint).
_KERNEL_SOURCES = (
    "kernels",
    "elementary.py",
    "codegen.py",
    "drivers/cuda_kernels.py",
    "drivers/cuda_math.py",
    "drivers/channel.py",
)


_lock = threading.Lock()
_kernels: dict = {}


def compiled(template: str, tag: str, compute, **bind):
    """``template`` as a ``cuda.jit`` kernel with ``bind`` as its globals, memoised by tag.

    ``tag`` names what ``bind`` holds (activation, direction, family constants) and,
    with the compute type and a hash of the kernel sources, becomes the kernel's unique
    qualname: its disk-cache file name (Numba does not hash globals into the cache key).
    """
    key = (template, tag, compute)
    try:
        return _kernels[key]
    except KeyError:
        with _lock:
            if key not in _kernels:
                _kernels[key] = _build(template, tag, compute, bind)
            return _kernels[key]


def _rebind(fn, glb, name):
    new = types.FunctionType(fn.__code__, glb, name)
    new.__qualname__ = f"{name}__{source_fingerprint(*_KERNEL_SOURCES)}"
    return new


def _build(template, tag, compute, bind):
    glb = dict(globals(), _T=compute, **bind)
    name = f"{template}__{tag}__{compute}"
    if template.startswith("rows_"):
        # The per-member pieces must see this kernel's constants: re-bind them into glb
        # as device functions of their own (distinct objects per member).
        for piece in (_row_add, _row_value, _row_dot_term, _row_grad):
            glb[piece.__name__] = cuda.jit(device=True)(
                _rebind(piece, glb, f"{piece.__name__}__{tag}")
            )
    return cuda.jit(cache=not _SIM)(_rebind(TEMPLATES[template], glb, name))
