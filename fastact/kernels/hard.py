"""Hard functions: piecewise-linear (or -quadratic) stand-ins for sigmoid, swish and tanh.

``hardsigmoid``, ``hardtanh`` and ``relu6`` are piecewise-linear and correctly rounded;
``hardswish`` is quadratic on (-3, 3), rounded as PyTorch rounds it. Every branch is a
select (NaN-safe: a comparison with NaN is false, so NaN flows to the formula), and each
derivative at a kink is the one ATen's backward op returns.
"""

import math

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel, unfolded
from ..registry import ELEMENTWISE, Activation, Param, register

__all__ = [
    "hardsigmoid",
    "hardsigmoid_backward",
    "hardswish",
    "hardswish_backward",
    "hardtanh",
    "hardtanh_backward",
    "relu6",
    "relu6_backward",
]


# --------------------------------------------------------------------------- hardsigmoid
@kernel
def _plus3_div6(x):
    """(x + 3) / 6, correctly rounded: the sum's rounding error (TwoSum) and the quotient's
    (an exact FMA remainder) go into one correction. PyTorch rounds twice."""
    inline_here()
    T = type(x)
    s = x + T(3)
    bv = s - x
    e = (x - (s - bv)) + (T(3) - bv)
    q = s / T(6)
    r = em.fma(-q, T(6), s)
    return q + (r + e) / T(6)


@kernel
def hardsigmoid(x):
    """relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, (x + 3) / 6 between."""
    inline_here()
    T = type(x)
    y = _plus3_div6(x)
    y = T(0) if x <= T(-3) else y
    return T(1) if x >= T(3) else y


@kernel
def hardsigmoid_backward(grad, x):
    inline_here()
    T = type(x)
    # 0 at both kinks and for NaN x (ATen's hardsigmoid_backward).
    return grad / T(6) if (x > T(-3) and x < T(3)) else T(0)


def _hardsigmoid_ref(x):
    # (x + 3) / 6 in extended precision, then rounded once more: correctly rounded but for
    # the rarest ties (x86's 64-bit long double).
    y = ((x.astype(np.longdouble) + 3) / 6).astype(np.float64)
    return np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, y))


register(
    Activation(
        name="hardsigmoid",
        kind=ELEMENTWISE,
        forward_kernel=hardsigmoid,
        backward_kernel=hardsigmoid_backward,
        saves="input",
        reference=_hardsigmoid_ref,
        reference_backward=lambda g, x: np.where((x > -3) & (x < 3), g / 6, 0.0),
        exact=True,
        summary="Hard sigmoid: relu6(x + 3) / 6.",
    )
)


# --------------------------------------------------------------------------- hardswish
@kernel
def hardswish(x):
    """x * relu6(x + 3) / 6: -0.0 for x <= -3 (-inf included), x for x >= 3."""
    inline_here()
    T = type(x)
    y = x * (x + T(3)) / T(6)  # x + 3 is exact near -3, where it is small (Sterbenz)
    y = x if x >= T(3) else y
    return -T(0) if x <= T(-3) else y


@kernel
def hardswish_backward(grad, x):
    inline_here()
    T = type(x)
    # (x + 1.5) / 3 rather than ATen's x / 3 + 0.5, which cancels near -1.5. Kinks as
    # ATen: 0 at -3, grad at 3; NaN x passes grad through.
    d = grad * ((x + T(1.5)) / T(3))
    d = grad if not (x < T(3)) else d
    return T(0) if x <= T(-3) else d


def _hardswish_ref(x):
    with np.errstate(invalid="ignore"):
        y = x * (x + 3) / 6
    return np.where(x <= -3, -0.0, np.where(x >= 3, x, y))


def _hardswish_ref_backward(g, x):
    d = g * ((x + 1.5) / 3)
    return np.where(x <= -3, 0.0, np.where(x < 3, d, g))


register(
    Activation(
        name="hardswish",
        kind=ELEMENTWISE,
        forward_kernel=hardswish,
        backward_kernel=hardswish_backward,
        saves="input",
        reference=_hardswish_ref,
        reference_backward=_hardswish_ref_backward,
        summary="Hard swish: x * relu6(x + 3) / 6.",
    )
)


# --------------------------------------------------------------------------- hardtanh, relu6
@kernel
def hardtanh(x, min_val, max_val):
    """x clamped to [min_val, max_val]; NaN and -0.0 kept."""
    inline_here()
    T = type(x)
    min_val, max_val = T(min_val), T(max_val)
    y = max_val if x > max_val else x
    return min_val if x < min_val else y


@kernel
def hardtanh_backward(grad, x, min_val, max_val):
    inline_here()
    T = type(x)
    min_val, max_val = T(min_val), T(max_val)
    # 0 at both bounds and for NaN x (ATen's hardtanh_backward in its vector loop; its
    # scalar loop for a tensor's last elements passes grad at NaN).
    return unfolded(grad) if (x > min_val and x < max_val) else T(0)  # codegen.unfolded


def _check_hardtanh(min_val, max_val, dtype=None):
    if math.isnan(min_val) or math.isnan(max_val):
        return f"arguments 'min_val' and 'max_val' must not be NaN, got {min_val}, {max_val}"
    if min_val > max_val:
        return f"argument 'min_val' ({min_val}) must not exceed 'max_val' ({max_val})"
    return None


def _hardtanh_ref(x, lo, hi):
    return np.where(x < lo, lo, np.where(x > hi, hi, x))


def _hardtanh_ref_backward(g, x, lo, hi):
    return np.where((x > lo) & (x < hi), g, 0.0)


register(
    Activation(
        name="hardtanh",
        kind=ELEMENTWISE,
        forward_kernel=hardtanh,
        backward_kernel=hardtanh_backward,
        saves="input",
        params=(Param("min_val", -1.0), Param("max_val", 1.0)),
        check=_check_hardtanh,
        reference=_hardtanh_ref,
        reference_backward=_hardtanh_ref_backward,
        exact=True,
        summary="Hard tanh: x clamped to [min_val, max_val].",
    )
)


@kernel
def relu6(x):
    """min(max(x, 0), 6): hardtanh on [0, 6]."""
    inline_here()
    T = type(x)
    return hardtanh(x, T(0), T(6))


@kernel
def relu6_backward(grad, x):
    inline_here()
    T = type(x)
    return hardtanh_backward(grad, x, T(0), T(6))


register(
    Activation(
        name="relu6",
        kind=ELEMENTWISE,
        forward_kernel=relu6,
        backward_kernel=relu6_backward,
        saves="input",
        reference=lambda x: _hardtanh_ref(x, 0.0, 6.0),
        reference_backward=lambda g, x: _hardtanh_ref_backward(g, x, 0.0, 6.0),
        exact=True,
        summary="ReLU capped at 6: min(max(x, 0), 6).",
    )
)
