"""Sizes above which ``target=None`` runs a function on all Numba threads.

Measured on a 2-core AVX-512 machine (see README, "Parallel thresholds"): below these
sizes a parallel region costs more than it saves. Change an entry to retune a function;
``DEFAULT`` serves functions without an entry.
"""

DEFAULT = 200_000

PARALLEL_THRESHOLD: dict[str, int] = {
    "sigmoid": 32_768,
    "tanh": 32_768,
    "relu": 200_000,
    "leaky_relu": 200_000,
    "softmax": 32_768,
}


def parallel_threshold(name: str) -> int:
    """Number of elements from which ``target=None`` runs ``name`` on all threads."""
    return PARALLEL_THRESHOLD.get(name, DEFAULT)
