"""The math of every activation, and its registry record: one module per family.

| module | functions |
|---|---|
| ``logistic`` | sigmoid, tanh, silu, tanhshrink, softsign |
| ``gelu`` | gelu (``approximate="none"`` or ``"tanh"``) |
| ``rectifiers`` | relu, leaky_relu, threshold |
| ``exponential`` | softplus, logsigmoid, mish, elu, selu, celu |
| ``hard`` | hardsigmoid, hardswish, hardtanh, relu6 |
| ``shrinks`` | hardshrink, softshrink |
| ``softmax`` | the softmax family |
| ``glu`` | glu (kind ``HALVES``: the two halves of ``x`` along ``axis``) |

Elementwise functions are defined by scalar kernels ``f(x, *params)`` and
``f_backward(grad, saved, *params)``; the softmax family by row kernels that fill a
contiguous ``out`` row (and, for the CPU, optional kernels over blocks of rows, which can
vectorize across short rows). All kernels are public: call them inside your own ``@njit``
code (``from fastact.kernels import sigmoid``). They compute float32 in float32 and
float64 in float64: constants are built with ``T = type(x)``, because a float64
constant would silently promote a float32 loop and halve its SIMD width, and numeric
parameters are converted to ``T`` first (a user's ``leaky_relu(x, 0.01)`` passes a
float64; the drivers pass them in x's dtype already).

Every kernel starts with ``inline_here()``: kernels must be inlined into the drivers'
loops for those to vectorize, and LLVM's inliner declines the larger ones (float64 tanh
once its exp is inlined); ``tests/test_vectorized.py`` checks every driver.

To add an activation: write its kernels in its family's module with ``@kernel``, its
float64 NumPy reference, and ``register(Activation(...))``; a new family is a new module
imported below. Drivers, dispatch, the public functions, tests and benchmarks pick it up
from the registry. The drivers' cache fingerprint covers every file of this package.
"""

# ruff: noqa: I001, F403
# Import order is registration order: the order of the catalogue everywhere. The star
# imports replace some module names (gelu, threshold) with kernels, so the modules are
# bound under private names first.
from . import logistic as _logistic
from . import gelu as _gelu
from . import rectifiers as _rectifiers
from . import exponential as _exponential
from . import softmax as _softmax
from . import hard as _hard
from . import shrinks as _shrinks
from . import glu as _glu
from .logistic import *
from .gelu import *
from .rectifiers import *
from .exponential import *
from .softmax import *
from .hard import *
from .shrinks import *
from .glu import *

_MODULES = (_logistic, _gelu, _rectifiers, _exponential, _softmax, _hard, _shrinks, _glu)
__all__ = [name for module in _MODULES for name in module.__all__]
