"""Elementary functions for fastact's kernels: exp, expm1, log, log1p, tanh, erf, erfc.

Each function is a plain Python function (the reference path, used when a kernel runs
as Python, e.g. under the CUDA simulator) with a per-target Numba overload. The CPU
overloads are written so that LLVM can vectorize the loops that call them: Numba on
this platform has no SVML, so ``math.exp`` in a loop stays a scalar libm call.

float32 arguments are computed in float32 and float64 in float64; the result has the
argument's type.
"""

import math

from numba import types
from numba.extending import overload

__all__ = ["exp", "expm1", "log", "log1p", "tanh", "erf", "erfc"]

_JIT = {"error_model": "numpy"}


def exp(x):
    """e**x."""
    return math.exp(x)


def expm1(x):
    """e**x - 1, accurate near 0."""
    return math.expm1(x)


def log(x):
    """Natural logarithm."""
    return math.log(x)


def log1p(x):
    """log(1 + x), accurate near 0."""
    return math.log1p(x)


def tanh(x):
    """Hyperbolic tangent."""
    return math.tanh(x)


def erf(x):
    """Error function."""
    return math.erf(x)


def erfc(x):
    """Complementary error function, 1 - erf(x), accurate for large x."""
    return math.erfc(x)


def _cpu(stub, impl):
    """Register ``impl`` as the CPU implementation of ``stub`` for float arguments."""

    @overload(stub, target="cpu", jit_options=_JIT)
    def _ov(x):
        if isinstance(x, types.Float):
            return impl


# Placeholder CPU implementations: scalar libm calls (correct, not vectorizable).
_cpu(exp, lambda x: math.exp(x))
_cpu(expm1, lambda x: math.expm1(x))
_cpu(log, lambda x: math.log(x))
_cpu(log1p, lambda x: math.log1p(x))
_cpu(tanh, lambda x: math.tanh(x))
_cpu(erf, lambda x: math.erf(x))
_cpu(erfc, lambda x: math.erfc(x))
