"""Logistic family: sigmoid and tanh."""

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..registry import ELEMENTWISE, Activation, register

__all__ = ["sigmoid", "sigmoid_backward", "tanh", "tanh_backward"]


# --------------------------------------------------------------------------- sigmoid
@kernel
def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow; subnormal results in the far negative tail."""
    inline_here()
    T = type(x)
    e = em.exp(-abs(x))
    return (e if x < T(0) else T(1)) / (T(1) + e)


@kernel
def sigmoid_backward(grad, y):
    inline_here()
    # 1 - y is exact for y >= 0.5, so this is accurate where y * (1 - y) is small.
    T = type(y)
    return grad * (y * (T(1) - y))


def _sigmoid_ref(x):
    e = np.exp(-np.abs(x))
    return np.where(x < 0, e, 1.0) / (1.0 + e)


register(
    Activation(
        name="sigmoid",
        kind=ELEMENTWISE,
        forward_kernel=sigmoid,
        backward_kernel=sigmoid_backward,
        saves="output",
        reference=_sigmoid_ref,
        reference_backward=lambda g, y: g * (y * (1.0 - y)),
        summary="Logistic sigmoid, 1 / (1 + exp(-x)).",
    )
)


# --------------------------------------------------------------------------- tanh
@kernel
def tanh(x):
    """Hyperbolic tangent."""
    inline_here()
    return em.tanh(x)


@kernel
def tanh_backward(grad, y):
    inline_here()
    # (1 - y)(1 + y) rather than 1 - y*y: no cancellation as |y| -> 1.
    T = type(y)
    return grad * ((T(1) - y) * (T(1) + y))


register(
    Activation(
        name="tanh",
        kind=ELEMENTWISE,
        forward_kernel=tanh,
        backward_kernel=tanh_backward,
        saves="output",
        reference=np.tanh,
        reference_backward=lambda g, y: g * ((1.0 - y) * (1.0 + y)),
        summary="Hyperbolic tangent.",
    )
)
