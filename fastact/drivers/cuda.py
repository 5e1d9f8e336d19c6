"""CUDA target: validation, array interop and launches; kernels live in ``cuda_kernels``.

Arrays: Numba device arrays, CuPy arrays, PyTorch CUDA tensors and any object with
``__cuda_array_interface__`` are used in place (zero-copy); the result is the same kind
of array as the first input (other interface objects give a Numba device array). With
``target="cuda"``, NumPy input is copied to the device, computed there and copied back:
the result is a NumPy array (``out=`` and the in-place forms write into the given
NumPy arrays).

Streams: kernels are launched on the current stream of the input's library
(``torch.cuda.current_stream()``, ``cupy.cuda.get_current_stream()``), so they are
ordered after the caller's earlier work and before later work on that stream, with no
host synchronisation; Numba device arrays use Numba's default stream. Calls are
asynchronous like any GPU op, except the NumPy path, which returns after the copy back.

Layouts: elementwise functions run on contiguous (C or Fortran) arrays as 1-D, on any
other strides through a strided kernel, without copies. The softmax family runs on
C-contiguous arrays as ``(outer, n, inner)`` views (any ``axis``, no transpose); a
non-contiguous argument is first copied to a contiguous temporary on the device (and a
non-contiguous destination written back from one). An input that overlaps the
destination without being it is copied first, so the result is still correct.

Tuning: ``MAP_THREADS`` and ``ROW_THREADS`` are the block sizes; rows of up to
``WARP_ROW_MAX`` elements get one warp each, up to ``BLOCK_ROW_MAX`` one block with a
max pass and a sum pass, longer rows one block with a single online max/sum pass.
They are read at every call.
"""

from __future__ import annotations

import contextlib

import numpy as np

try:
    import numba_cuda  # noqa: F401  (NVIDIA's package; Numba's own CUDA target is deprecated)
except ImportError as e:
    raise ImportError("NVIDIA's numba-cuda package is not installed") from e

from numba import cuda
from numba.cuda import config
from numba.np import numpy_support

from .. import validation as v
from ..registry import HALVES, ROWWISE
from . import channel
from . import cuda_kernels as ck
from .cuda_math import register as _register_math

MAP_THREADS = 256
ROW_THREADS = 256
WARP_ROW_MAX = 1024
BLOCK_ROW_MAX = 16384
MAX_BLOCKS = 65536  # beyond this, grid-stride loops give each thread more work

_SIM = ck._SIM
_available: bool | None = None

_register_math()


def set_row_thresholds(warp_row_max=None, block_row_max=None):
    """Set the row lengths up to which rows get a warp / a block with two passes."""
    global WARP_ROW_MAX, BLOCK_ROW_MAX
    if warp_row_max is not None:
        WARP_ROW_MAX = int(warp_row_max)
    if block_row_max is not None:
        BLOCK_ROW_MAX = int(block_row_max)


# ------------------------------------------------------------------ arrays
def _kind(a) -> str:
    if not v.is_cuda(a):
        return "host"
    lib = type(a).__module__.split(".")[0]
    return lib if lib in ("cupy", "torch") else "numba"


def _view(a):
    """A Numba device array over ``a``'s memory (no copy, no synchronisation)."""
    if getattr(a, "__cuda_ndarray__", False):
        return a
    # sync=False: we launch on the producer's current stream, which already orders us.
    return cuda.as_cuda_array(a, sync=False)


def _readonly(a) -> bool:
    if _SIM:
        return not a.flags.writeable
    cai = getattr(a, "__cuda_array_interface__", None)
    return bool(cai and cai["data"][1])


def _device_id(a):
    lib = _kind(a)
    if lib == "torch":
        return a.device.index
    if lib == "cupy":
        return a.device.id
    return None


def _span(a):
    """The byte range ``a`` touches."""
    if _SIM:
        ptr = a._ary.__array_interface__["data"][0]
    else:
        ptr = a.__cuda_array_interface__["data"][0]
    lo = hi = ptr
    for n, s in zip(a.shape, a.strides, strict=True):
        if n == 0:
            return ptr, ptr
        if s > 0:
            hi += s * (n - 1)
        else:
            lo += s * (n - 1)
    return lo, hi + a.dtype.itemsize


def _same(a, b) -> bool:
    return _span(a) == _span(b) and a.strides == b.strides and a.dtype == b.dtype


def _overlaps(a, b) -> bool:
    (alo, ahi), (blo, bhi) = _span(a), _span(b)
    return alo < bhi and blo < ahi


def _stream(lib, obj):
    if _SIM:
        return 0
    ptr = 0
    if lib == "torch":
        import torch

        ptr = torch.cuda.current_stream(obj.device).cuda_stream
    elif lib == "cupy":
        import cupy

        ptr = cupy.cuda.get_current_stream().ptr
    return cuda.external_stream(ptr) if ptr else cuda.default_stream()


def _empty(lib, like, shape, dtype, stream):
    if lib == "torch":
        import torch

        tdtype = torch.from_numpy(np.empty(0, dtype)).dtype
        return torch.empty(shape, dtype=tdtype, device=like.device)
    if lib == "cupy":
        import cupy

        with like.device:
            return cupy.empty(shape, dtype)
    return cuda.device_array(shape, dtype, stream=stream)


def _check_gpu(call):
    global _available
    if _available is None:
        _available = bool(cuda.is_available())
    if not _available:
        raise RuntimeError(
            f"fastact.{call.name}: target='cuda' found no usable CUDA GPU "
            "(numba.cuda.is_available() is False: no NVIDIA GPU or driver); "
            "use target='cpu' or 'parallel'"
        )


# ------------------------------------------------------------------ the call
def _placement(call, arrays, out):
    """Where the call's arrays live: ``None`` if on the host, else the device views of the
    inputs, of ``out`` (or None) and the known device ids, checked: all on one side, one
    GPU, writeable destinations."""
    _check_gpu(call)
    names = call.arg_names
    kinds = [_kind(a) for a in arrays]
    on_gpu = [n for n, k in zip(names, kinds, strict=True) if k != "host"]
    if on_gpu:
        for n, k in zip(names, kinds, strict=True):
            if k == "host":
                raise call.error(TypeError, n, f"is a host array but '{on_gpu[0]}' is on the GPU")
    if out is not None:
        if on_gpu and _kind(out) == "host":
            raise call.error(TypeError, "out", f"is a host array but '{names[0]}' is on the GPU")
        if not on_gpu and _kind(out) != "host":
            raise call.error(TypeError, "out", f"is on the GPU but '{names[0]}' is a host array")
    if not on_gpu:
        return None

    views = [_view(a) for a in arrays]
    named = [*zip(names, arrays, strict=True), *([("out", out)] if out is not None else [])]
    known = [(n, i) for n, a in named if (i := _device_id(a)) is not None]
    for n, i in known[1:]:
        if i != known[0][1]:
            raise call.error(
                ValueError, n, f"is on GPU {i} but '{known[0][0]}' is on GPU {known[0][1]}"
            )
    if call.inplace and _readonly(arrays[0]):
        raise call.error(ValueError, names[0], "is read-only")
    dest_view = None
    if out is not None:
        dest_view = _view(out)
        if _readonly(out):
            raise call.error(ValueError, "out", "is read-only")
    return views, dest_view, known


def _destination(call, lib, arrays, views, out, dest_view, result, stream):
    """``(dest, its device view)``: ``x`` in place, ``out``, or a new array of x's kind."""
    if call.inplace:
        return arrays[0], views[0]
    if out is not None:
        return out, dest_view
    dest = _empty(lib, arrays[0], tuple(views[0].shape), result, stream)
    return dest, _view(dest)


def _device_context(known):
    device = known[0][1] if known else None
    return cuda.gpus[device] if device is not None and not _SIM else contextlib.nullcontext()


def run(call, arrays, variant, params, axis, out, where=None):
    """Validate and compute one call on the GPU; see the module docstring."""
    if call.act.kind == HALVES:
        _check_gpu(call)
        return _run_halves(call, arrays, variant, params, axis, out)
    placed = _placement(call, arrays, out)
    if placed is None:
        return _run_host(call, arrays, variant, params, axis, out, where)
    views, dest_view, known = placed
    result, compute, axis = _validate(call, views, axis, dest_view)
    if where is not None:
        where = v.where(call, _view(where) if v.is_cuda(where) else where, tuple(views[0].shape))

    lib = _kind(arrays[0])
    with _device_context(known):
        stream = _stream(lib, arrays[0])
        dest, dest_view = _destination(call, lib, arrays, views, out, dest_view, result, stream)
        if dest_view.size:
            _compute(call, views, dest_view, variant, params, axis, compute, stream, where)
    return dest


def _validate(call, arrays, axis, dest):
    """Dtype, shape and axis checks shared by the device and host paths."""
    names = call.arg_names
    if call.inplace and arrays[0].dtype.kind != "f":
        raise call.error(
            TypeError,
            names[0],
            f"has dtype {arrays[0].dtype}; in-place forms need a floating dtype",
        )
    dtypes = [v.dtypes(call, n, a.dtype) for n, a in zip(names, arrays, strict=True)]
    if len(arrays) == 2:
        v.check_same_shape(call, arrays[0].shape, arrays[1].shape)
    result = np.result_type(*(f for f, _ in dtypes))
    compute = v.compute_dtype(result)
    if call.act.kind == ROWWISE:
        axis = v.axis(call, axis, len(arrays[0].shape))
    if dest is not None:
        shape = tuple(arrays[0].shape)
        if dest.dtype.kind != "f":
            raise call.error(TypeError, "out", f"has dtype {dest.dtype}; expected a floating dtype")
        if tuple(dest.shape) != shape:
            raise call.error(ValueError, "out", f"has shape {tuple(dest.shape)}; expected {shape}")
    return result, compute, axis


def _run_host(call, arrays, variant, params, axis, out, where=None):
    """target='cuda' with host input: copy to the device, compute, copy back."""
    if call.inplace:
        v.check_in_place(call, arrays[0])
    arrays = v.as_arrays(call, arrays)
    result, compute, axis = _validate(call, arrays, axis, None)
    shape = arrays[0].shape
    where = v.where(call, where, shape)
    if out is not None:
        v.check_out(call, "out", out, shape)
    dest = arrays[0] if call.inplace else out if out is not None else np.empty(shape, result)
    if dest.size == 0:
        return dest
    views = [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]
    work = cuda.device_array(shape, dest.dtype)
    _compute(call, views, work, variant, params, axis, compute, 0, where)
    if dest.flags.c_contiguous:
        work.copy_to_host(dest)
    else:
        v.copy_quietly(dest, work.copy_to_host())
    return dest


# ------------------------------------------------------------------ per-channel values
def run_channel(call, arrays, params, name, value, out):
    """A call with a per-channel array (``prelu``'s weight, the fused ``bias``) on the GPU:
    ``(outer, C, inner)`` views and the CPU's reduction partition (drivers/channel.py).
    ``value`` may be a host or a device array; backward forms return ``(grad_input,
    grad_param)``, the second of the first's kind."""
    variant, numeric = v.params(call, params)
    placed = _placement(call, arrays, out)
    backward = call.direction == "backward"
    if placed is None:  # host arrays: copy over, compute, copy back
        if call.inplace:
            v.check_in_place(call, arrays[0])
        arrays = v.as_arrays(call, arrays)
        result, compute, _ = _validate(call, arrays, None, None)
        shape = tuple(arrays[0].shape)
        shape3 = v.channel_param(call, name, value, shape)
        if out is not None:
            v.check_out(call, "out", out, shape)
        dest = arrays[0] if call.inplace else out if out is not None else np.empty(shape, result)
        c = _channel_values(value, compute)
        if dest.size == 0:
            return (dest, np.zeros(value.shape, result)) if backward else dest
        ins = [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]
        work = cuda.device_array(shape, dest.dtype)
        total = _channel_compute(call, ins, work, variant, numeric, compute, c, shape3, name, 0)
        if dest.flags.c_contiguous:
            work.copy_to_host(dest)
        else:
            v.copy_quietly(dest, work.copy_to_host())
        if backward:
            return dest, v.cast_quietly(total.copy_to_host(), result).reshape(value.shape)
        return dest

    views, dest_view, known = placed
    result, compute, _ = _validate(call, views, None, dest_view)
    shape = tuple(views[0].shape)
    shape3 = v.channel_param(call, name, value, shape)
    lib = _kind(arrays[0])
    with _device_context(known):
        stream = _stream(lib, arrays[0])
        dest, dest_view = _destination(call, lib, arrays, views, out, dest_view, result, stream)
        grad_param = (
            _empty(lib, arrays[0], tuple(value.shape), result, stream) if backward else None
        )
        c = _channel_values(value, compute)
        if dest_view.size:
            total = _channel_compute(
                call, views, dest_view, variant, numeric, compute, c, shape3, name, stream
            )
            if backward:
                gp = _view(grad_param)
                _copy_into(total.reshape(gp.shape), gp, stream)
        elif backward:
            _view(grad_param)[:] = 0  # nothing to sum
    return (dest, grad_param) if backward else dest


def _channel_values(value, compute):
    """The per-channel values on the device, in the compute dtype (a copy)."""
    host = value.copy_to_host() if v.is_cuda(value) else np.asarray(value)
    return cuda.to_device(np.ascontiguousarray(host, dtype=compute).reshape(-1))


def _channel_compute(call, ins, dest, variant, numeric, compute, c, shape3, name, stream):
    """Launch the per-channel kernels; the backward's float64 parameter gradient (device)."""
    ins = [
        a
        if a.is_c_contiguous() and not (_overlaps(a, dest) and not _same(a, dest))
        else _copy(a, stream)
        for a in ins
    ]
    work = dest if dest.is_c_contiguous() else cuda.device_array(tuple(dest.shape), dest.dtype)
    outer, n, inner = shape3
    layout = "last" if inner == 1 else "inner"
    view = (outer, n) if layout == "last" else shape3
    ctype = numpy_support.from_dtype(compute)
    kparams = v.rounded(call, numeric, compute)
    own, share, tag = channel.kernels(call.act, call.direction, variant, name == "bias")
    kernel = ck.compiled(
        f"channel_{layout}_{call.direction}",
        f"{tag}_{call.direction}",
        ctype,
        _forward=own,
        _backward=own,
        _share=share,
    )
    arrays = [a.reshape(view) for a in (*ins, work)]
    total = None
    if call.direction == "forward":
        _launch(
            kernel, work.size, MAP_THREADS, MAP_THREADS, stream, arrays[0], c, arrays[1], kparams
        )
    else:
        rows_per_block, chunks = channel.blocks(outer, n, inner)
        if layout == "last":
            partial = cuda.device_array((-(-outer // rows_per_block), n), np.float64, stream=stream)
            step = rows_per_block
        else:
            shape4 = (outer, n, chunks, channel.LANES)
            partial = cuda.device_array(shape4, np.float64, stream=stream)
            step = -(-inner // chunks)
        _launch(
            kernel,
            partial.size // (1 if layout == "last" else channel.LANES),
            MAP_THREADS,
            MAP_THREADS,
            stream,
            arrays[0],
            arrays[1],
            c,
            arrays[2],
            partial,
            step,
            kparams,
        )
        total = cuda.device_array(n, np.float64, stream=stream)
        summed = ck.compiled("channel_total", "channel_total", None)
        parts = partial.reshape(partial.shape[0], n, -1)  # (outer, C, partials in order)
        _launch(summed, n, MAP_THREADS, MAP_THREADS, stream, parts, total)
    if work is not dest:
        _copy_into(work, dest, stream)
    return total


# ------------------------------------------------------------------ launches
def _min_blocks():
    # numba-cuda warns (NumbaPerformanceWarning) for grids under 128 blocks; idle blocks
    # cost less than a warning that fails users' `-W error` test suites.
    if _SIM or not config.CUDA_LOW_OCCUPANCY_WARNINGS or config.DISABLE_PERFORMANCE_WARNINGS:
        return 1
    return 128


def _launch(kernel, units, per_block, threads, stream, *args):
    blocks = min(-(-units // per_block), MAX_BLOCKS)
    kernel[max(blocks, _min_blocks()), threads, stream](*args)


def _copy_into(src, dest, stream):
    """dest[...] = src on the device (any strides; cast to dest's dtype)."""
    kernel = ck.compiled("copy_nd", "copy", None)
    _launch(kernel, dest.size, MAP_THREADS, MAP_THREADS, stream, src, dest)


def _copy(a, stream, dtype=None):
    """A C-contiguous device copy of ``a`` (any strides)."""
    c = cuda.device_array(tuple(a.shape), dtype or a.dtype, stream=stream)
    if c.size:
        kernel = ck.compiled("copy_nd", "copy", None)
        _launch(kernel, c.size, MAP_THREADS, MAP_THREADS, stream, a, c)
    return c


def _compute(call, ins, dest, variant, params, axis, compute, stream, where=None):
    ins = [_copy(a, stream) if _overlaps(a, dest) and not _same(a, dest) else a for a in ins]
    ctype = numpy_support.from_dtype(compute)
    kparams = v.rounded(call, params, compute)
    if call.act.kind == ROWWISE:
        _rows(call, ins, dest, axis, ctype, kparams, stream, where)
    else:
        _map(call, ins, dest, variant, ctype, kparams, stream)


def _map(call, ins, dest, variant, ctype, kparams, stream):
    act = call.act
    arrays = [*ins, dest]
    kernel_fn = act.kernel(call.direction, variant)
    bind = {"_forward": kernel_fn} if call.direction == "forward" else {"_backward": kernel_fn}
    if all(a.is_c_contiguous() for a in arrays):
        flat = [a.reshape(a.size) for a in arrays]
        template = f"map_{call.direction}"
    elif all(a.is_f_contiguous() for a in arrays):
        flat = [a.ravel(order="F") for a in arrays]
        template = f"map_{call.direction}"
    else:
        flat = arrays
        template = f"map_{call.direction}_nd"
    tag = act.name if variant is None else f"{act.name}_{variant}"
    kernel = ck.compiled(template, f"{tag}_{call.direction}", ctype, **bind)
    _launch(kernel, dest.size, MAP_THREADS, MAP_THREADS, stream, *flat, kparams)


def _rows_shape(shape, axis):
    if len(shape) == 0:
        return (1, 1, 1)
    if axis is None:
        return (1, int(np.prod(shape)), 1)
    return (
        int(np.prod(shape[:axis])),
        shape[axis],
        int(np.prod(shape[axis + 1 :])),
    )


def _rows(call, ins, dest, axis, ctype, kparams, stream, where=None):
    act = call.act
    sign, log = act.row_family  # the registry record places it in the softmax family
    threads = ROW_THREADS
    if threads % 32 or not 32 <= threads <= 1024:
        raise ValueError(f"fastact: ROW_THREADS must be a multiple of 32 up to 1024, got {threads}")
    shape = tuple(dest.shape)
    shape3 = _rows_shape(shape, axis)
    ins = [a if a.is_c_contiguous() else _copy(a, stream) for a in ins]
    work = dest if dest.is_c_contiguous() else cuda.device_array(tuple(dest.shape), dest.dtype)
    views = [a.reshape(shape3) for a in (*ins, work)]
    n = shape3[1]
    rows = shape3[0] * shape3[2]
    if n <= WARP_ROW_MAX:
        algo, units, per_block = "warp", rows, threads // 32
    else:
        algo, units, per_block = "block", rows, 1
        if call.direction == "forward" and n > BLOCK_ROW_MAX:
            algo = "online"
    kernel = ck.compiled(
        f"rows_{call.direction}_{algo}", f"{sign}_{int(log)}", ctype, _SIGN=sign, _LOG=log
    )
    mask = midx = None
    if where is not None:
        # The mask's rows and index are small (the mask is never broadcast to x's shape):
        # laid out on the host, like the CPU's, and copied over.
        host = where.copy_to_host() if v.is_cuda(where) else np.asarray(where)
        mask, midx = (cuda.to_device(a, stream=stream) for a in v.mask_rows(host, shape, axis))
    _launch(kernel, units, per_block, threads, stream, *views, mask, midx)
    if work is not dest:
        copy = ck.compiled("copy_nd", "copy", None)
        _launch(copy, dest.size, MAP_THREADS, MAP_THREADS, stream, work, dest)


# ------------------------------------------------------------------ halves (glu)
def _run_halves(call, arrays, variant, params, axis, out):
    """A ``HALVES`` function (glu): the checks of ``validation.halves``, the input as a
    C-contiguous ``(outer, 2, m)`` view (a copy on the device where it is not contiguous),
    the result written into ``out`` directly where it is C-contiguous, else through a
    contiguous temporary. Host arrays are copied over and back."""
    names = call.arg_names
    kinds = [_kind(a) for a in arrays]
    on_gpu = [n for n, k in zip(names, kinds, strict=True) if k != "host"]
    for n, k in zip(names, kinds, strict=True):
        if on_gpu and k == "host":
            raise call.error(TypeError, n, f"is a host array but '{on_gpu[0]}' is on the GPU")
    if out is not None and (_kind(out) == "host") != (not on_gpu):
        where = "a host array" if _kind(out) == "host" else "on the GPU"
        raise call.error(TypeError, "out", f"is {where} but '{names[0]}' is not")
    host = not on_gpu
    views = v.as_arrays(call, arrays) if host else [_view(a) for a in arrays]
    dest_view = None
    if out is not None:
        if host:
            v.check_out(call, "out", out, np.shape(out))  # type, dtype, writeable
        else:
            dest_view = _view(out)
            if _readonly(out):
                raise call.error(ValueError, "out", "is read-only")
    dtypes = [v.dtypes(call, n, a.dtype) for n, a in zip(names, views, strict=True)]
    result = np.result_type(*(f for f, _ in dtypes))
    compute = v.compute_dtype(result)
    x = views[-1]
    axis, half_shape, (outer, m) = v.halves(call, tuple(x.shape), axis)
    backward = call.direction == "backward"
    if backward:
        v.check_halves_grad(call, tuple(views[0].shape), half_shape)
    shape = tuple(x.shape) if backward else half_shape
    if out is not None:
        if out.dtype.kind != "f":
            raise call.error(TypeError, "out", f"has dtype {out.dtype}; expected a floating dtype")
        if tuple(out.shape) != shape:
            raise call.error(ValueError, "out", f"has shape {tuple(out.shape)}; expected {shape}")

    kshapes = [(outer, m), (outer, 2, m)][-len(views) :]
    if host:
        dest = out if out is not None else np.empty(shape, result)
        if dest.size == 0:
            return dest
        ins = [
            cuda.to_device(np.ascontiguousarray(a).reshape(k))
            for a, k in zip(views, kshapes, strict=True)
        ]
        work = cuda.device_array(kshapes[-1] if backward else (outer, m), dest.dtype)
        _launch_halves(call, ins, work, variant, params, compute, 0)
        v.copy_quietly(dest, work.copy_to_host().reshape(shape))
        return dest
    lib = kinds[0]
    stream = _stream(lib, arrays[0])
    if out is not None:
        dest = out
    else:
        dest = _empty(lib, arrays[0], shape, result, stream)
        dest_view = _view(dest)
    if dest_view.size == 0:
        return dest
    ins = []
    for a in views:
        if not a.is_c_contiguous() or (_overlaps(a, dest_view) and not _same(a, dest_view)):
            a = _copy(a, stream)
        ins.append(a)
    ins = [a.reshape(k) for a, k in zip(ins, kshapes, strict=True)]
    kshape = (outer, 2, m) if backward else (outer, m)
    contiguous = dest_view.is_c_contiguous()
    work = dest_view if contiguous else cuda.device_array(shape, dest_view.dtype, stream=stream)
    _launch_halves(call, ins, work.reshape(kshape), variant, params, compute, stream)
    if not contiguous:
        copy = ck.compiled("copy_nd", "copy", None)
        _launch(copy, dest_view.size, MAP_THREADS, MAP_THREADS, stream, work, dest_view)
    return dest


def _launch_halves(call, ins, work, variant, params, compute, stream):
    kernel_fn = call.act.kernel(call.direction, variant)
    bind = {"_forward": kernel_fn} if call.direction == "forward" else {"_backward": kernel_fn}
    tag = call.act.name if variant is None else f"{call.act.name}_{variant}"
    ctype = numpy_support.from_dtype(compute)
    kernel = ck.compiled(f"halves_{call.direction}", f"{tag}_{call.direction}", ctype, **bind)
    kparams = v.rounded(call, params, compute)
    units = ins[0].size if call.direction == "backward" else work.size
    _launch(kernel, units, MAP_THREADS, MAP_THREADS, stream, *ins, work, kparams)
