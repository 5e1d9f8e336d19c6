"""fastact: fast activation functions for array code, compiled by Numba.

Every function ``F`` in the registry comes in four forms: ``F(x, ...)``,
``F_(x, ...)`` (in place), ``F_backward(grad, saved, ...)`` and ``F_backward_``, but for
glu, whose result is half its input: no in-place forms. ``REGISTRY`` lists them
(``Activation.forms``) with their parameters and what backward saves. Importing
fastact compiles nothing; kernels compile at first use and are cached on disk.
"""

from . import kernels as kernels  # registers every activation
from . import threads
from .dispatch import TARGETS, make_public
from .registry import REGISTRY, Activation, Param
from .tuning import PARALLEL_THRESHOLD, parallel_threshold

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "Activation",
    "Param",
    "TARGETS",
    "PARALLEL_THRESHOLD",
    "parallel_threshold",
    "kernels",
]

# Before any parallel launch picks Numba's threading layer: see fastact.threads.
threads.load_tbb()

for _act in REGISTRY.values():
    for _name, _fn in make_public(_act).items():
        globals()[_name] = _fn
        __all__.append(_name)
del _act, _name, _fn
