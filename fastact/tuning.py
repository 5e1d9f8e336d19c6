"""Sizes above which ``target=None`` runs a function on all Numba threads.

Measured with ``tools/tune_thresholds.py`` (2 cores, AMD EPYC Zen 4, AVX-512, tbb layer,
2026-12-03, two runs): the smallest power of two from which all threads beat one thread by
10% or more, forward and backward, at that size and every larger one, the later of the two
runs' crossovers. At 2**22 the memory-bound functions sometimes miss the 10% (both modes at
the two cores' shared bandwidth): that size does not count against them. Above its
threshold a call still runs on one thread when its recent calls measured that faster
(``threads.Measured``), so a threshold a little low costs little. Change an entry to retune
a function; ``DEFAULT`` serves functions without an entry.
"""

DEFAULT = 262_144

PARALLEL_THRESHOLD: dict[str, int] = {
    "sigmoid": 262_144,
    "tanh": 262_144,
    "relu": 262_144,
    "leaky_relu": 524_288,
    "silu": 262_144,
    "tanhshrink": 262_144,
    "softsign": 524_288,
    "gelu": 131_072,
    "threshold": 262_144,
    "prelu": 524_288,
    "softplus": 262_144,
    "logsigmoid": 262_144,
    "mish": 65_536,
    "elu": 131_072,
    "selu": 524_288,
    "celu": 262_144,
    "hardsigmoid": 524_288,
    "hardswish": 262_144,
    "hardtanh": 524_288,
    "relu6": 262_144,
    "hardshrink": 524_288,
    "softshrink": 524_288,
    "glu": 524_288,
    # The softmax family: the tool (rows of 64) found crossovers at 2**19-2**21 and none for
    # log_softmax in one run, where the report at two threads measures all threads 1.5-1.9x
    # faster at 1e6 elements (rows of 10, 1000, 1e6). Kept at 2**17: above it the measured
    # choice (threads.Measured) decides per call shape.
    "softmax": 131_072,
    "log_softmax": 131_072,
    "softmin": 131_072,
}


def parallel_threshold(name: str) -> int:
    """Number of elements from which ``target=None`` runs ``name`` on all threads."""
    return PARALLEL_THRESHOLD.get(name, DEFAULT)
