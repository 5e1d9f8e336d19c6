"""Shrinks: hardshrink and softshrink, zero on [-lambd, lambd].

Exact: softshrink's ``x -+ lambd`` is rounded once. The zero region gives +0.0, as
PyTorch's vectorized kernels do (its scalar path would keep the sign of x); NaN stays NaN.
"""

import numpy as np

from ..codegen import inline_here, kernel, unfolded
from ..registry import ELEMENTWISE, Activation, Param, register

__all__ = ["hardshrink", "hardshrink_backward", "softshrink", "softshrink_backward"]


@kernel
def _outside(x, lambd):
    """|x| > lambd; False for NaN (ATen's backward ops then give 0 in their vector loops;
    their scalar loops for a tensor's last elements pass grad)."""
    inline_here()
    return x < -lambd or x > lambd


@kernel
def hardshrink(x, lambd):
    """x where |x| > lambd, else 0."""
    inline_here()
    T = type(x)
    lambd = T(lambd)
    return T(0) if (x >= -lambd and x <= lambd) else x


@kernel
def shrink_backward(grad, x, lambd):
    """The gradient of both shrinks: grad where |x| > lambd, else 0."""
    inline_here()
    T = type(x)
    lambd = T(lambd)
    return unfolded(grad) if _outside(x, lambd) else T(0)  # see codegen.unfolded


hardshrink_backward = softshrink_backward = shrink_backward


@kernel
def softshrink(x, lambd):
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    inline_here()
    T = type(x)
    lambd = T(lambd)
    y = x - lambd if x > lambd else x + lambd
    return T(0) if (x >= -lambd and x <= lambd) else y


def _check_softshrink(lambd, dtype=None):
    if not lambd >= 0:
        return f"argument 'lambd' must be >= 0, got {lambd}"
    return None


def _shrink_ref_backward(g, x, lambd):
    return np.where((x < -lambd) | (x > lambd), g, 0.0)


register(
    Activation(
        name="hardshrink",
        kind=ELEMENTWISE,
        forward_kernel=hardshrink,
        backward_kernel=hardshrink_backward,
        saves="input",
        params=(Param("lambd", 0.5),),
        reference=lambda x, lambd: np.where((x >= -lambd) & (x <= lambd), 0.0, x),
        reference_backward=_shrink_ref_backward,
        exact=True,
        summary="Hard shrink: x where |x| > lambd, else 0.",
    )
)


def _softshrink_ref(x, lambd):
    y = np.where(x > lambd, x - lambd, x + lambd)
    return np.where((x >= -lambd) & (x <= lambd), 0.0, y)


register(
    Activation(
        name="softshrink",
        kind=ELEMENTWISE,
        forward_kernel=softshrink,
        backward_kernel=softshrink_backward,
        saves="input",
        params=(Param("lambd", 0.5),),
        check=_check_softshrink,
        reference=_softshrink_ref,
        reference_backward=_shrink_ref_backward,
        exact=True,
        summary="Soft shrink: x - lambd above lambd, x + lambd below -lambd, else 0.",
    )
)
