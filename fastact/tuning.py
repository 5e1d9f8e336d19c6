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
    # The exponential family: as sigmoid and tanh, whose cost per element theirs matches or
    # exceeds. tools/tune_thresholds.py could not measure them (2026-12-02: load average 10
    # on 2 cores, every parallel region stalled ~12 ms); retune on a quiet machine.
    "softplus": 131_072,
    "logsigmoid": 131_072,
    "mish": 131_072,
    "elu": 131_072,
    "selu": 131_072,
    "celu": 131_072,
    "softmax": 131_072,
    # Piecewise-linear, memory-bound like relu. 2026-12-02 (AMD EPYC Zen 4, omp layer, a
    # loaded machine): all threads first won at 2**17-2**18, as for relu; above 2**20 the
    # two cores' shared memory bus and the load made the runs noisy.
    "threshold": 262_144,
    "hardsigmoid": 262_144,
    "hardswish": 262_144,
    "hardtanh": 262_144,
    "relu6": 262_144,
    "hardshrink": 262_144,
    "softshrink": 262_144,
    # Not measured: tools/tune_thresholds.py found no crossover on a machine loaded 4-5x
    # over its 2 cores (2026-12-02). Estimated: 3-10x the work per element of sigmoid
    # (float64 math), so a parallel region pays off sooner; softsign is memory-bound, as relu.
    "silu": 65_536,
    "tanhshrink": 65_536,
    "gelu": 65_536,
    "softsign": 262_144,
    # softmax's kernels and threshold: on 2026-12-02 the machine was too loaded to measure
    # (all threads never beat one, softmax included); retune on a quiet machine.
    "log_softmax": 131_072,
    "softmin": 131_072,
    # Not measured: a sigmoid and a product per output element, so as sigmoid (counted in
    # input elements).
    "glu": 131_072,
    # Not measured: memory-bound like leaky_relu (one more small array read); with bias=,
    # every elementwise function keeps its own entry.
    "prelu": 262_144,
}


def parallel_threshold(name: str) -> int:
    """Number of elements from which ``target=None`` runs ``name`` on all threads."""
    return PARALLEL_THRESHOLD.get(name, DEFAULT)
