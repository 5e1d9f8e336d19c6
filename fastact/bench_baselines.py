"""What every fastact function is benchmarked against: one table, keyed by registry name.

Both the asv suite (``benchmarks/``) and the report (``python -m fastact.bench``) build
their candidates here, so adding a function to the registry adds it to both, and a
function without an entry here fails at import instead of going unbenchmarked.

Each ``Baseline`` holds the plain NumPy expression a user would write (forward and
backward) and the PyTorch CPU equivalents. The PyTorch callables take the ``torch``
module as their first argument, so this module imports without torch. Parameters are
passed positionally in registry order; the softmax family and glu take ``axis`` last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.special
from numba import njit, prange

from .registry import ELEMENTWISE, HALVES, REGISTRY, REQUIRED, ROWWISE, Activation

FORMS = ("forward", "forward_", "backward", "backward_")
"""The four public forms, by the name of the record attribute that holds each."""

IMPLEMENTATIONS = ("fastact", "fastact-cpu", "fastact-parallel", "numpy", "torch")
_FASTACT_TARGETS = {"fastact": None, "fastact-cpu": "cpu", "fastact-parallel": "parallel"}

KINDS = (ELEMENTWISE, ROWWISE, HALVES)
"""Kinds of activation the benchmarks know how to feed; another kind fails the guard."""


@dataclass(frozen=True)
class Baseline:
    """The competitors of one activation.

    ``numpy_forward(x, *params)`` and ``numpy_backward(grad, saved, *params)`` return new
    arrays. ``torch_forward(torch, x, *params, out=None)`` and
    ``torch_backward(torch, grad, saved, *params, out=None)`` return a new tensor, or
    write into ``out`` (which may be an input: the in-place forms). ``torch_forward_``
    is torch's own in-place op where one exists. ``None`` marks a missing equivalent.
    ``params`` gives benchmark values for parameters without a default.
    """

    numpy_forward: Callable
    numpy_backward: Callable
    torch_forward: Callable | None = None
    torch_backward: Callable | None = None
    torch_forward_: Callable | None = None
    params: dict | None = None


def _aten(torch):
    return torch.ops.aten


# --------------------------------------------------------------------------- sigmoid
def _torch_sigmoid_backward(torch, g, y, out=None):
    op = _aten(torch).sigmoid_backward
    return op(g, y) if out is None else op.grad_input(g, y, grad_input=out)


# --------------------------------------------------------------------------- tanh
def _torch_tanh_backward(torch, g, y, out=None):
    op = _aten(torch).tanh_backward
    return op(g, y) if out is None else op.grad_input(g, y, grad_input=out)


# --------------------------------------------------------------------------- relu
def _torch_relu(torch, x, out=None):
    # torch.relu has no out=; it is clamp_min(x, 0) underneath, which has.
    return torch.relu(x) if out is None else torch.clamp_min(x, 0, out=out)


def _torch_relu_backward(torch, g, x, out=None):
    op = _aten(torch).threshold_backward
    return op(g, x, 0) if out is None else op.grad_input(g, x, 0, grad_input=out)


# --------------------------------------------------------------------------- leaky_relu
def _torch_leaky_relu(torch, x, slope, out=None):
    if out is None:
        return torch.nn.functional.leaky_relu(x, slope)
    return torch._C._nn.leaky_relu(x, slope, out=out)


def _torch_leaky_relu_backward(torch, g, x, slope, out=None):
    op = _aten(torch).leaky_relu_backward
    if out is None:
        return op(g, x, slope, False)
    return op.grad_input(g, x, slope, False, grad_input=out)


# --------------------------------------------------------------------------- glu
def _np_glu(x, axis):
    a, b = np.split(x, 2, axis)
    return a / (1 + np.exp(-b))


def _np_glu_backward(g, x, axis):
    a, b = np.split(x, 2, axis)
    s = 1 / (1 + np.exp(-b))
    return np.concatenate([g * s, g * a * s * (1 - s)], axis)


# --------------------------------------------------------------------------- gelu
_K0 = float(np.sqrt(2 / np.pi))


def _np_gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_K0 * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))


def _np_gelu_backward(g, x, approximate):
    if approximate == "tanh":
        t = np.tanh(_K0 * (x + 0.044715 * x**3))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K0 * (1 + 3 * 0.044715 * x * x))
    cdf = 0.5 * (1 + scipy.special.erf(x / np.sqrt(2)))
    return g * (cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi))


def _torch_gelu(torch, x, approximate, out=None):
    if out is None:
        return torch.nn.functional.gelu(x, approximate=approximate)
    return torch._C._nn.gelu(x, approximate=approximate, out=out)


def _torch_gelu_backward(torch, g, x, approximate, out=None):
    op = _aten(torch).gelu_backward
    if out is None:
        return op(g, x, approximate=approximate)
    return op.grad_input(g, x, approximate=approximate, grad_input=out)


# --------------------------------------------------------------------------- silu
def _np_silu_backward(g, x):
    s = 1 / (1 + np.exp(-x))
    return g * s * (1 + x * (1 - s))


def _torch_silu(torch, x, out=None):
    if out is None:
        return torch.nn.functional.silu(x)
    return torch._C._nn.silu(x, out=out)


def _torch_silu_backward(torch, g, x, out=None):
    op = _aten(torch).silu_backward
    return op(g, x) if out is None else op.grad_input(g, x, grad_input=out)


# --------------------------------------------------------------------------- tanhshrink
# PyTorch has no out= form of tanhshrink or softsign, nor backward ops: composed from the
# ops autograd runs (one temporary, as there).
def _torch_tanhshrink(torch, x, out=None):
    if out is None:
        return torch.nn.functional.tanhshrink(x)
    return torch.sub(x, torch.tanh(x), out=out)


def _torch_tanhshrink_backward(torch, g, x, out=None):
    return torch.mul(g, torch.tanh(x).square_(), out=out)


# --------------------------------------------------------------------------- softsign
def _torch_softsign(torch, x, out=None):
    if out is None:
        return torch.nn.functional.softsign(x)
    return torch.div(x, torch.abs(x).add_(1), out=out)


def _torch_softsign_backward(torch, g, x, out=None):
    return torch.div(g, torch.abs(x).add_(1).square_(), out=out)


# --------------------------------------------------------------------------- softplus
def _np_softplus(x, beta, threshold):
    z = x * beta
    return np.where(z > threshold, x, np.log1p(np.exp(z)) / beta)


def _np_softplus_backward(g, x, beta, threshold):
    z = x * beta
    return np.where(z > threshold, g, g / (1 + np.exp(-z)))


def _torch_softplus(torch, x, beta, threshold, out=None):
    if out is None:
        return torch.nn.functional.softplus(x, beta, threshold)
    return torch._C._nn.softplus(x, beta, threshold, out=out)


def _torch_softplus_backward(torch, g, x, beta, threshold, out=None):
    op = _aten(torch).softplus_backward
    if out is None:
        return op(g, x, beta, threshold)
    return op.grad_input(g, x, beta, threshold, grad_input=out)


# --------------------------------------------------------------------------- logsigmoid
def _np_logsigmoid(x):
    from scipy.special import log_expit  # NumPy has none; SciPy's is the stable one

    return log_expit(x)


def _torch_logsigmoid(torch, x, out=None):
    if out is None:
        return torch.nn.functional.logsigmoid(x)
    return torch._C._nn.log_sigmoid(x, out=out)


_logsigmoid_buffers: dict = {}


def _torch_logsigmoid_backward(torch, g, x, out=None):
    # ATen's CPU backward reads the forward's `buffer` (exp(-|x|)), which autograd saves
    # with x; computed once per input here, so that the timing is the backward's alone.
    key = (x.data_ptr(), x._version, tuple(x.shape), x.dtype)
    buffer = _logsigmoid_buffers.get(key)
    if buffer is None:
        _logsigmoid_buffers.clear()
        buffer = _logsigmoid_buffers[key] = _aten(torch).log_sigmoid_forward(x)[1]
    op = _aten(torch).log_sigmoid_backward
    if out is None:
        return op(g, x, buffer)
    return op.grad_input(g, x, buffer, grad_input=out)


# --------------------------------------------------------------------------- mish
def _np_mish_backward(g, x):
    t = np.tanh(np.log1p(np.exp(x)))
    return g * (t + x * (1 - t * t) / (1 + np.exp(-x)))


def _torch_mish(torch, x, out=None):
    if out is None:
        return torch.nn.functional.mish(x)
    return torch._C._nn.mish(x, out=out)


def _torch_mish_backward(torch, g, x, out=None):
    # aten.mish_backward has no out= overload: the result is copied into out.
    r = _aten(torch).mish_backward(g, x)
    return r if out is None else out.copy_(r)


# --------------------------------------------------------------------------- elu, selu, celu
# PyTorch computes all three with ATen's elu(x, alpha, scale, input_scale).
_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)


def _torch_elu(torch, x, alpha, scale, input_scale, out=None):
    if out is None:
        return torch._C._nn.elu(x, alpha, scale, input_scale)
    return torch._C._nn.elu(x, alpha, scale, input_scale, out=out)


def _torch_elu_backward(torch, g, x, alpha, scale, input_scale, out=None):
    op = _aten(torch).elu_backward
    if out is None:
        return op(g, alpha, scale, input_scale, False, x)
    return op.grad_input(g, alpha, scale, input_scale, False, x, grad_input=out)


# --------------------------------------------------------------------------- softmax
def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _torch_softmax(torch, x, axis, out=None):
    if out is None:
        return torch.nn.functional.softmax(x, axis)
    return torch._softmax(x, axis, False, out=out)


def _torch_softmax_backward(torch, g, y, axis, out=None):
    if out is None:
        return torch._softmax_backward_data(g, y, axis, y.dtype)
    return torch._softmax_backward_data(g, y, axis, y.dtype, grad_input=out)


# --------------------------------------------------------------------------- hard functions
def _np_prelu_backward(g, x, w):
    share = np.where(x > 0, 0, x * g)
    return np.where(x > 0, g, w * g), share.reshape(-1, w.size).sum(axis=0, dtype=np.float64)


def _torch_prelu(torch, x, w, out=None):
    y = torch.nn.functional.prelu(x, torch.from_numpy(w).to(x.dtype))
    return y if out is None else out.copy_(y)


def _torch_prelu_backward(torch, g, x, w, out=None):
    """ATen's prelu backward kernel and the reduction autograd runs after it (a weight of
    one value: the sum of every element's share)."""
    tw = torch.from_numpy(w).to(x.dtype)
    gx, share = torch.ops.aten._prelu_kernel_backward(g, x, tw)
    gw = share.sum()
    return (gx if out is None else out.copy_(gx)), gw


def _torch_out(op):
    """A PyTorch forward ``op(x, *params, out=None)`` with an ``out=`` overload."""
    return lambda torch, x, *p, out=None: (
        op(torch)(x, *p) if out is None else op(torch)(x, *p, out=out)
    )


def _torch_aten_backward(name, overload="grad_input"):
    """``torch.ops.aten.<name>`` as a backward peer: out= through its ``overload``."""

    def run(torch, g, x, *p, out=None):
        op = getattr(_aten(torch), name)
        if out is None:
            return op(g, x, *p)
        return getattr(op, overload)(g, x, *p, **{overload: out})

    return run


def _np_hardswish_backward(g, x):
    return np.where(x < -3, 0, np.where(x <= 3, g * (x / 3 + 0.5), g))


# --------------------------------------------------------------------------- log_softmax
def _np_log_softmax(x, axis):
    t = x - x.max(axis, keepdims=True)
    return t - np.log(np.exp(t).sum(axis, keepdims=True))


def _torch_log_softmax(torch, x, axis, out=None):
    if out is None:
        return torch.log_softmax(x, axis)
    return torch._log_softmax(x, axis, False, out=out)


def _torch_log_softmax_backward(torch, g, y, axis, out=None):
    op = _aten(torch)._log_softmax_backward_data
    return op(g, y, axis, y.dtype) if out is None else op.out(g, y, axis, y.dtype, out=out)


# --------------------------------------------------------------------------- softmin
def _torch_softmin(torch, x, axis, out=None):
    # torch.nn.functional.softmin has no out=: softmax of -x, as it computes.
    if out is None:
        return torch.nn.functional.softmin(x, axis)
    return torch._softmax(torch.neg(x), axis, False, out=out)


def _torch_softmin_backward(torch, g, y, axis, out=None):
    # The softmax backward of softmax(-x), negated: what autograd runs for softmin.
    r = _torch_softmax_backward(torch, g, y, axis, out)
    return r.neg_()


BASELINES: dict[str, Baseline] = {
    "sigmoid": Baseline(
        numpy_forward=lambda x: 1 / (1 + np.exp(-x)),
        numpy_backward=lambda g, y: g * y * (1 - y),
        torch_forward=lambda torch, x, out=None: torch.sigmoid(x, out=out),
        torch_backward=_torch_sigmoid_backward,
        torch_forward_=lambda torch, x: torch.sigmoid_(x),
    ),
    "tanh": Baseline(
        numpy_forward=np.tanh,
        numpy_backward=lambda g, y: g * (1 - y * y),
        torch_forward=lambda torch, x, out=None: torch.tanh(x, out=out),
        torch_backward=_torch_tanh_backward,
        torch_forward_=lambda torch, x: torch.tanh_(x),
    ),
    "silu": Baseline(
        numpy_forward=lambda x: x / (1 + np.exp(-x)),
        numpy_backward=_np_silu_backward,
        torch_forward=_torch_silu,
        torch_backward=_torch_silu_backward,
        torch_forward_=lambda torch, x: torch.nn.functional.silu(x, inplace=True),
    ),
    "tanhshrink": Baseline(
        numpy_forward=lambda x: x - np.tanh(x),
        numpy_backward=lambda g, x: g * np.tanh(x) ** 2,
        torch_forward=_torch_tanhshrink,
        torch_backward=_torch_tanhshrink_backward,
    ),
    "softsign": Baseline(
        numpy_forward=lambda x: x / (1 + np.abs(x)),
        numpy_backward=lambda g, x: g / (1 + np.abs(x)) ** 2,
        torch_forward=_torch_softsign,
        torch_backward=_torch_softsign_backward,
    ),
    "gelu": Baseline(
        numpy_forward=_np_gelu,
        numpy_backward=_np_gelu_backward,
        torch_forward=_torch_gelu,
        torch_backward=_torch_gelu_backward,
    ),
    "relu": Baseline(
        numpy_forward=lambda x: np.maximum(x, 0),
        numpy_backward=lambda g, x: g * (x > 0),
        torch_forward=_torch_relu,
        torch_backward=_torch_relu_backward,
        torch_forward_=lambda torch, x: torch.relu_(x),
    ),
    "leaky_relu": Baseline(
        numpy_forward=lambda x, s: np.where(x > 0, x, x * s),
        numpy_backward=lambda g, x, s: np.where(x > 0, g, g * s),
        torch_forward=_torch_leaky_relu,
        torch_backward=_torch_leaky_relu_backward,
        torch_forward_=lambda torch, x, s: torch.nn.functional.leaky_relu_(x, s),
    ),
    "softplus": Baseline(
        numpy_forward=_np_softplus,
        numpy_backward=_np_softplus_backward,
        torch_forward=_torch_softplus,
        torch_backward=_torch_softplus_backward,
    ),
    "logsigmoid": Baseline(
        numpy_forward=_np_logsigmoid,
        numpy_backward=lambda g, x: g / (1 + np.exp(x)),
        torch_forward=_torch_logsigmoid,
        torch_backward=_torch_logsigmoid_backward,
    ),
    "mish": Baseline(
        numpy_forward=lambda x: x * np.tanh(np.log1p(np.exp(x))),
        numpy_backward=_np_mish_backward,
        torch_forward=_torch_mish,
        torch_backward=_torch_mish_backward,
        torch_forward_=lambda torch, x: torch.nn.functional.mish(x, inplace=True),
    ),
    "elu": Baseline(
        numpy_forward=lambda x, a: np.where(x > 0, x, a * np.expm1(x)),
        numpy_backward=lambda g, x, a: np.where(x > 0, g, g * a * np.exp(x)),
        torch_forward=lambda torch, x, a, out=None: _torch_elu(torch, x, a, 1.0, 1.0, out),
        torch_backward=lambda torch, g, x, a, out=None: _torch_elu_backward(
            torch, g, x, a, 1.0, 1.0, out
        ),
        torch_forward_=lambda torch, x, a: torch.nn.functional.elu_(x, a),
    ),
    "selu": Baseline(
        numpy_forward=lambda x: _SELU[1] * np.where(x > 0, x, _SELU[0] * np.expm1(x)),
        numpy_backward=lambda g, x: _SELU[1] * np.where(x > 0, g, g * _SELU[0] * np.exp(x)),
        torch_forward=lambda torch, x, out=None: _torch_elu(torch, x, *_SELU, 1.0, out),
        torch_backward=lambda torch, g, x, out=None: _torch_elu_backward(
            torch, g, x, *_SELU, 1.0, out
        ),
        torch_forward_=lambda torch, x: torch.selu_(x),
    ),
    "celu": Baseline(
        numpy_forward=lambda x, a: np.where(x > 0, x, a * np.expm1(x / a)),
        numpy_backward=lambda g, x, a: np.where(x > 0, g, g * np.exp(x / a)),
        torch_forward=lambda torch, x, a, out=None: _torch_elu(torch, x, a, 1.0, 1.0 / a, out),
        torch_backward=lambda torch, g, x, a, out=None: _torch_elu_backward(
            torch, g, x, a, 1.0, 1.0 / a, out
        ),
        torch_forward_=lambda torch, x, a: torch.celu_(x, a),
    ),
    "prelu": Baseline(
        numpy_forward=lambda x, w: np.where(x > 0, x, w * x),
        numpy_backward=_np_prelu_backward,
        torch_forward=_torch_prelu,
        torch_backward=_torch_prelu_backward,
        # One weight for every element: valid for the benchmarks' inputs of any shape.
        params={"weight": np.array([0.25])},
    ),
    "softmax": Baseline(
        numpy_forward=_np_softmax,
        numpy_backward=lambda g, y, axis: y * (g - (g * y).sum(axis, keepdims=True)),
        torch_forward=_torch_softmax,
        torch_backward=_torch_softmax_backward,
    ),
    "threshold": Baseline(
        numpy_forward=lambda x, t, v: np.where(x > t, x, v),
        numpy_backward=lambda g, x, t, v: np.where(x > t, g, 0),
        torch_forward=_torch_out(lambda torch: torch.threshold),
        torch_backward=lambda torch, g, x, t, v, out=None: _torch_aten_backward(
            "threshold_backward"
        )(torch, g, x, t, out=out),
        torch_forward_=lambda torch, x, t, v: torch.nn.functional.threshold_(x, t, v),
        params={"threshold": 0.1, "value": 20.0},
    ),
    "hardsigmoid": Baseline(
        numpy_forward=lambda x: np.clip(x / 6 + 0.5, 0, 1),
        numpy_backward=lambda g, x: np.where((x > -3) & (x < 3), g / 6, 0),
        torch_forward=_torch_out(lambda torch: torch._C._nn.hardsigmoid),
        torch_backward=_torch_aten_backward("hardsigmoid_backward"),
        torch_forward_=lambda torch, x: torch.nn.functional.hardsigmoid(x, inplace=True),
    ),
    "hardswish": Baseline(
        numpy_forward=lambda x: x * np.clip(x + 3, 0, 6) / 6,
        numpy_backward=_np_hardswish_backward,
        torch_forward=_torch_out(lambda torch: torch._C._nn.hardswish),
        torch_backward=_torch_aten_backward("hardswish_backward", "out"),
        torch_forward_=lambda torch, x: torch.nn.functional.hardswish(x, inplace=True),
    ),
    "hardtanh": Baseline(
        numpy_forward=lambda x, lo, hi: np.clip(x, lo, hi),
        numpy_backward=lambda g, x, lo, hi: np.where((x > lo) & (x < hi), g, 0),
        torch_forward=_torch_out(lambda torch: torch._C._nn.hardtanh),
        torch_backward=_torch_aten_backward("hardtanh_backward"),
        torch_forward_=lambda torch, x, lo, hi: torch.nn.functional.hardtanh_(x, lo, hi),
    ),
    "relu6": Baseline(
        numpy_forward=lambda x: np.clip(x, 0, 6),
        numpy_backward=lambda g, x: np.where((x > 0) & (x < 6), g, 0),
        torch_forward=lambda torch, x, out=None: _torch_out(lambda t: t._C._nn.hardtanh)(
            torch, x, 0.0, 6.0, out=out
        ),
        torch_backward=lambda torch, g, x, out=None: _torch_aten_backward("hardtanh_backward")(
            torch, g, x, 0.0, 6.0, out=out
        ),
        torch_forward_=lambda torch, x: torch.nn.functional.relu6(x, inplace=True),
    ),
    "hardshrink": Baseline(
        numpy_forward=lambda x, lambd: np.where(np.abs(x) > lambd, x, 0),
        numpy_backward=lambda g, x, lambd: np.where(np.abs(x) > lambd, g, 0),
        torch_forward=_torch_out(lambda torch: torch.hardshrink),
        torch_backward=_torch_aten_backward("hardshrink_backward"),
    ),
    "softshrink": Baseline(
        numpy_forward=lambda x, lambd: np.where(
            x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)
        ),
        numpy_backward=lambda g, x, lambd: np.where(np.abs(x) > lambd, g, 0),
        torch_forward=_torch_out(lambda torch: torch._C._nn.softshrink),
        torch_backward=_torch_aten_backward("softshrink_backward"),
    ),
    "glu": Baseline(
        numpy_forward=_np_glu,
        numpy_backward=_np_glu_backward,
        torch_forward=_torch_out(lambda torch: torch._C._nn.glu),
        torch_backward=_torch_aten_backward("glu_backward"),
    ),
    "log_softmax": Baseline(
        numpy_forward=_np_log_softmax,
        numpy_backward=lambda g, y, axis: g - np.exp(y) * g.sum(axis, keepdims=True),
        torch_forward=_torch_log_softmax,
        torch_backward=_torch_log_softmax_backward,
    ),
    "softmin": Baseline(
        numpy_forward=lambda x, axis: _np_softmax(-x, axis),
        numpy_backward=lambda g, y, axis: y * ((g * y).sum(axis, keepdims=True) - g),
        torch_forward=_torch_softmin,
        torch_backward=_torch_softmin_backward,
    ),
}


def check_coverage(registry=REGISTRY, baselines=BASELINES) -> None:
    """Raise ``ImportError`` naming every registered function the benchmarks cannot run."""
    problems = []
    for name, act in registry.items():
        if act.kind not in KINDS:
            problems.append(f"{name}: kind {act.kind!r} has no benchmark shapes")
        entry = baselines.get(name)
        if entry is None:
            problems.append(f"{name}: no entry in fastact.bench_baselines.BASELINES")
            continue
        given = entry.params or {}
        for p in act.params:
            if p.default is REQUIRED and p.name not in given:
                problems.append(f"{name}: parameter {p.name!r} needs a benchmark value")
    if problems:
        raise ImportError(
            "benchmarks do not cover every registered activation; add an entry to "
            "fastact/bench_baselines.py for:\n  " + "\n  ".join(problems)
        )


check_coverage()


# --------------------------------------------------------------------------- helpers
def params(act: Activation) -> tuple:
    """Benchmark parameter values in call order (defaults; ``axis=-1`` last where the
    function takes an axis)."""
    given = BASELINES[act.name].params or {}
    values = tuple(given.get(p.name, p.default) for p in act.params)
    return values + ((-1,) if act.takes_axis else ())


def label(act: Activation) -> str:
    """The function with its benchmark parameters, e.g. ``leaky_relu(negative_slope=0.01)``."""
    names = act.param_names + (("axis",) if act.takes_axis else ())
    inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, params(act), strict=True))
    return f"{act.name}({inner})"


def result_shape(act: Activation, direction: str, shape) -> tuple:
    """The shape of ``direction``'s result for an input ``x`` of ``shape`` (glu's forward
    halves the last axis; ``grad`` has the forward result's shape)."""
    shape = tuple(shape)
    if act.kind == HALVES and direction == "forward":
        return shape[:-1] + (shape[-1] // 2,)
    return shape


def make_inputs(act: Activation, direction: str, dtype, shape, seed: int = 0) -> tuple:
    """``(x,)`` for the forward pass, ``(grad, saved)`` for the backward pass.

    ``x`` is normal with scale 3, so every branch of every function is taken; ``saved``
    is the forward's output or input, from the float64 reference. Built in chunks with
    no full-size temporaries, so that ``peakmem`` benchmarks see only the inputs.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=dtype)
    x *= 3
    if direction == "forward":
        return (x,)
    grad = rng.standard_normal(result_shape(act, "forward", shape), dtype=dtype)
    if act.saves == "input":
        return grad, x
    p = params(act)
    # x becomes saved in place, a chunk at a time: no third full-size array.
    flat = x.reshape(-1, x.shape[-1]) if act.kind == ROWWISE else x.reshape(-1)
    step = max(1, (1 << 20) // (x.shape[-1] if act.kind == ROWWISE else 1))
    for i in range(0, flat.shape[0], step):
        flat[i : i + step] = act.reference(flat[i : i + step].astype(np.float64), *p)
    saved = x
    return grad, saved


_torch_module = False


def load_torch():
    """The torch module, or ``None`` if it is not installed (imported once, lazily)."""
    global _torch_module
    if _torch_module is False:
        try:
            import torch
        except ImportError:
            torch = None
        _torch_module = torch
    return _torch_module


def candidate(act: Activation, form: str, impl: str, arrays: tuple, out=None) -> Callable:
    """A zero-argument callable running ``form`` of ``act`` on ``arrays`` with ``impl``.

    In-place forms overwrite ``arrays[0]``. ``out`` (a preallocated array, ignored by the
    NumPy expression and the in-place forms) makes the out-of-place forms write into it
    instead of allocating. Raises ``NotImplementedError`` for combinations that do not
    exist (no torch, no torch equivalent, unknown implementation).
    """
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; expected one of {FORMS}")
    if form not in act.form_kinds:
        raise NotImplementedError(f"{act.name} has no {form} form")
    p = params(act)
    base = BASELINES[act.name]
    backward = form.startswith("backward")
    inplace = form.endswith("_")

    if impl in _FASTACT_TARGETS:
        fn = getattr(act, form)
        kw = {"target": _FASTACT_TARGETS[impl]}
        if out is not None and not inplace:
            kw["out"] = out
        return lambda: fn(*arrays, *p, **kw)

    if impl == "numpy":
        expr = base.numpy_backward if backward else base.numpy_forward

        def run():
            with np.errstate(all="ignore"):  # the naive expressions overflow quietly
                return expr(*arrays, *p)

        if not inplace:
            return run
        target = arrays[0]
        if backward and act.array_param is not None:

            def run_in_place():  # (grad, grad_param), as fastact's in-place backward
                gx, gp = run()
                np.copyto(target, gx)
                return target, gp

            return run_in_place
        return lambda: np.copyto(target, run())

    if impl == "torch":
        torch = load_torch()
        if torch is None:
            raise NotImplementedError("PyTorch is not installed")
        fn = base.torch_backward if backward else base.torch_forward
        if fn is None:
            raise NotImplementedError(f"PyTorch has no equivalent of {act.name}")
        tensors = tuple(torch.from_numpy(a) for a in arrays)
        if inplace and not backward and base.torch_forward_ is not None:
            native = base.torch_forward_
            return lambda: native(torch, *tensors, *p)
        if inplace:
            dest = tensors[0]
        elif out is not None:
            dest = torch.from_numpy(out)
        else:
            dest = None
        return lambda: fn(torch, *tensors, *p, out=dest)

    raise NotImplementedError(f"unknown implementation {impl!r}")


# --------------------------------------------------------------------------- masked rows
MASKED_IMPLEMENTATIONS = ("fastact", "fastact-unmasked", "numpy", "torch")
MASKED_SHAPE = (8, 8, 512, 512)
"""Attention scores (batch, heads, T, T) against a causal (T, T) mask: the masked case."""


def masked_inputs(dtype, shape=MASKED_SHAPE, seed: int = 0) -> tuple:
    """``(x, mask)``: normal scores of ``shape`` and the causal mask of its last two axes."""
    x = np.random.default_rng(seed).standard_normal(shape, dtype=np.dtype(dtype))
    return x, np.tril(np.ones(shape[-2:], bool))


def masked_candidate(act: Activation, impl: str, x, mask, out=None) -> Callable:
    """``act``'s forward over the rows of ``x`` with ``where=mask``, by ``impl``: fastact
    (and its unmasked call, the bar to meet), or the peers' way, the masked elements
    filled with the value that takes them out (-inf, +inf for softmin) first: NumPy's
    ``np.where`` and PyTorch's ``masked_fill`` (into ``out`` where given)."""
    if not act.takes_where:
        raise NotImplementedError(f"{act.name} takes no where=")
    fill = -act.row_family[0] * np.inf
    base = BASELINES[act.name]
    if impl == "fastact":
        return lambda: act.forward(x, -1, where=mask, out=out)
    if impl == "fastact-unmasked":
        return lambda: act.forward(x, -1, out=out)
    if impl == "numpy":

        def run():
            with np.errstate(all="ignore"):
                return base.numpy_forward(np.where(mask, x, fill), -1)

        return run
    if impl == "torch":
        torch = load_torch()
        if torch is None or base.torch_forward is None:
            raise NotImplementedError("no PyTorch equivalent")
        tx, keep = torch.from_numpy(x), torch.from_numpy(mask)
        dest = None if out is None else torch.from_numpy(out)
        return lambda: base.torch_forward(torch, tx.masked_fill(~keep, fill), -1, out=dest)
    raise NotImplementedError(f"unknown implementation {impl!r}")


def copy_floor(direction: str, arrays: tuple, out, parallel: bool = False) -> Callable:
    """The memory-bound floor for a pass over ``arrays`` into ``out``.

    Forward: one read and one write (``np.copyto``); backward: two reads and one write
    (``np.add``). ``parallel`` runs the same on all Numba threads: one core alone does not
    saturate the memory bus, so a multi-threaded kernel can beat NumPy's serial copy. The
    ratio floor time / kernel time is the fraction of copy bandwidth the kernel reaches.
    """
    if direction == "forward" and arrays[0].shape != out.shape:  # glu: the halves' sum
        a, b = np.split(arrays[0], 2, -1)
        return lambda: np.add(a, b, out=out)
    if direction == "backward" and arrays[0].shape != out.shape:  # glu: x into out
        return lambda: np.copyto(out, arrays[1])
    if direction == "forward":
        (x,) = arrays
        if parallel:
            src, dst = x.reshape(-1), out.reshape(-1)
            return lambda: _parallel_copy(src, dst)
        return lambda: np.copyto(out, x)
    g, s = arrays
    if parallel:
        a, b, dst = g.reshape(-1), s.reshape(-1), out.reshape(-1)
        return lambda: _parallel_add(a, b, dst)
    return lambda: np.add(g, s, out=out)


# Compiled at first use and cached on disk: importing this module compiles nothing.
@njit(parallel=True, cache=True, nogil=True)
def _parallel_copy(src, dst):
    for i in prange(src.size):
        dst[i] = src[i]


@njit(parallel=True, cache=True, nogil=True)
def _parallel_add(a, b, dst):
    for i in prange(a.size):
        dst[i] = a[i] + b[i]


# --------------------------------------------------------------------------- fused bias
BIAS_IMPLEMENTATIONS = ("fastact", "fastact-plain", "fastact-separate", "numpy", "torch")
BIAS_SHAPE = (10_000, 1_000)
"""A layer's pre-activations (batch, features) and a bias along the features."""


def bias_inputs(act: Activation, direction: str, dtype, shape=BIAS_SHAPE, seed: int = 0):
    """``make_inputs``' arrays and a bias of ``shape[-1]`` values. The separate peers take
    ``saved`` as the bias-added value they would have kept; the fused call takes it as the
    value before the bias: the same array serves both (equal work)."""
    b = np.random.default_rng(seed + 1).standard_normal(shape[-1], dtype=np.dtype(dtype))
    return (*make_inputs(act, direction, dtype, shape, seed), b)


def bias_candidate(act: Activation, direction: str, impl: str, arrays, out=None) -> Callable:
    """``act``'s ``direction`` with a bias by ``impl``: fastact fused (``bias=``), fastact
    without a bias (the bar: the fused call should cost at most 1.1x forward, 1.2x
    backward), and the separate way (``F(x + b)``; backward then ``.sum(axis=0)``) by
    fastact, NumPy and PyTorch, into ``out`` where they can."""
    p = params(act)
    *data, b = arrays
    backward = direction == "backward"
    fn = act.backward if backward else act.forward
    base = BASELINES[act.name]
    if impl == "fastact":
        return lambda: fn(*data, *p, bias=b, out=out)
    if impl == "fastact-plain":
        return lambda: fn(*data, *p, out=out)
    if impl == "fastact-separate":
        if backward:
            return lambda: (fn(*data, *p, out=out).sum(axis=0),)
        return lambda: fn(data[0] + b, *p, out=out)
    if impl == "numpy":
        expr = base.numpy_backward if backward else base.numpy_forward

        def run():
            with np.errstate(all="ignore"):
                if backward:
                    gx = expr(*data, *p)
                    return gx, gx.sum(axis=0)
                return expr(data[0] + b, *p)

        return run
    if impl == "torch":
        torch = load_torch()
        if torch is None or base.torch_forward is None:
            raise NotImplementedError("no PyTorch equivalent")
        tensors = [torch.from_numpy(a) for a in data]
        tb = torch.from_numpy(b)
        dest = None if out is None else torch.from_numpy(out)
        if backward:

            def run():
                gx = base.torch_backward(torch, *tensors, *p, out=dest)
                return gx, gx.sum(dim=0)

            return run
        return lambda: base.torch_forward(torch, tensors[0] + tb, *p, out=dest)
    raise NotImplementedError(f"unknown implementation {impl!r}")
