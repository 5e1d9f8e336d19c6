"""Rectifiers: relu, leaky_relu, prelu and threshold."""

import numpy as np

from ..codegen import inline_here, kernel, unfolded
from ..registry import ELEMENTWISE, Activation, Param, register

__all__ = [
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "threshold",
    "threshold_backward",
    "prelu",
    "prelu_backward",
    "prelu_weight_grad",
]


# --------------------------------------------------------------------------- relu
@kernel
def relu(x):
    """max(x, 0); keeps NaN and -0.0 as PyTorch does."""
    inline_here()
    T = type(x)
    return T(0) if x < T(0) else x


@kernel
def relu_backward(grad, x):
    inline_here()
    # PyTorch's threshold_backward: 0 where x <= 0 (so relu'(0) = 0), grad elsewhere.
    T = type(grad)
    return T(0) if x <= T(0) else unfolded(grad)  # see codegen.unfolded


register(
    Activation(
        name="relu",
        kind=ELEMENTWISE,
        forward_kernel=relu,
        backward_kernel=relu_backward,
        saves="input",
        reference=lambda x: np.where(x < 0, 0.0, x),
        reference_backward=lambda g, x: np.where(x <= 0, 0.0, g),
        exact=True,
        summary="Rectified linear unit, max(x, 0).",
    )
)


# --------------------------------------------------------------------------- leaky_relu
@kernel
def leaky_relu(x, negative_slope):
    """x for x > 0, else negative_slope * x."""
    inline_here()
    T = type(x)
    negative_slope = T(negative_slope)
    return x if x > T(0) else x * negative_slope


@kernel
def leaky_relu_backward(grad, x, negative_slope):
    inline_here()
    T = type(x)
    negative_slope = T(negative_slope)
    return grad if x > T(0) else grad * negative_slope


register(
    Activation(
        name="leaky_relu",
        kind=ELEMENTWISE,
        forward_kernel=leaky_relu,
        backward_kernel=leaky_relu_backward,
        saves="input",
        params=(Param("negative_slope", 0.01),),
        reference=lambda x, s: np.where(x > 0, x, x * s),
        reference_backward=lambda g, x, s: np.where(x > 0, g, g * s),
        exact=True,
        summary="Leaky ReLU: x if x > 0 else negative_slope * x.",
    )
)


# --------------------------------------------------------------------------- threshold
@kernel
def threshold(x, threshold, value):
    """x where x > threshold, else value; NaN kept."""
    inline_here()
    T = type(x)
    threshold, value = T(threshold), T(value)
    return value if x <= threshold else x


@kernel
def threshold_backward(grad, x, threshold, value):
    inline_here()
    T = type(x)
    threshold, value = T(threshold), T(value)
    # ATen's threshold_backward: 0 where x <= threshold; NaN x passes grad through.
    return T(0) if x <= threshold else unfolded(grad)


register(
    Activation(
        name="threshold",
        kind=ELEMENTWISE,
        forward_kernel=threshold,
        backward_kernel=threshold_backward,
        saves="input",
        params=(Param("threshold"), Param("value")),
        reference=lambda x, t, v: np.where(x <= t, v, x),
        reference_backward=lambda g, x, t, v: np.where(x <= t, 0.0, g),
        exact=True,
        summary="Threshold: x where x > threshold, else value.",
    )
)


# --------------------------------------------------------------------------- prelu
@kernel
def prelu(x, weight):
    """x for x > 0, else weight * x, ``weight`` being x's channel's value."""
    inline_here()
    T = type(x)
    weight = T(weight)
    return x if x > T(0) else weight * x


@kernel
def prelu_backward(grad, x, weight):
    inline_here()
    T = type(x)
    weight = T(weight)
    # ATen's _prelu_kernel_backward: grad where x > 0, else weight * grad (also at x == 0).
    return grad if x > T(0) else weight * grad


@kernel
def prelu_weight_grad(grad, x, weight, grad_input):
    """One element's share of the gradient with respect to its channel's weight."""
    inline_here()
    T = type(x)
    return T(0) if x > T(0) else x * grad


def _channel_values(w, ndim):
    """prelu's weight shaped to broadcast along axis 1 of an ndim-dimensional x."""
    w = np.asarray(w, np.float64).reshape(-1)
    return w.reshape((-1,) + (1,) * (ndim - 2)) if ndim >= 2 and w.size > 1 else w[:1].reshape(())


def _prelu_reference(x, w):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, _channel_values(w, x.ndim) * x)


def _prelu_reference_backward(g, x, w):
    g, x = np.asarray(g, np.float64), np.asarray(x, np.float64)
    wb = _channel_values(w, x.ndim)
    gx = np.where(x > 0, g, wb * g)
    share = np.where(x > 0, 0.0, x * g)
    w = np.asarray(w)
    if w.size > 1:
        gw = np.moveaxis(share, 1, 0).reshape(w.size, -1).sum(axis=1)
    else:
        gw = np.full(w.shape, share.sum())
    return gx, gw.reshape(w.shape)


register(
    Activation(
        name="prelu",
        kind=ELEMENTWISE,
        forward_kernel=prelu,
        backward_kernel=prelu_backward,
        saves="input",
        params=(Param("weight", axis=1, grad_kernel=prelu_weight_grad, sizes=(1,)),),
        reference=_prelu_reference,
        reference_backward=_prelu_reference_backward,
        exact=True,
        summary="Parametric ReLU: x if x > 0 else weight[c] * x, c the index along axis 1.",
    )
)
