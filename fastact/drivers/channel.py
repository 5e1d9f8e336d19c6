"""Per-channel values, for every target: the array parameters' kernels and the partition
of their gradient's reduction.

An array parameter (registry ``Param.axis``: ``prelu``'s weight, the fused ``bias``) gives
each element a value ``c[ch]`` by its index along one axis. Every target sees ``x`` as
``(outer, C, inner)`` (``validation.channel_param``): as ``(rows, C)`` rows when
``inner == 1`` (the parameter runs along the last axis), else as 3-D. The drivers call
``forward(x, v, *params)``, ``backward(grad, saved, v, *params)`` and
``share(grad, saved, v, grad_input)``, an element's contribution to the parameter's
gradient; ``kernels()`` gives them, the function's own for an array parameter of its
own, wrappers of its plain kernels for a bias.

The gradient is summed in float64 over a partition that depends on the shape alone
(``blocks``), never on the number of threads or the target: each block sums its elements
in order into partial sums of its own (one per channel), and the partials are then added
in block order. One thread, all threads and the GPU (``drivers.cuda``, the same blocks
and order) give the same bits from the same per-element values.
"""

import types

from ..codegen import inline_here, kernel
from . import source_fingerprint

BLOCK = 65536
"""Elements per block of the reduction's partition (about: whole rows of C values)."""


LANES = 16
"""Partial sums per chunk of (outer, C, inner) views: element i of a chunk adds to lane
i % LANES, so that the sum vectorizes; the lanes are then added in order."""


def blocks(rows, channels, inner):
    """``(rows per block, chunks per row)``: the partition, from the shape alone.
    ``(rows, C)`` views (``inner == 1``): blocks of whole rows, partial rows of C sums;
    ``(outer, C, inner)`` views: each ``x[o, ch]`` row cut into chunks, a sum each."""
    if inner == 1:
        return max(1, BLOCK // max(channels, 1)), 1
    return 1, -(-inner // BLOCK)


# The kernels of a fused bias: the function's own, bound as ``_inner``, at x + b (the
# sum rounded once, in the compute dtype). A backward that saves the input takes the
# forward's x before the bias; one that saves the output (sigmoid, tanh) ignores b.
_inner = None


def _biased_forward(x, b, *params):
    inline_here()
    return _inner(x + b, *params)


def _biased_backward_input(grad, x, b, *params):
    inline_here()
    return _inner(grad, x + b, *params)


def _biased_backward_output(grad, y, b, *params):
    inline_here()
    return _inner(grad, y, *params)


@kernel
def bias_share(grad, saved, b, grad_input):
    """A bias's gradient is the input's gradient, summed."""
    inline_here()
    return grad_input


_kernels: dict = {}


def kernels(activation, direction: str, variant, bias: bool):
    """``(kernel, share, tag)`` for ``activation``'s ``direction`` with its own array
    parameter or, with ``bias``, its fused bias; ``tag`` names them in cache file names.
    Generic Numba functions (``codegen.kernel``): the CPU and CUDA drivers both inline
    them. Memoised: one object per kernel, as the drivers' globals."""
    key = (activation.name, direction, variant, bias)
    if key in _kernels:
        return _kernels[key]
    own = activation.kernel(direction, variant)
    tag = activation.name if variant is None else f"{activation.name}_{variant}"
    if bias:
        tag += "_bias"
        if direction == "forward":
            wrapper = _biased_forward
        elif activation.saves == "input":
            wrapper = _biased_backward_input
        else:
            wrapper = _biased_backward_output
        name = f"{wrapper.__name__}__{tag}"
        fn = types.FunctionType(wrapper.__code__, dict(wrapper.__globals__, _inner=own), name)
        fn.__qualname__ = f"{name}__{source_fingerprint('kernels', 'drivers/channel.py')}"
        own, share = kernel(fn), bias_share
    else:
        share = activation.array_param.grad_kernel
    _kernels[key] = own, share, tag
    return _kernels[key]
