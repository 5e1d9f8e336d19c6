"""Dispatch of the ``HALVES`` kind (glu): the input's two halves along ``axis`` in, a result
of half its length along ``axis`` out (the backward: ``grad`` of that shape in, the input's
shape out).

The checks are ``validation.halves`` and ``validation.check_halves_grad``, shared with the
GPU path; everything is checked before anything is written. The kernels see the input as
C-contiguous ``(outer, 2, m)`` (``(outer, n, inner)`` with ``m = n // 2 * inner``: a
reshape, no transpose, whatever the axis) and write a C-contiguous ``(outer, m)`` (forward)
or ``(outer, 2, m)`` (backward): the destination itself where it is C-contiguous and of the
compute dtype, else a scratch array copied into it, so that every layout gets its whole
result. An input that shares memory with the destination is copied first, unless it is
laid out exactly like it (``glu_backward(g, x, out=x)``: each element is read before it is
written). Thread choice and drivers are the other kinds': ``dispatch._run``.
"""

from __future__ import annotations

import functools

import numpy as np

from . import dispatch
from . import validation as v


def run(call, arrays, params, axis, out, target):
    """Validate and compute one call of a ``HALVES`` function's public form."""
    if not params and (target is None or target == "cpu"):
        done = _fast(call, arrays, axis, out, target)
        if done is not None:
            return done
    if target is not None and target not in dispatch.TARGETS:
        raise call.error(ValueError, "target", f"must be one of {dispatch.TARGETS}, got {target!r}")
    if any(map(v.is_dask, arrays)) or v.is_dask(out):
        return _dask(call, arrays, params, axis, out, target)
    if target == "cuda" or (
        target is None and (any(map(v.is_cuda, arrays)) or (out is not None and v.is_cuda(out)))
    ):
        return dispatch._run_cuda(call, arrays, *v.params(call, params), axis, out)

    names = call.arg_names
    arrays = v.as_arrays(call, arrays)
    result, compute = v.dtypes(call, names[0], arrays[0].dtype)
    if len(arrays) == 2:
        saved = v.dtypes(call, names[1], arrays[1].dtype)[0]
        if saved != result:
            result = np.result_type(result, saved)
            compute = v.compute_dtype(result)
    variant, values = v.params(call, params) if params else (None, ())
    x = arrays[-1]
    axis, half_shape, (outer, m) = v.halves(call, x.shape, axis)
    backward = call.direction == "backward"
    if backward:
        v.check_halves_grad(call, arrays[0].shape, half_shape)
    shape = x.shape if backward else half_shape
    if out is not None:
        v.check_out(call, "out", out, shape)

    # Validation is over: from here on, nothing raises on the user's account.
    users_dest = out is not None
    dest = out if users_dest else np.empty(shape, result)
    if dest.size == 0:
        return dest
    kshape = (outer, 2, m) if backward else (outer, m)
    work = None
    if dest.dtype == compute and dest.flags.c_contiguous:
        work = dest.reshape(kshape)
    scratch = work is None
    if scratch:
        work = np.empty(kshape, compute)
    inputs = []
    for a, k in zip(arrays, [(outer, m), (outer, 2, m)][-len(arrays) :], strict=True):
        a = np.ascontiguousarray(a, dtype=compute).reshape(k)
        if (
            users_dest
            and not scratch
            and np.may_share_memory(a, work)
            and (a.shape != work.shape or a.ctypes.data != work.ctypes.data)
        ):
            a = a.copy()
        inputs.append(a)
    kparams = v.rounded(call, values, compute) if values else ()
    dispatch._run(call, variant, (*inputs, work, kparams), target, x.size)
    if scratch:
        v.copy_quietly(dest, work.reshape(shape))
    return dest


def _fast(call, arrays, axis, out, target):
    """The commonest call in few steps, or None for the general path (as ``dispatch._fast_path``):
    C-contiguous NumPy float32/float64 arrays of one dtype, ``out`` absent or alike and
    sharing no memory with the inputs, no parameters, an int ``axis`` along which the input
    splits; the same checks, driver and target choice."""
    x = arrays[-1]
    if type(x) is not np.ndarray or type(axis) is not int:
        return None
    dtype = x.dtype
    if (dtype is not v.FLOAT32 and dtype is not v.FLOAT64) or not x.flags.c_contiguous:
        return None
    shape = x.shape
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        return None
    n = shape[axis]
    if n % 2 or x.size == 0:
        return None
    ax = axis % ndim
    half = shape[:ax] + (n // 2,) + shape[ax + 1 :]
    if ax == ndim - 1:
        outer, m = x.size // n, n // 2
    else:
        outer = 1
        for k in shape[:ax]:
            outer *= k
        m = x.size // outer // 2
    backward = call.direction == "backward"
    if out is None:
        y = np.empty(shape if backward else half, dtype)
    else:
        y = out
        if type(y) is not np.ndarray or y.dtype is not dtype:
            return None
        if y.shape != (shape if backward else half):
            return None
        if not (y.flags.c_contiguous and y.flags.writeable) or not dispatch._disjoint(x, y):
            return None
    if not backward:
        args = (x.reshape(outer, 2, m), y.reshape(outer, m), ())
    else:
        g = arrays[0]
        if type(g) is not np.ndarray or g.dtype is not dtype or g.shape != half:
            return None
        if not g.flags.c_contiguous or (out is not None and not dispatch._disjoint(g, y)):
            return None
        args = (g.reshape(outer, m), x.reshape(outer, 2, m), y.reshape(outer, 2, m), ())
    dispatch._run(call, None, args, target, x.size)
    return y


def _dask(call, arrays, params, axis, out, target):
    """Lazy dask result: ``axis`` rechunked into one chunk, every block by the NumPy path."""
    import dask.array as da

    if out is not None:
        raise call.error(TypeError, "out", "cannot be given with dask arrays (they are immutable)")
    arrays = [a if v.is_dask(a) else da.asarray(a) for a in arrays]
    names = call.arg_names
    result = np.result_type(
        *(v.dtypes(call, n, a.dtype)[0] for n, a in zip(names, arrays, strict=True))
    )
    v.kernel_params(call, params, v.compute_dtype(result))  # as dask_arrays.run
    x = arrays[-1]
    axis, half_shape, _ = v.halves(call, x.shape, axis)
    x = x.rechunk({axis: -1})
    chunks = list(x.chunks)
    if call.direction == "backward":
        v.check_halves_grad(call, arrays[0].shape, half_shape)
        grad = arrays[0].rechunk({i: -1 if i == axis else c for i, c in enumerate(chunks)})
        blocks = (grad, x)
    else:
        chunks[axis] = (half_shape[axis],)
        blocks = (x,)
    public = call.act.forward if call.direction == "forward" else call.act.backward
    fn = functools.partial(_block, public, tuple(params), axis, target)
    meta = np.empty((0,) * x.ndim, result)
    return da.map_blocks(fn, *blocks, chunks=tuple(chunks), dtype=result, meta=meta)


def _block(fn, params, axis, target, *blocks):
    # Module-level, so that dask.distributed pickles it by reference.
    return fn(*blocks, *params, axis=axis, target=target)
