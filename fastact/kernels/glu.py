"""Gated linear unit: ``glu(x, axis) = a * sigmoid(b)``, ``a, b`` the two halves of ``x``.

glu is the one function of kind ``HALVES``: its kernels take one element of each half,
``glu(a, b)`` and ``glu_backward(grad, a, b) -> (da, db)``, and the drivers pair the
halves up (``drivers/cpu.py``'s ``halves_*`` templates). Its result is half the input's
length along ``axis``, so it has no in-place forms.

Numerics: the sigmoid is the logistic family's, from e = exp(-|b|) (no overflow). float32
computes in float32 as ``silu`` does, float64 with ``exp_scaled`` (exp as ``e * scale``,
normal where the result is subnormal). In the far negative tail, where sigmoid(b) = exp(b)
underflows though ``a * exp(b)`` need not (a large), ``a`` is scaled down and ``b``
shifted up by as many ln 2 (see ``_TAIL32``), so the product is rounded once into the
subnormals. ``a = ±inf`` gives ±inf for every ``b > -inf``. The backward pass writes
``1 - sigmoid(b)`` as ``sigmoid(-b)``, so ``db = grad * a * e / (1 + e)**2`` with no
cancellation; float32 computes it in float64 and rounds once (``grad * a`` in float32
could overflow where the result does not).
"""

import math

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..registry import HALVES, Activation, register
from .logistic import _LN2_HI, _LN2_LO, _sigmoid_ld, exp_scaled

__all__ = ["glu", "glu_backward"]


# The far negative tail, where sigmoid(b) = exp(b) underflows though a * exp(b) need not:
# a * exp(b) = (a 2**-k) exp(b + k ln 2), one exp for every element (the loops vectorize,
# so both sides of a select are computed). float32: b < -87, b + 88.75 exactly, and
# exp(-88.75) = C32 2**-128; float64: b < -700, k = 1000 with ln 2 in two parts.
_TAIL32 = -87.0
_SHIFT32 = 88.75
_C32 = 0.9732046723365784  # exp(128 ln 2 - 88.75) in float32
_TAIL64 = -700.0
_SHIFT64_HI = 1000.0 * _LN2_HI  # exact: _LN2_HI has 33 significant bits
_SHIFT64_LO = 1000.0 * _LN2_LO


@kernel
def glu(a, b):
    """a * sigmoid(b), for one element of each half."""
    inline_here()
    T = type(a)
    if T(0.1) != 0.1:  # float32 (folded at compile time): its own math, twice the lanes
        tail = b < T(_TAIL32)
        e = em.exp(-abs(b) + (T(_SHIFT32) if tail else T(0)))
        # a e / (1 + e), e = exp(-|b|): within 2.6 ULP; in the tail (a 2**-64 C) e 2**-64,
        # rounded once into the subnormals by the last product.
        u = (a * T(2.0**-64)) * T(_C32) if tail else a
        y = (u * (e if b < T(0) else T(1))) / (T(1) + (T(0) if tail else e))
        y = y * (T(2.0**-64) if tail else T(1))
    else:
        tail = b < _TAIL64
        e, scale = exp_scaled(
            -abs(b) + (_SHIFT64_HI if tail else 0.0), _SHIFT64_LO if tail else 0.0
        )
        u = a * (2.0**-1000 if tail else 1.0)  # exact where the result is not 0
        neg = b < 0.0
        y = T(
            (u * (e if neg else 1.0))
            / (1.0 + (0.0 if tail else e * scale))
            * (scale if neg else 1.0)
        )
    # a = ±inf: ±inf wherever sigmoid(b) > 0 (b > -inf), though it underflows (inf * 0).
    return a if (abs(a) == T(math.inf) and b > T(-math.inf)) else y


@kernel
def glu_backward(grad, a, b):
    """(d/da, d/db) of ``grad * glu(a, b)``: grad sigmoid(b), grad a sigmoid(b) sigmoid(-b)."""
    inline_here()
    T = type(grad)
    if T(0.1) != 0.1:  # float32: in float32, twice the lanes
        return _glu_backward32(grad, a, b)
    g, u, v = np.float64(grad), np.float64(a), np.float64(b)
    neg = v < 0.0
    # db is symmetric in b: both tails as glu's negative one, exp(-|b| + 1000 ln 2) times
    # 2**-1000 on the larger of grad and a (the other one's below 2**-22 gives 0 anyway).
    tail = abs(v) > -_TAIL64
    e, scale = exp_scaled(-abs(v) + (_SHIFT64_HI if tail else 0.0), _SHIFT64_LO if tail else 0.0)
    e1 = 0.0 if tail else e * scale  # (1 + e)**2 is 1 in the tails
    k = 2.0**-1000 if tail else 1.0
    big_g = abs(g) >= abs(u)
    # sigmoid(b) sigmoid(-b) = e / (1 + e)**2 (symmetric in b), (1 + e)**2 rounded once.
    d = em.fma(e1, 2.0 + e1, 1.0)
    da = ((g * (k if neg else 1.0)) * (e if neg else 1.0)) / (1.0 + e1) * (scale if neg else 1.0)
    gk, uk = g * (k if big_g else 1.0), u * (1.0 if big_g else k)
    # grad a first (it underflows only where the result does), unless it overflows.
    ga = gk * uk
    db = ((ga if abs(ga) < math.inf else gk) * (e / d)) * (1.0 if abs(ga) < math.inf else uk)
    db = db * scale
    # Infinite grad (or a): infinite where sigmoid(b) (1 - sigmoid(b)) > 0, as in glu.
    finite_b = abs(v) < math.inf
    da = g if (abs(g) == math.inf and v > -math.inf) else da
    ga = g * u
    inf_ga = abs(ga) == math.inf and (abs(g) == math.inf or abs(u) == math.inf)
    db = ga if (inf_ga and finite_b) else db
    return T(da), T(db)


@kernel
def _glu_backward32(g, a, b):
    """float32 glu_backward, its exp in float32. e = exp(-|b|); beyond |b| > 87 (e
    subnormal) as glu's tail, e = exp(-|b| + 88.75) and the products scaled back."""
    inline_here()
    T = type(g)
    neg = b < T(0)
    tail = abs(b) > T(-_TAIL32)
    e = em.exp(-abs(b) + (T(_SHIFT32) if tail else T(0)))
    e1 = T(0) if tail else e  # (1 + e)**2 is 1 in the tails
    k = T(2.0**-64 * _C32) if tail else T(1)
    post = T(2.0**-64) if tail else T(1)
    d = em.fma(e1, T(2) + e1, T(1))  # (1 + e)**2 rounded once
    da = ((g * (k if neg else T(1))) * (e if neg else T(1))) / (T(1) + e1)
    da = da * (post if neg else T(1))
    # grad a e / d in float64, rounded once: grad a may overflow float32, and scaling it
    # into range would make subnormals of ordinary values in the lanes that do not need it
    # (LLVM computes both sides of a select): 20x slower.
    sd = np.float64(e / d) * (2.0**-128 * _C32 if tail else 1.0)
    db = T((np.float64(g) * np.float64(a)) * sd)
    ga = g * a
    # Infinite grad (or a): infinite where sigmoid(b) (1 - sigmoid(b)) > 0.
    da = g if ((abs(g) == T(math.inf)) & (b > T(-math.inf))) else da
    inf_ga = (abs(ga) == T(math.inf)) & ((abs(g) == T(math.inf)) | (abs(a) == T(math.inf)))
    db = ga if (inf_ga & (abs(b) < T(math.inf))) else db
    return da, db


# --------------------------------------------------------------------------- common case
# The same formulas without the tails' scaling and the infinities' care, exact where the
# predicates below are false: the CPU drivers run them over blocks and rerun a block with
# the full kernels above where a predicate holds (registry ``common_kernels``). They cost
# half as much: the tails' selects were ~40% of the forward's vector loop.
@kernel
def glu_common(a, b):
    """glu(a, b) where ``glu_needs_full(a, b)`` is false."""
    inline_here()
    T = type(a)
    e = em.exp(-abs(b))
    return (a * (e if b < T(0) else T(1))) / (T(1) + e)


@kernel
def glu_needs_full(a, b):
    """Whether ``glu_common(a, b)`` may differ from ``glu(a, b)``: the far negative tail
    (-inf included; ``a = ±inf`` matters only there)."""
    inline_here()
    T = type(a)
    return b < (T(_TAIL32) if T(0.1) != 0.1 else T(_TAIL64))


@kernel
def glu_backward_common(grad, a, b):
    """glu_backward(grad, a, b) where ``glu_backward_needs_full`` is false."""
    inline_here()
    T = type(grad)
    e = em.exp(-abs(b))
    d = em.fma(e, T(2) + e, T(1))
    da = (grad * (e if b < T(0) else T(1))) / (T(1) + e)
    return da, (grad * a) * (e / d)


@kernel
def glu_backward_needs_full(grad, a, b):
    """Both tails, and grad * a beyond the dtype's range (infinities included)."""
    inline_here()
    T = type(grad)
    tail = T(-_TAIL32) if T(0.1) != 0.1 else T(-_TAIL64)
    return (abs(b) > tail) | (abs(grad * a) == T(math.inf))


# --------------------------------------------------------------------------- references
def _halves(x, axis):
    n = x.shape[axis]
    return np.take(x, np.arange(n // 2), axis), np.take(x, np.arange(n // 2, n), axis)


def _glu_ref(x, axis=-1):
    a, b = _halves(np.asarray(x, np.float64), axis)
    s, _, _ = _sigmoid_ld(b)
    with np.errstate(invalid="ignore"):
        y = (a.astype(np.longdouble) * s).astype(np.float64)
    # inf * sigmoid(b) = inf for b > -inf, where even long double's sigmoid underflows.
    return np.where(np.isinf(a) & (b > -np.inf), a, y)


def _glu_ref_backward(g, x, axis=-1):
    a, b = _halves(np.asarray(x, np.float64), axis)
    s, c, _ = _sigmoid_ld(b)
    gl, al = np.asarray(g, np.float64).astype(np.longdouble), a.astype(np.longdouble)
    with np.errstate(invalid="ignore", over="ignore"):
        da = (gl * s).astype(np.float64)
        db = (gl * s * c * al).astype(np.float64)
        g, ga = np.asarray(g, np.float64), gl * al
        da = np.where(np.isinf(g) & (b > -np.inf), g, da)
        inf_ga = np.isinf(ga) & (np.isinf(g) | np.isinf(a)) & np.isfinite(b)
        db = np.where(inf_ga, ga.astype(np.float64), db)
    return np.concatenate([da, db], axis)


register(
    Activation(
        name="glu",
        kind=HALVES,
        forward_kernel=glu,
        backward_kernel=glu_backward,
        saves="input",
        reference=_glu_ref,
        reference_backward=_glu_ref_backward,
        in_place=False,
        common_kernels=(
            (glu_common, glu_needs_full),
            (glu_backward_common, glu_backward_needs_full),
        ),
        summary="Gated linear unit, a * sigmoid(b) for the halves a, b of x along axis.",
    )
)
