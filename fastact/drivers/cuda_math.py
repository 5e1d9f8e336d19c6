"""CUDA implementations of the math stubs in ``fastact.elementary``: libdevice via ``math``.

The kernels in ``fastact.kernels`` call ``fastact.elementary.exp`` and friends, plain
Python functions with CPU overloads. ``register()`` gives each stub a CUDA overload that
lowers to ``math.exp`` etc., which numba-cuda maps to libdevice (``__nv_expf`` /
``__nv_exp``). Under the CUDA simulator kernels run as Python and call the stubs
directly, so nothing is registered there.

Importing this module needs numba-cuda; ``register()`` is idempotent and is what a
``numba_cuda_extensions`` entry point should call so that ``fastact.kernels`` work in a
user's ``@cuda.jit`` code without importing ``fastact.drivers.cuda`` first.
"""

import math
import threading

from numba import cuda
from numba.cuda import config

from .. import elementary as em


def _exp(x):
    return math.exp(x)


def _expm1(x):
    return math.expm1(x)


def _log(x):
    return math.log(x)


def _log1p(x):
    return math.log1p(x)


def _tanh(x):
    return math.tanh(x)


def _erf(x):
    return math.erf(x)


def _erfc(x):
    return math.erfc(x)


def _maximum(a, b):
    return a if (a > b or a != a) else b


def _max_unordered(a, b):
    return max(a, b)  # fmaxf / fmax


def _fma(a, b, c):
    return cuda.fma(a, b, c)


_IMPLS = {
    em.exp: _exp,
    em.expm1: _expm1,
    em.log: _log,
    em.log1p: _log1p,
    em.tanh: _tanh,
    em.erf: _erf,
    em.erfc: _erfc,
    em.maximum: _maximum,
    em.max_unordered: _max_unordered,
    em.fma: _fma,
    # gate's own Python is GPU code already: its exp is _exp above.
    em.gate: em.gate,
}

_lock = threading.Lock()
_registered = False


def register():
    """Register the CUDA overloads of every stub in ``fastact.elementary`` (once)."""
    global _registered
    if _registered or config.ENABLE_CUDASIM:
        return
    with _lock:
        if _registered:
            return
        from numba.cuda import types
        from numba.cuda.extending import overload

        missing = set(em.__all__) - {f.__name__ for f in _IMPLS}
        if missing:  # a new stub without a CUDA implementation would fail at typing
            raise RuntimeError(f"fastact: no CUDA implementation for elementary {missing}")
        for stub, impl in _IMPLS.items():
            overload(stub, target="cuda")(_typer(types, impl))
        _registered = True


def _typer(types, impl):
    # Numba matches an overload's typer to the call by its parameters: one per arity.
    if impl.__code__.co_argcount == 3:

        def typer3(a, b, c):
            if isinstance(a, types.Float) and a == b == c:
                return impl

        return typer3

    if impl.__code__.co_argcount == 2:

        def typer2(a, b):
            if isinstance(a, types.Float) and a == b:
                return impl

        return typer2

    def typer(x):
        if isinstance(x, types.Float):
            return impl

    return typer
