"""The checks every target shares: what a call is about, and what its arguments must be.

The CPU dispatch (``dispatch``) and the GPU path (``drivers.cuda``) both validate through
this module, before anything is written: a failed call leaves its arrays unchanged. Every
error names the function and the argument at fault.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.exceptions import AxisError
from numpy.lib.array_utils import normalize_axis_index

from .registry import BIAS, REQUIRED, ROWWISE, Activation

FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)


class Call:
    """What one public form is about: the activation, the form's name and direction."""

    __slots__ = ("act", "name", "direction", "inplace", "arg_names", "rowwise", "drivers")

    def __init__(self, act: Activation, name: str, direction: str, inplace: bool):
        self.act = act
        self.name = name
        self.direction = direction
        self.inplace = inplace
        self.arg_names = ("x",) if direction == "forward" else ("grad", "saved")
        self.rowwise = act.kind == ROWWISE
        self.drivers = {}  # (parallel, variant) -> compiled CPU driver, filled by dispatch

    def error(self, exc, arg, message):
        return exc(f"fastact.{self.name}: argument '{arg}' {message}")


# ------------------------------------------------------------------ dtypes
_DTYPES: dict = {}  # input dtype -> (the float dtype it stands for, its compute dtype)


def dtypes(call, arg, dtype):
    """(float dtype, compute dtype) of an input: floats stand for themselves (native byte
    order), integers and bools for float64; float32 computes float16 and float32, float64
    computes the rest."""
    try:
        return _DTYPES[dtype]
    except KeyError:
        pass
    if dtype.kind == "f":
        # The builtin (singleton) dtype, not newbyteorder's copy: results carry it, and
        # the dispatch's short path tells dtypes apart by identity (a copy would send
        # every later call that takes this result down the general path).
        as_float = np.dtype(dtype.type)
    elif dtype.kind in "biu":
        as_float = FLOAT64
    else:
        raise call.error(
            TypeError, arg, f"has dtype {dtype}; expected a real (floating, integer or bool) type"
        )
    info = _DTYPES[dtype] = (as_float, FLOAT32 if as_float.itemsize <= 4 else FLOAT64)
    return info


def copy_quietly(dest, src):
    """``np.copyto(dest, src)`` for results written into a narrower dtype (float16, an
    ``out`` of less precision): inf and 0 there are the rounding's results, not errors
    (SPEC §4: no floating-point warnings, whatever NumPy's error state)."""
    with np.errstate(all="ignore"):
        np.copyto(dest, src, casting="same_kind")


def cast_quietly(a, dtype):
    """``a`` as a new array of ``dtype``, rounded as ``copy_quietly`` rounds."""
    with np.errstate(all="ignore"):
        return np.array(a, dtype=dtype)


def as_arrays(call, arrays):
    """The inputs as NumPy arrays (``np.asarray``); what it cannot take (a ragged list)
    raises its own error, with the function and the argument named."""
    out = []
    for name, a in zip(call.arg_names, arrays, strict=True):
        if type(a) is not np.ndarray:
            try:
                a = np.asarray(a)
            except (ValueError, TypeError) as e:
                raise call.error(type(e), name, f"is not an array: {e}") from None
            except RuntimeError as e:  # a PyTorch tensor that requires grad
                raise call.error(TypeError, name, f"is not an array: {e}") from None
        out.append(a)
    return out


def compute_dtype(result):
    return FLOAT32 if result.itemsize <= 4 else FLOAT64


# ------------------------------------------------------------------ parameters
def params(call, values):
    """``(variant, numbers)``: the choice parameter's value (None if there is none) and
    the numeric parameters as floats, in registry order, validated."""
    act = call.act
    variant = None
    numeric = []
    for p, v in zip(act.params, values, strict=True):
        if p.is_array:  # checked against x's shape by channel_param
            continue
        if p.is_choice:
            if not isinstance(v, str) or v not in p.choices:
                listed = ", ".join(repr(c) for c in p.choices)
                exc = ValueError if isinstance(v, str) else TypeError
                raise call.error(exc, p.name, f"must be one of {listed}; got {v!r}")
            variant = v
            continue
        if v is REQUIRED:
            raise TypeError(f"fastact.{call.name}() missing required argument {p.name!r}")
        if type(v) is not float and not isinstance(v, numbers.Real):
            raise call.error(TypeError, p.name, f"must be a real number, got {type(v).__name__}")
        try:
            numeric.append(float(v))
        except OverflowError:  # an int beyond float64's range
            raise call.error(OverflowError, p.name, "is too large for a float") from None
    if act.check is not None:
        message = act.check(*numeric)
        if message:
            raise ValueError(f"fastact.{call.name}: {message}")
    return variant, numeric


def rounded(call, numeric, dtype):
    """The numeric parameters as ``dtype`` scalars, what every target's kernels take:
    rounded quietly (1e300 is inf in float32, as in PyTorch), and checked again as rounded
    (beta = 1e-50 is 0 in float32)."""
    with np.errstate(over="ignore"):
        values = tuple(dtype.type(v) for v in numeric)
    if call.act.check is not None:
        message = call.act.check(*(float(v) for v in values), dtype=dtype)
        if message:
            raise ValueError(f"fastact.{call.name}: {message}")
    return values


_KERNEL_PARAMS: dict = {}  # (name, dtype, *values) -> (variant, values as dtype scalars)


def kernel_params(call, values, dtype):
    """``params`` with the numbers converted to ``dtype``, memoised by value: one
    np.float32(v) costs 0.25 us. Zeros are not memoised (0.0 and -0.0 are one key)."""
    # The values' types are part of the key: 1.0 == True == 1+0j hash alike, and a cached
    # 1.0 must not let a complex through unchecked.
    key = (call.act.name, dtype, *values, *map(type, values))
    try:
        return _KERNEL_PARAMS[key]
    except (KeyError, TypeError):  # unhashable: params() reports it
        pass
    variant, numeric = params(call, values)
    result = (variant, rounded(call, numeric, dtype))
    if 0 not in result[1] and len(_KERNEL_PARAMS) < 1024:
        _KERNEL_PARAMS[key] = result
    return result


def channel_param(call, name, value, shape):
    """Check an array parameter (``prelu``'s ``weight``) or the fused ``bias`` against
    ``x``'s shape, and return ``(outer, C, inner)``: the shape as the per-channel drivers
    of every target see it, ``value[c]`` applying to ``x3[:, c, :]``.

    ``value`` must be a 1-D floating array (NumPy, or a GPU array on the GPU path),
    ``C`` long, ``C`` the length of the parameter's axis; its values are rounded to the
    compute dtype, as numeric parameters are. ``bias`` is only for elementwise functions
    without an array parameter of their own (registry ``takes_bias``)."""
    act = call.act
    if value is REQUIRED:
        raise TypeError(f"fastact.{call.name}() missing required argument '{name}'")
    if name == "bias":
        if not act.takes_bias:
            why = (
                "the softmax family is not elementwise"
                if act.kind == ROWWISE
                else (f"{act.name} has an array parameter of its own")
            )
            raise call.error(TypeError, "bias", f"is not supported: {why}")
        param = BIAS
    else:
        param = act.array_param
    if not isinstance(value, np.ndarray) and not is_cuda(value):
        raise call.error(
            TypeError, name, f"must be a 1-D floating array, got {type(value).__name__}"
        )
    if value.dtype.kind != "f":
        raise call.error(TypeError, name, f"has dtype {value.dtype}; expected a floating dtype")
    if len(value.shape) != 1:
        raise call.error(ValueError, name, f"must be 1-D, got shape {tuple(value.shape)}")
    size = math.prod(shape)
    ndim = len(shape)
    axis = param.axis if param.axis >= 0 else ndim + param.axis
    if ndim == 0 and name == "bias":
        raise call.error(ValueError, name, "needs an input with at least one axis")
    channels = shape[axis] if 0 <= axis < ndim else 1
    n = value.shape[0]
    if n != channels and n not in param.sizes:
        sizes = " or ".join(str(k) for k in dict.fromkeys((channels, *param.sizes)))
        where = f"x.shape[{param.axis}]" if 0 <= axis < ndim else "x has too few axes"
        raise call.error(ValueError, name, f"has length {n}; expected {sizes} ({where})")
    if n == 1 and name != "bias":  # one value for every element
        return 1, 1, size
    outer = math.prod(shape[:axis])
    return outer, channels, size // max(outer * channels, 1) if channels else 0


def axis(call, axis, ndim):
    """``axis`` normalised to ``0 <= axis < ndim`` (a 0-d array has one axis), or None."""
    if axis is None:
        return None
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise call.error(TypeError, "axis", f"must be an int or None, got {type(axis).__name__}")
    # A 0-d array has one element along axis 0 or -1, as in PyTorch.
    if ndim == 0 and int(axis) not in (0, -1):
        raise AxisError(
            f"fastact.{call.name}: argument 'axis': axis {axis} is out of bounds for a 0-d "
            "array (it takes 0, -1 or None)"
        )
    return normalize_axis_index(int(axis), max(ndim, 1), f"fastact.{call.name}: argument 'axis'")


# ------------------------------------------------------------------ arrays
def check_in_place(call, a):
    """What an in-place form needs of its host array: a writeable floating NumPy array."""
    arg = call.arg_names[0]
    if not isinstance(a, np.ndarray):
        raise call.error(
            TypeError, arg, f"must be a NumPy array to work in place, got {type(a).__name__}"
        )
    if a.dtype.kind != "f":
        raise call.error(
            TypeError, arg, f"has dtype {a.dtype}; in-place forms need a floating dtype"
        )
    if not a.flags.writeable:
        raise call.error(ValueError, arg, "is read-only")


def check_out(call, arg, out, shape):
    """What ``out`` must be on the host: a writeable floating array of the result's shape."""
    if not isinstance(out, np.ndarray):
        raise call.error(TypeError, arg, f"must be a NumPy array, got {type(out).__name__}")
    if out.dtype.kind != "f":
        raise call.error(TypeError, arg, f"has dtype {out.dtype}; expected a floating dtype")
    if not out.flags.writeable:
        raise call.error(ValueError, arg, "is read-only")
    if out.shape != shape:
        raise call.error(ValueError, arg, f"has shape {out.shape}; expected {shape}")


def check_same_shape(call, grad_shape, saved_shape):
    if tuple(grad_shape) != tuple(saved_shape):
        raise call.error(
            ValueError, "saved", f"has shape {tuple(saved_shape)}; 'grad' has {tuple(grad_shape)}"
        )


def where(call, where, shape):
    """``where=`` (SPEC §2.4): a bool array broadcastable to ``shape`` (that of ``x``), as
    an array of its own shape (never broadcast here), or None."""
    if where is None:
        return None
    if not is_cuda(where) and not is_dask(where):
        try:
            where = np.asarray(where)
        except (ValueError, TypeError) as e:
            raise call.error(type(e), "where", f"is not an array: {e}") from None
    if where.dtype != np.bool_:
        raise call.error(TypeError, "where", f"has dtype {where.dtype}; expected bool")
    try:
        ok = np.broadcast_shapes(tuple(where.shape), tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise call.error(
            ValueError, "where", f"has shape {tuple(where.shape)}; not broadcastable to {shape}"
        )
    return where


def mask_rows(mask, shape, axis):
    """``(rows, midx)`` for the row kernels of every target: the host mask's own rows
    (2-D, broadcast along ``axis`` only) and, for each row of ``x`` (its other axes in C
    order, as the kernels number rows), the index of its mask row. A ``(T, T)`` mask
    against ``(B, H, T, T)`` scores stays T rows; with axis=None the one row is all of x."""
    mask = mask.reshape((1,) * (len(shape) - mask.ndim) + tuple(mask.shape))
    if axis is None or not shape:
        rows = np.ascontiguousarray(np.broadcast_to(mask, shape)).reshape(1, -1)
        return read_only(rows), read_only(np.zeros(1, np.intp))
    m = np.moveaxis(mask, axis, -1)
    n = shape[axis]
    rows = np.ascontiguousarray(np.broadcast_to(m, m.shape[:-1] + (n,))).reshape(-1, n)
    index = np.arange(rows.shape[0], dtype=np.intp).reshape(m.shape[:-1])
    outer = tuple(shape[:axis]) + tuple(shape[axis + 1 :])
    midx = np.ascontiguousarray(np.broadcast_to(index, outer)).reshape(-1)
    return read_only(rows), read_only(midx)


def read_only(a):
    """A read-only view of ``a``: whether a broadcast or a copy made a mask's arrays, the
    kernels get one Numba type (read-only is part of it), so one compiled signature, which
    the warm-up compiles, serves every mask."""
    v = a.view()
    v.flags.writeable = False
    return v


def is_cuda(a) -> bool:
    """Whether ``a`` lives on the GPU. ``__cuda_ndarray__`` marks Numba device arrays,
    including the CUDA simulator's, which have no ``__cuda_array_interface__``."""
    if isinstance(a, np.ndarray):
        return False
    return hasattr(a, "__cuda_array_interface__") or bool(getattr(a, "__cuda_ndarray__", False))


def is_dask(a) -> bool:
    """Whether ``a`` is a dask array, without importing dask."""
    return type(a).__module__.startswith("dask.array") and hasattr(a, "__dask_graph__")


# ------------------------------------------------------------------ halves (glu)
def halves(call, shape, axis_value):
    """``(axis, half_shape, (outer, m))`` for a function of kind ``HALVES`` on an input of
    ``shape``: ``axis`` normalised, the forward result's shape (half the length along
    ``axis``), and the 2-D shape ``(outer, m)`` its kernels see, the input being
    ``(outer, 2, m)``. An odd length along ``axis`` (a 0-d input has length 1) raises."""
    if not isinstance(axis_value, numbers.Integral) or isinstance(axis_value, bool):
        got = type(axis_value).__name__
        raise call.error(TypeError, "axis", f"must be an int (the axis to split), got {got}")
    ax = axis(call, axis_value, len(shape))
    shape = tuple(shape)
    n = shape[ax] if shape else 1
    if n % 2:
        raise call.error(
            ValueError,
            "axis",
            f"is {axis_value}: the input has odd length {n} along it (shape {shape}); "
            "it must split into two halves",
        )
    outer = 1
    for k in shape[:ax]:
        outer *= k
    m = n // 2
    for k in shape[ax + 1 :]:
        m *= k
    return ax, shape[:ax] + (n // 2,) + shape[ax + 1 :], (outer, m)


def check_halves_grad(call, grad_shape, half_shape):
    """``grad`` of a ``HALVES`` backward has the forward result's shape."""
    if tuple(grad_shape) != tuple(half_shape):
        raise call.error(
            ValueError,
            "grad",
            f"has shape {tuple(grad_shape)}; expected {tuple(half_shape)}, the shape of "
            "the forward's result",
        )
