"""Rectifiers: relu, leaky_relu and threshold."""

import numpy as np

from ..codegen import inline_here, kernel
from ..registry import ELEMENTWISE, Activation, Param, register

__all__ = [
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "threshold",
    "threshold_backward",
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
    return T(0) if x <= T(0) else grad


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
    return x if x > T(0) else x * negative_slope


@kernel
def leaky_relu_backward(grad, x, negative_slope):
    inline_here()
    T = type(x)
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
    return value if x <= threshold else x


@kernel
def threshold_backward(grad, x, threshold, value):
    inline_here()
    # ATen's threshold_backward: 0 where x <= threshold; NaN x passes grad through.
    T = type(x)
    return T(0) if x <= threshold else grad


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
