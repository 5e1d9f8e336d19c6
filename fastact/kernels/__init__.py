"""The math of every activation, and its registry record: one module per family.

| module | functions |
|---|---|
| ``logistic`` | sigmoid, tanh |
| ``rectifiers`` | relu, leaky_relu |
| ``exponential`` | softplus, logsigmoid, mish, elu, selu, celu |
| ``softmax`` | the softmax family |

Elementwise functions are defined by scalar kernels ``f(x, *params)`` and
``f_backward(grad, saved, *params)``; the softmax family by row kernels that fill a
contiguous ``out`` row (and, for the CPU, optional kernels over blocks of rows, which can
vectorize across short rows). All kernels are public: call them inside your own ``@njit``
code (``from fastact.kernels import sigmoid``). They compute float32 in float32 and
float64 in float64: constants are built with ``T = type(x)``, because a float64
constant would silently promote a float32 loop and halve its SIMD width.

Every kernel starts with ``inline_here()``: kernels must be inlined into the drivers'
loops for those to vectorize, and LLVM's inliner declines the larger ones (float64 tanh
once its exp is inlined); ``tests/test_vectorized.py`` checks every driver.

To add an activation: write its kernels in its family's module with ``@kernel``, its
float64 NumPy reference, and ``register(Activation(...))``; a new family is a new module
imported below. Drivers, dispatch, the public functions, tests and benchmarks pick it up
from the registry. The drivers' cache fingerprint covers every file of this package.
"""

# Import order is registration order: the order of the catalogue everywhere (not sorted).
# isort: off
from . import logistic, rectifiers, exponential, softmax
from .logistic import *  # noqa: F403
from .rectifiers import *  # noqa: F403
from .exponential import *  # noqa: F403
from .softmax import *  # noqa: F403
# isort: on

__all__ = [*logistic.__all__, *rectifiers.__all__, *exponential.__all__, *softmax.__all__]
