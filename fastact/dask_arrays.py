"""dask arrays in, lazy dask arrays out: every block computed by the NumPy path.

Imported only when a dask array reaches a public form. Arguments are checked when the
call is made, not when the graph runs, with the NumPy path's messages. The softmax family
needs its reduction axis in one chunk: the input is rechunked along that axis (all axes
for ``axis=None``), the other axes keep their chunks. The backward pass takes ``grad``
and ``saved`` as dask arrays (or one of them as a NumPy array); their chunks are unified.
In-place forms and ``out=`` raise ``TypeError``: dask arrays are immutable.
"""

from __future__ import annotations

import functools

import dask.array as da
import numpy as np

from . import validation as v


def run(call, arrays, params, axis, out, target, where=None):
    """Build the lazy result of one public call on dask arrays."""
    if call.inplace:
        raise call.error(
            TypeError,
            next(n for n, a in zip(call.arg_names, arrays, strict=True) if v.is_dask(a)),
            "is a dask array; in-place forms need a NumPy array (dask arrays are immutable): "
            f"use fastact.{call.name.rstrip('_')}",
        )
    if out is not None:
        raise call.error(TypeError, "out", "cannot be given with dask arrays (they are immutable)")
    arrays = [a if v.is_dask(a) else da.asarray(a) for a in arrays]
    names = call.arg_names
    result = np.result_type(
        *(v.dtypes(call, n, a.dtype)[0] for n, a in zip(names, arrays, strict=True))
    )
    if len(arrays) == 2:
        v.check_same_shape(call, arrays[0].shape, arrays[1].shape)
    # Raises now, not when the graph runs (as rounded to the compute dtype: beta = 1e-50
    # is 0 in float32).
    v.kernel_params(call, params, v.compute_dtype(result))
    shape = arrays[0].shape
    where = v.where(call, where, shape)
    kw = {"target": target}
    if call.rowwise:
        axis = v.axis(call, axis, arrays[0].ndim)
        ndim = arrays[0].ndim
        whole = {i: -1 for i in range(ndim)} if axis is None or ndim == 0 else {axis: -1}
        arrays = [a.rechunk(whole) for a in arrays]
        kw["axis"] = axis
    if len(arrays) == 2:
        index = tuple(range(arrays[0].ndim))
        _, arrays = da.core.unify_chunks(arrays[0], index, arrays[1], index)
    if where is not None:
        # Each block of the broadcast mask is a broadcast view of the mask's own block:
        # a (T, T) causal mask is not materialised to the scores' shape.
        arrays.append(da.broadcast_to(da.asarray(where), shape).rechunk(arrays[0].chunks))
    public = call.act.forward if call.direction == "forward" else call.act.backward
    fn = functools.partial(public, **kw)
    block = functools.partial(_block, fn, tuple(params), where is not None)
    meta = np.empty((0,) * arrays[0].ndim, result)
    return da.map_blocks(block, *arrays, dtype=result, meta=meta)


def _block(fn, params, masked, *blocks):
    # Module-level, so that dask.distributed pickles it by reference; the public forms
    # pickle by reference too (fastact.<name>).
    if masked:
        *blocks, mask = blocks
        return fn(*blocks, *params, where=mask)
    return fn(*blocks, *params)
