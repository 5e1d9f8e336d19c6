"""Sizes above which ``target=None`` runs a function on all Numba threads.

Measured with ``tools/tune_thresholds.py`` (2 cores, AVX-512, tbb layer, 2026-11-22):
the smallest power of two from which all threads beat one thread by 10% or more, forward
and backward, at that size and every larger one. The vectorized kernels do little work
per element, so a parallel region pays off only from ~1e5 elements. Change an entry to
retune a function; ``DEFAULT`` serves functions without an entry.
"""

DEFAULT = 262_144

PARALLEL_THRESHOLD: dict[str, int] = {
    "sigmoid": 131_072,
    "tanh": 131_072,
    "relu": 262_144,
    "leaky_relu": 262_144,
    "softmax": 131_072,
    # softmax's kernels and threshold: on 2026-12-02 the machine was too loaded to measure
    # (all threads never beat one, softmax included); retune on a quiet machine.
    "log_softmax": 131_072,
    "softmin": 131_072,
}


def parallel_threshold(name: str) -> int:
    """Number of elements from which ``target=None`` runs ``name`` on all threads."""
    return PARALLEL_THRESHOLD.get(name, DEFAULT)
