"""Gated linear unit: ``glu(x, axis) = a * sigmoid(b)``, ``a, b`` the two halves of ``x``.

glu is the one function of kind ``HALVES``: its kernels take one element of each half,
``glu(a, b)`` and ``glu_backward(grad, a, b) -> (da, db)``, and the drivers pair the
halves up (``drivers/cpu.py``'s ``halves_*`` templates). Its result is half the input's
length along ``axis``, so it has no in-place forms.

Numerics: the sigmoid is the logistic family's, from e = exp(-|b|) (no overflow,
subnormal results kept). float32 computes in float32 as ``silu`` does, with its far tail
(b < -87, where e is subnormal) scaled by 2**64 so that the product is rounded once into
the subnormals; float64 through ``gated`` (sigmoid as ``s * scale``, the product rounded
once, then scaled). The backward pass writes ``1 - sigmoid(b)`` as ``sigmoid(-b)``, so
``db = grad * a * e / (1 + e)**2`` with no cancellation; float32 computes it in float64
and rounds once (``grad * a`` in float32 could overflow where the result does not).
"""

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..registry import HALVES, Activation, register
from .logistic import _SILU32_C, _sigmoid_ld, exp_scaled, gated

__all__ = ["glu", "glu_backward"]


@kernel
def glu(a, b):
    """a * sigmoid(b), for one element of each half."""
    inline_here()
    T = type(a)
    if T(0.1) != 0.1:  # float32 (folded at compile time): its own math, twice the lanes
        # a e / (1 + e) within 2.6 ULP; below -87 (e subnormal) e = exp(b + 44.375) 2**-64 / C
        # as in silu, and (a C) e is rounded once by the scaling into the subnormals.
        tail = b < T(-87)
        e = em.exp(-abs(b) + (T(44.375) if tail else T(0)))
        y = (a * (e if b < T(0) else T(1))) / (T(1) + e)
        return y if not tail else ((a * T(_SILU32_C)) * e) * T(2.0**-64)
    s, scale = gated(np.float64(b), 0.0)
    return T((np.float64(a) * s) * scale)


@kernel
def glu_backward(grad, a, b):
    """(d/da, d/db) of ``grad * glu(a, b)``: grad sigmoid(b), grad a sigmoid(b) sigmoid(-b)."""
    inline_here()
    T = type(grad)
    g, u, v = np.float64(grad), np.float64(a), np.float64(b)
    neg = v < 0.0
    e, scale = exp_scaled(-abs(v), 0.0)  # exp(-|b|) = e * scale
    e1 = e * scale
    # (1 + e)**2 rounded once; sigmoid(b) sigmoid(-b) = e / (1 + e)**2 (symmetric in b).
    d = em.fma(e1, 2.0 + e1, 1.0)
    da = (g * (e if neg else 1.0)) / (1.0 + e1) * (scale if neg else 1.0)
    db = ((g * (e / d)) * u) * scale
    return T(da), T(db)


# --------------------------------------------------------------------------- references
def _halves(x, axis):
    n = x.shape[axis]
    return np.take(x, np.arange(n // 2), axis), np.take(x, np.arange(n // 2, n), axis)


def _glu_ref(x, axis=-1):
    a, b = _halves(np.asarray(x, np.float64), axis)
    s, _, _ = _sigmoid_ld(b)
    with np.errstate(invalid="ignore"):
        return (a.astype(np.longdouble) * s).astype(np.float64)


def _glu_ref_backward(g, x, axis=-1):
    a, b = _halves(np.asarray(x, np.float64), axis)
    s, c, _ = _sigmoid_ld(b)
    gl, al = np.asarray(g, np.float64).astype(np.longdouble), a.astype(np.longdouble)
    with np.errstate(invalid="ignore", over="ignore"):
        da = (gl * s).astype(np.float64)
        db = (gl * s * c * al).astype(np.float64)
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
        summary="Gated linear unit, a * sigmoid(b) for the halves a, b of x along axis.",
    )
)
