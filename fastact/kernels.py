"""The math of every activation, and its registry record: the one place that defines it.

Elementwise functions are defined by scalar kernels ``f(x, *params)`` and
``f_backward(grad, saved, *params)``; the softmax family by row kernels that fill a
contiguous ``out`` row. All kernels are public: call them inside your own ``@njit``
code (``from fastact.kernels import sigmoid``). They compute float32 in float32 and
float64 in float64: constants are built with ``T = type(x)``, because a float64
constant would silently promote a float32 loop and halve its SIMD width.

To add an activation: write its kernels here with ``@kernel``, its float64 NumPy
reference, and ``register(Activation(...))``. Drivers, dispatch, the public functions,
tests and benchmarks pick it up from the registry.
"""

import numpy as np
from numba.extending import register_jitable

from . import elementary as em
from .registry import ELEMENTWISE, ROWWISE, Activation, Param, register

# Every kernel is a generic Numba function: callable from Python, inlined into @njit
# (and later @cuda.jit) callers. error_model="numpy" drops the per-division
# zero check that would stop LLVM from vectorizing the callers' loops.
kernel = register_jitable(error_model="numpy")


# --------------------------------------------------------------------------- sigmoid
@kernel
def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow; subnormal results in the far negative tail."""
    T = type(x)
    e = em.exp(-abs(x))
    return (e if x < T(0) else T(1)) / (T(1) + e)


@kernel
def sigmoid_backward(grad, y):
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
    return em.tanh(x)


@kernel
def tanh_backward(grad, y):
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


# --------------------------------------------------------------------------- relu
@kernel
def relu(x):
    """max(x, 0); keeps NaN and -0.0 as PyTorch does."""
    T = type(x)
    return T(0) if x < T(0) else x


@kernel
def relu_backward(grad, x):
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
    T = type(x)
    return x if x > T(0) else x * negative_slope


@kernel
def leaky_relu_backward(grad, x, negative_slope):
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


# --------------------------------------------------------------------------- softmax
@kernel
def _exp_sum(x, shift, out):
    """out[i] = exp(x[i] - shift) for a whole row; returns the sum in float64.

    x[i] - shift is corrected by its exact rounding error (TwoSum): for a large gap the
    rounding of the difference alone would cost |x - shift| ULP in exp. The sum is
    accumulated in float64 with Neumaier compensation, so long rows stay accurate.
    """
    T = type(shift)
    s = 0.0
    c = 0.0
    for i in range(x.size):
        a = x[i]
        d = a - shift
        bv = d - a
        err = (a - (d - bv)) + (-shift - bv)
        err = err if err == err else T(0)  # inf - inf: no correction needed
        e = em.exp(d)
        e = e + e * err
        out[i] = e
        t = s + e
        c += ((s - t) + e) if abs(s) >= abs(e) else ((e - t) + s)
        s = t
    return s + c


@kernel
def _row_max(x):
    m = x[0]
    for i in range(1, x.size):
        m = x[i] if x[i] > m else m
    return m


@kernel
def softmax_row(x, out):
    """Softmax of one row: exp(x - max) / sum(exp(x - max)), into ``out``."""
    if x.size == 0:
        return
    r = 1.0 / _exp_sum(x, _row_max(x), out)
    for i in range(out.size):
        out[i] = out[i] * r


@kernel
def softmax_row_backward(grad, y, out):
    """Softmax gradient of one row: y * (grad - sum(grad * y)), into ``out``."""
    dot = 0.0
    c = 0.0
    for i in range(y.size):
        p = float(grad[i]) * float(y[i])
        t = dot + p
        c += ((dot - t) + p) if abs(dot) >= abs(p) else ((p - t) + dot)
        dot = t
    dot += c
    for i in range(y.size):
        out[i] = float(y[i]) * (float(grad[i]) - dot)


def _softmax_ref(x, axis):
    with np.errstate(invalid="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_ref_backward(g, y, axis):
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


register(
    Activation(
        name="softmax",
        kind=ROWWISE,
        forward_kernel=softmax_row,
        backward_kernel=softmax_row_backward,
        saves="output",
        reference=_softmax_ref,
        reference_backward=_softmax_ref_backward,
        summary="Softmax along ``axis``: exp(x - max) / sum(exp(x - max)).",
    )
)
