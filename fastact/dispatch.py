"""Validation and dispatch: the thin Python layer between the public functions and kernels.

Every check happens before anything is written, so a failed call leaves its arrays
unchanged. Inputs are then brought to the one layout the kernels are compiled for
(1-D contiguous for elementwise functions, C-contiguous rows for the softmax family)
without copying where the input already has it, and the driver for the chosen target
runs.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import threading
import time

import numba
import numpy as np

from . import threads, tuning
from .drivers import cpu
from .registry import FORM_SUFFIXES, HALVES, REQUIRED, ROWWISE, Activation
from .validation import (
    FLOAT32,
    FLOAT64,
    Call,
    as_arrays,
    cast_quietly,
    check_in_place,
    check_out,
    check_same_shape,
    compute_dtype,
    copy_quietly,
    dtypes,
    is_cuda,
    is_dask,
    kernel_params,
    mask_rows,
    read_only,
    rounded,
)
from .validation import axis as normalize_axis
from .validation import channel_param as check_channel
from .validation import params as check_params
from .validation import where as check_where

TARGETS = (None, "cpu", "parallel", "cuda")
_FLOAT32, _FLOAT64 = FLOAT32, FLOAT64


def _driver(call: Call, parallel: bool, variant):
    """The compiled CPU driver of this form (memoised on the call: the path is hot)."""
    try:
        return call.drivers[parallel, variant]
    except KeyError:
        d = call.drivers[parallel, variant] = cpu.compiled(
            call.act, call.direction, parallel, variant
        )
        return d


# ------------------------------------------------------------------ layouts
class _Flat:
    """Elementwise: any array seen as 1-D, in the memory order of the destination."""

    def __init__(self, order):
        self.order = order

    def arrange(self, a):
        return a.ravel(self.order)

    def dest_view(self, dest):
        ok = dest.flags.f_contiguous if self.order == "F" else dest.flags.c_contiguous
        return dest.ravel(self.order) if ok else None

    def scratch(self, dest, dtype):
        return np.empty(dest.size, dtype)

    def write_back(self, dest, scratch):
        copy_quietly(dest, scratch.reshape(dest.shape, order=self.order))


class _Rows:
    """Row-wise: the reduction axis moved last, the rest flattened into rows."""

    def __init__(self, axis):
        self.axis = axis

    def _moved(self, a, copy=None):
        if a.ndim == 0:
            return a.reshape(1, 1)
        if self.axis is None:
            return a.reshape(1, -1, copy=copy)
        return np.moveaxis(a, self.axis, -1)

    def arrange(self, a):
        m = self._moved(a)
        return m.reshape(-1, m.shape[-1])

    def dest_view(self, dest):
        """dest's rows as a C-contiguous view, or None: never a copy, which the kernel
        would fill and nothing would write back (axis=None on a non-C-contiguous array)."""
        try:
            m = self._moved(dest, copy=False)
        except ValueError:  # only a copy has that shape
            return None
        return m.reshape(-1, m.shape[-1]) if m.flags.c_contiguous else None

    def scratch(self, dest, dtype):
        m = self._moved(dest)
        return np.empty((m.size // max(m.shape[-1], 1), m.shape[-1]), dtype)

    def write_back(self, dest, scratch):
        # dest as the rows' view (never a copy): with axis=None dest itself, its elements
        # in C order as arrange reads them.
        m = dest if self.axis is None else self._moved(dest)
        copy_quietly(m, scratch.reshape(m.shape))


_FLAT_C, _FLAT_F = _Flat("C"), _Flat("F")


# ------------------------------------------------------------------ targets
_guard_lock = threading.Lock()
_parallel_guard = None


def _parallel_section():
    """A lock for parallel kernels if Numba runs the ``workqueue`` layer, else nothing.

    ``workqueue`` aborts when two Python threads launch parallel kernels at once; ``tbb``
    (a fastact dependency, Numba's first choice) and ``omp`` are thread-safe.
    """
    global _parallel_guard
    if _parallel_guard is None:
        with _guard_lock:
            if _parallel_guard is None:
                try:
                    from numba.np.ufunc.parallel import _launch_threads

                    _launch_threads()
                    safe = numba.threading_layer() != "workqueue"
                except Exception:  # pragma: no cover - unknown layer: be safe
                    safe = False
                _parallel_guard = contextlib.nullcontext() if safe else threading.Lock()
    return _parallel_guard


def _run(call, variant, args, target, size, drivers=None, key=None):
    """Run the driver of ``target`` and return what it returns. ``None`` runs one thread
    below the function's threshold; above it, one thread or all, whichever its recent calls
    of this size measured faster (``threads.Measured``: all threads lose next to busy BLAS
    threads, or on a loaded machine). ``drivers(parallel)`` gives the driver (default: the
    form's plain one); ``key`` tells its measurements apart from the plain driver's."""
    if drivers is None:
        drivers = lambda parallel: _driver(call, parallel, variant)  # noqa: E731
    if _one_thread(call, target, size) or (target is None and _numba_threads() < 2):
        return drivers(False)(*args)
    if target is not None:
        return _execute(drivers(True), True, args)
    # args[0] is the first input: float64 calls take about twice float32's time.
    measured = threads.measured(call if key is None else (call, key), args[0].dtype, size)
    parallel = measured.choose()
    driver = drivers(parallel)
    compiled = len(driver.overloads)
    start = time.perf_counter()
    result = _execute(driver, parallel, args)
    seconds = time.perf_counter() - start
    if len(driver.overloads) == compiled:  # no compile or cache load in the time
        measured.record(parallel, seconds, size)
    return result


def _one_thread(call, target, size):
    """Whether the call runs the one-thread driver without measuring: ``target="cpu"``, or
    ``None`` below the function's parallel threshold. The short paths ask this first and
    call the driver themselves: ``_run``'s call and closure cost ~5% of a 1e3 call."""
    return target == "cpu" or (target is None and size < _THRESHOLDS.get(call.act.name, _DEFAULT))


_THRESHOLDS, _DEFAULT = tuning.PARALLEL_THRESHOLD, tuning.DEFAULT  # tuning.parallel_threshold


def _execute(driver, parallel, args):
    if parallel:
        with _parallel_section():
            return driver(*args)
    return driver(*args)


_raw_threads = None


def _numba_threads():
    """numba.get_num_threads() (the calling thread's setting), for every large call.

    Once the pool is up, through the function it calls: the public one takes a lock and
    checks the pool on every call (0.9 us against 0.13 us, several us right after a
    kernel has swept the caches). Falls back to the public one where Numba differs.
    """
    global _raw_threads
    if _raw_threads is not None:
        n = _raw_threads()
        if n > 0:
            return n
    from numba.np.ufunc import parallel

    n = numba.get_num_threads()  # launches the pool on first use
    raw = getattr(parallel, "_get_num_threads", None)
    _raw_threads = raw if callable(raw) else None
    return n


def _address(a):
    return a.__array_interface__["data"][0]


def _cuda_module(call):
    try:
        # import_module goes through sys.modules, where a missing numba-cuda shows (and
        # where tests simulate one); `from .drivers import cuda` would not, once loaded.
        cuda = importlib.import_module(".drivers.cuda", __package__)
    except ImportError as e:
        raise RuntimeError(
            f"fastact.{call.name}: target='cuda' needs NVIDIA's numba-cuda and a GPU "
            f"(pip install 'fastact[cuda]'): {e}"
        ) from None
    return cuda


def _run_cuda(call, arrays, variant, params, axis, out, where=None):
    return _cuda_module(call).run(call, arrays, variant, params, axis, out, where)


# ------------------------------------------------------------------ the call
def _fast_path(call: Call):
    """The commonest call of ``call``'s form in as few steps as possible:
    ``fast(arrays, params, axis, out, target)`` returns the result, or None to take the
    general path. It takes what ``_plain_destination`` takes, the last axis for the softmax
    family and ``target`` None or "cpu". Same checks, same driver and target decision as
    ``_general``. Why a closure over the form's constants: at 1e3 elements the Python on
    the way is most of the call (each function call or attribute read ~1%), and large calls
    need the short path too: the Python code that runs right after a kernel has swept the
    caches is slow (``_general`` cost 47 us at 2e5 elements, 18 us at 1e3)."""
    inplace, rowwise = call.inplace, call.rowwise

    def fast(arrays, params, axis, out, target):
        dest = _plain_destination(arrays, out, inplace)
        if dest is None:
            return None
        x = arrays[0]
        shape = x.shape
        if rowwise and (type(axis) is not int or not shape or -1 != axis != len(shape) - 1):
            return None
        variant, kparams = kernel_params(call, params, x.dtype) if params else (None, ())
        # The kernels take 1-D arrays (elementwise) or 2-D rows.
        if len(shape) != (2 if rowwise else 1):
            cut = (-1, shape[-1]) if rowwise else -1
            arrays = [a.reshape(cut) for a in arrays]
            dest_k = dest.reshape(cut)
        else:
            dest_k = dest
        args = (arrays[0], dest_k, kparams) if len(arrays) == 1 else (*arrays, dest_k, kparams)
        if rowwise:
            args += (None,)  # no where=
        if _one_thread(call, target, x.size):
            _driver(call, False, variant)(*args)
        else:
            _run(call, variant, args, target, x.size)
        return dest

    return fast


def _plain_destination(arrays, out, inplace):
    """Where the result goes when the call's arrays are already what the kernels take, or
    None (then the general path validates and arranges them): NumPy arrays of one native
    float32/float64 dtype, C-contiguous, of one shape, not empty, writeable where written,
    ``out`` none of the inputs' memory unless it is that input. The destination is ``x``
    in place, else ``out``, else a new array."""
    x = arrays[0]
    if type(x) is not np.ndarray:
        return None
    dtype = x.dtype
    # Native builtin dtypes are singletons: identity is the cheapest exact test.
    if dtype is not _FLOAT32 and dtype is not _FLOAT64:
        return None
    flags = x.flags
    if not flags.c_contiguous or (inplace and not flags.writeable) or x.size == 0:
        return None
    shape = x.shape
    s = None
    if len(arrays) == 2:
        s = arrays[1]
        if (
            type(s) is not np.ndarray
            or s.dtype is not dtype
            or s.shape != shape
            or not s.flags.c_contiguous
            or (inplace and s is not x and not _disjoint(s, x))
        ):
            return None
    if out is None:
        return x if inplace else np.empty(shape, dtype)
    if type(out) is not np.ndarray or out.dtype is not dtype or out.shape != shape:
        return None
    flags = out.flags
    if not (flags.c_contiguous and flags.writeable):
        return None
    if (out is not x and not _disjoint(x, out)) or (
        s is not None and s is not out and not _disjoint(s, out)
    ):
        return None
    return out


def _disjoint(a, b):
    """Whether a and b (distinct objects) share no memory; cheaply when each owns its
    buffer (np.may_share_memory costs a fifth of a 1e3-element call)."""
    return (a.base is None and b.base is None) or not np.may_share_memory(a, b)


def _host_arrays(call: Call, arrays):
    """The inputs as arrays, checked (in-place host, dtypes, shapes), with the result's
    dtype and the compute dtype."""
    names = call.arg_names
    if call.inplace:
        check_in_place(call, arrays[0])
    arrays = as_arrays(call, arrays)
    result_dtype, compute = dtypes(call, names[0], arrays[0].dtype)
    if len(arrays) == 2:
        saved_dtype = dtypes(call, names[1], arrays[1].dtype)[0]
        check_same_shape(call, arrays[0].shape, arrays[1].shape)
        if saved_dtype != result_dtype:
            result_dtype = np.result_type(result_dtype, saved_dtype)
            compute = compute_dtype(result_dtype)
    return arrays, result_dtype, compute


def _users_destination(call: Call, arrays, out, shape):
    """Where the user asked for the result (checked): ``x`` in place, ``out``, or None."""
    if call.inplace:
        return arrays[0]
    if out is not None:
        check_out(call, "out", out, shape)
    return out


def _unshared(k, a, dest, work):
    """The kernel's input ``k`` (arranged from ``a``), copied if it overlaps the user's
    destination's ``work`` view without being exactly it: it would be overwritten while
    still being read. (An input that *is* the destination is arranged exactly like it.)"""
    if a is not dest and np.may_share_memory(k, work) and _address(k) != _address(work):
        return k.copy()
    return k


def _general(call: Call, arrays, params, axis, out, target, where=None):
    """Validate, normalise and compute one public call that the short path declined."""
    if target is not None and target not in TARGETS:
        raise call.error(ValueError, "target", f"must be one of {TARGETS}, got {target!r}")
    if any(map(is_dask, arrays)) or is_dask(out):
        from . import dask_arrays  # dask is imported only when a dask array comes in

        return dask_arrays.run(call, arrays, params, axis, out, target, where)
    if target == "cuda" or (
        target is None and (any(map(is_cuda, arrays)) or (out is not None and is_cuda(out)))
    ):
        return _run_cuda(call, arrays, *check_params(call, params), axis, out, where)

    arrays, result_dtype, compute = _host_arrays(call, arrays)
    variant, values = check_params(call, params) if params else (None, ())
    if call.rowwise:
        axis = normalize_axis(call, axis, arrays[0].ndim)
    shape = arrays[0].shape
    where = check_where(call, where, shape)
    dest = _users_destination(call, arrays, out, shape)
    kparams = rounded(call, values, compute) if values else ()

    # Validation is over: from here on, nothing raises on the user's account.
    if call.rowwise:
        layout = _Rows(axis)
    else:
        like = arrays[0] if dest is None else dest
        layout = _FLAT_F if not like.flags.c_contiguous and like.flags.f_contiguous else _FLAT_C
    users_dest = dest is not None
    if not users_dest:
        dest = np.empty(shape, result_dtype, order="F" if layout is _FLAT_F else "C")
    if dest.size == 0:
        return dest

    work = layout.dest_view(dest) if dest.dtype == compute else None
    scratch = None
    if work is None:
        scratch = work = layout.scratch(dest, compute)
    inputs = []
    for a in arrays:
        k = np.ascontiguousarray(layout.arrange(a), dtype=compute)
        if users_dest and scratch is None:
            k = _unshared(k, a, dest, work)
        # Numba does not check bounds: a buffer of the wrong shape would corrupt memory.
        assert k.shape == work.shape, "fastact internal error: kernel buffers differ in shape"
        inputs.append(k)

    args = (*inputs, work, kparams)
    if call.rowwise:
        if where is not None:
            rows, midx = mask_rows(where, shape, axis)
            if not _disjoint(rows, work):  # the mask is a view of the destination's bytes
                rows = read_only(rows.copy())
            args += ((rows, midx),)
        else:
            args += (None,)
    _run(call, variant, args, target, dest.size)
    if scratch is not None:
        layout.write_back(dest, scratch)
    return dest


# ------------------------------------------------------------------ per-channel values
_SHAPE3: dict = {}  # (form, argument, its shape, x's shape) -> check_channel's (outer, C, inner)


def _channel(call: Call, arrays, params, bias, out, target):
    """A call with a per-channel array: ``prelu``'s weight or the fused ``bias`` (SPEC
    §2.3). Backward forms return ``(grad_input, grad_param)``."""
    if target is not None and target not in TARGETS:
        raise call.error(ValueError, "target", f"must be one of {TARGETS}, got {target!r}")
    own = call.act.array_param
    if own is not None and bias is not None:
        check_channel(call, "bias", bias, ())  # raises: not for functions with their own
    name = own.name if own is not None else "bias"
    value = params[0] if own is not None else bias
    # The short path's arrays (as in _fast_path) need none of the general path's checks
    # and copies: at 1e3 elements those were most of the call (prelu 5.5 -> 4 us).
    dest = _plain_destination(arrays, out, call.inplace) if target != "cuda" else None
    if dest is not None and type(value) is np.ndarray and value.dtype.kind == "f":
        if value.dtype is not dest.dtype and value.ndim == 1:
            # A float64 weight with float32 x (np.array([0.25]) is float64): rounded to x's
            # dtype as the general path would, here (7.2 -> 3.6 us at 1e3 elements); without
            # np.errstate (1.7 us) where the cast cannot overflow.
            value = _cast_small(value, dest.dtype)
    plain = dest is not None and _plain_value(value, dest, arrays, out)
    if plain:
        result_dtype = compute = dest.dtype
    else:
        given = (*arrays, out, value)
        if not all(type(a) is np.ndarray or a is None for a in given):  # not all on the host
            if any(map(is_dask, given)):
                names = (*call.arg_names, "out", name)
                raise call.error(
                    TypeError,
                    next(n for n, a in zip(names, given, strict=True) if is_dask(a)),
                    f"is a dask array: {name}= takes NumPy and GPU arrays",
                )
            if target is None and any(map(is_cuda, given)):
                target = "cuda"
        if target == "cuda":
            return _cuda_module(call).run_channel(call, arrays, params, name, value, out)
        arrays, result_dtype, compute = _host_arrays(call, arrays)
    # A record whose only parameter is its array (prelu) has nothing for params() to check.
    only_array = own is not None and len(params) == 1
    variant, values = check_params(call, params) if params and not only_array else (None, ())
    shape = arrays[0].shape
    if plain:  # a float ndarray: its checks depend on the shapes alone (~0.6 us)
        key3 = (call.name, name, value.shape, shape)
        shape3 = _SHAPE3.get(key3)
        if shape3 is None:
            shape3 = check_channel(call, name, value, shape)
            if len(_SHAPE3) < 1024:
                _SHAPE3[key3] = shape3
    else:
        shape3 = check_channel(call, name, value, shape)
        dest = _users_destination(call, arrays, out, shape)
    kparams = rounded(call, values, compute) if values else ()

    # Validation is over: from here on, nothing raises on the user's account.
    users_dest = dest is not None
    plain = plain or _in_kernel_form(arrays, value, dest, compute)
    # A copy unless plain: the destination may overlap it.
    c = value.reshape(-1) if plain else cast_quietly(value, compute).reshape(-1)
    if not users_dest:
        dest = np.empty(shape, result_dtype)
    backward = call.direction == "backward"
    if dest.size == 0:
        return (dest, np.zeros(value.shape, result_dtype)) if backward else dest
    layout = "last" if shape3[2] == 1 else "inner"
    view = shape3[:2] if layout == "last" else shape3
    work = dest.reshape(view) if dest.dtype == compute and dest.flags.c_contiguous else None
    scratch = None
    if work is None:
        scratch = work = np.empty(view, compute)
    inputs = []
    for a in arrays:
        if plain:
            inputs.append(a.reshape(view))
            continue
        k = np.ascontiguousarray(a, dtype=compute).reshape(view)
        inputs.append(_unshared(k, a, dest, work) if users_dest and scratch is None else k)
    if backward and scratch is None and users_dest:
        s = arrays[1]
        if s is dest or not _disjoint(s, dest):
            # The saved input is (in) the destination (out=x, prelu_backward_(g, g, w)):
            # the drivers read it again for the parameter's gradient after storing the input
            # gradient over it (reading it once before the store made their vector loops
            # 2.6x slower), so they get a copy.
            inputs[1] = inputs[1].copy()
    key = (layout, own is None)  # the driver: its layout, and a bias or the record's own
    args = (*inputs, c, work, kparams)
    if _one_thread(call, target, dest.size):
        total = _channel_driver(call, False, variant, *key)(*args)
    else:
        total = _run(
            call,
            variant,
            args,
            target,
            dest.size,
            lambda parallel: _channel_driver(call, parallel, variant, *key),
            key,
        )
    if scratch is not None:
        copy_quietly(dest, scratch.reshape(shape))
    if backward:
        return dest, cast_quietly(total, result_dtype).reshape(value.shape)
    return dest


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _cast_small(value, dtype):
    """A float array ``value`` as a new array of float32/float64 ``dtype``, as
    ``cast_quietly`` rounds it."""
    if value.dtype.itemsize < dtype.itemsize or (
        dtype is _FLOAT32
        and value.size <= 64
        and max(map(abs, value.tolist()), default=0.0) <= _FLOAT32_MAX
    ):
        return value.astype(dtype)
    return cast_quietly(value, dtype)


def _plain_value(value, dest, arrays, out):
    """Whether the per-channel ``value`` of a call whose arrays ``_plain_destination``
    took (``dest``: its destination) is in kernel form too: an ndarray of their dtype,
    C-contiguous, apart from the destination's memory."""
    return (
        type(value) is np.ndarray
        and value.dtype is dest.dtype
        and value.flags.c_contiguous
        and (dest is not out and dest is not arrays[0] or _disjoint(value, dest))
    )


def _in_kernel_form(arrays, value, dest, compute):
    """Whether the inputs, the per-channel values and the user's destination (or None) are
    already what the kernel takes: C-contiguous arrays of the compute dtype, the values and
    every input apart from the destination's memory (an input may *be* it). Then the
    copies that make them so are skipped: ~3 us of a 1e3-element call."""
    if value.dtype is not compute or not value.flags.c_contiguous:
        return False
    for a in arrays:
        if a.dtype is not compute or not a.flags.c_contiguous:
            return False
    if dest is None:
        return True
    if dest.dtype is not compute or not dest.flags.c_contiguous or not _disjoint(value, dest):
        return False
    return all(a is dest or _disjoint(a, dest) for a in arrays)


def _channel_driver(call: Call, parallel, variant, layout, bias):
    key = ("channel", parallel, variant, layout, bias)
    try:
        return call.drivers[key]
    except KeyError:
        d = call.drivers[key] = cpu.compiled_channel(
            call.act, call.direction, parallel, variant, layout, bias
        )
        return d


# ------------------------------------------------------------------ public functions
def _binder(call: Call):
    """Resolve positional/keyword parameters to values, as Python's call would."""
    act = call.act
    names = act.param_names + (("axis",) if act.takes_axis else ())
    defaults = tuple(p.default for p in act.params) + ((-1,) if act.takes_axis else ())
    n = len(names)

    plain = (defaults[:-1], defaults[-1]) if act.takes_axis else (defaults, None)

    def bind(args, kwargs):
        if not args and not kwargs:
            return plain
        if not kwargs and len(args) == n:
            values = list(args)
        else:
            if len(args) > n:
                raise TypeError(
                    f"fastact.{call.name}() takes {n} parameter(s) after the array(s), "
                    f"{len(args)} given"
                )
            values = list(args) + list(defaults[len(args) :])
            for k, v in kwargs.items():
                try:
                    i = names.index(k)
                except ValueError:
                    raise TypeError(
                        f"fastact.{call.name}() got an unexpected keyword argument '{k}'"
                    ) from None
                if i < len(args):
                    raise TypeError(f"fastact.{call.name}() got multiple values for '{k}'")
                values[i] = v
            for name, v in zip(names, values, strict=True):
                if v is REQUIRED:
                    raise TypeError(f"fastact.{call.name}() missing required argument '{name}'")
        if act.takes_axis:
            return values[:-1], values[-1]
        return values, None

    return names, defaults, bind


_FORMS = {
    # suffix: (direction, in place, what it returns)
    "": ("forward", False, "a new array, or ``out``"),
    "_": ("forward", True, "``x``, overwritten"),
    "_backward": ("backward", False, "the gradient with respect to the forward's input"),
    "_backward_": ("backward", True, "``grad``, overwritten with the gradient"),
}


def _signature(arrays, names, defaults, inplace, where=False, bias=False):
    P = inspect.Parameter
    params = [P(a, P.POSITIONAL_OR_KEYWORD) for a in arrays]
    for name, d in zip(names, defaults, strict=True):
        params.append(P(name, P.POSITIONAL_OR_KEYWORD, default=P.empty if d is REQUIRED else d))
    if where:
        params.append(P("where", P.KEYWORD_ONLY, default=None))
    if bias:
        params.append(P("bias", P.KEYWORD_ONLY, default=None))
    if not inplace:
        params.append(P("out", P.KEYWORD_ONLY, default=None))
    params.append(P("target", P.KEYWORD_ONLY, default=None))
    return inspect.Signature(params)


def _doc(act, suffix, direction, returns):
    saved = "the forward's output ``y``" if act.saves == "output" else "the forward's input ``x``"
    what = "Forward pass" if direction == "forward" else f"Backward pass; ``saved`` is {saved}"
    lines = [act.summary, "", f"{what}. Returns {returns}."]
    if act.kind == ROWWISE:
        lines.append("``axis`` (default -1, None for all elements) is the reduction axis.")
    if act.kind == HALVES:
        lines.append("``axis`` (default -1) is the axis split into two halves (even length).")
    if act.takes_where:
        lines.append(
            "``where``: a bool array broadcastable to the input; only its True elements "
            "take part (the others give 0, -inf for log_softmax, and gradient 0); a row "
            "with none gives zeros (-inf)."
        )
    own = act.array_param
    if own is not None:
        lines.append(
            f"``{own.name}``: a 1-D array of one value per index along axis {own.axis} of "
            f"the input, or of length 1."
        )
    if act.takes_bias:
        lines.append(
            "``bias``: None, or a 1-D array of length x.shape[-1]: computes F(x + bias) in "
            "one pass (``saved`` is x before the bias)."
        )
    if direction == "backward" and (own is not None or act.takes_bias):
        name = own.name if own is not None else "bias"
        lines.append(
            f"{'Returns' if own is not None else 'With bias, returns'} the pair "
            f"(gradient, grad_{name}), grad_{name} summed in float64 over every other axis."
        )
    lines.append("``target``: None (automatic), 'cpu' (one thread), 'parallel' or 'cuda'.")
    return "\n".join(lines)


def make_public(act: Activation) -> dict:
    """Build the public forms of ``act`` (those of ``act.form_kinds``) and attach them to
    its record."""
    forms = {}
    for kind in act.form_kinds:
        suffix = FORM_SUFFIXES[kind]
        direction, inplace, returns = _FORMS[suffix]
        call = Call(act, act.name + suffix, direction, inplace)
        names, defaults, bind = _binder(call)
        fn = _make_form(call, bind)
        fn.__name__ = fn.__qualname__ = call.name
        fn.__module__ = "fastact"
        own = act.array_param
        if own is not None and direction == "backward":
            returns = f"the pair ({'``grad``' if inplace else 'the gradient'}, grad_{own.name})"
        fn.__doc__ = _doc(act, suffix, direction, returns)
        fn.__signature__ = _signature(
            call.arg_names, names, defaults, inplace, act.takes_where, act.takes_bias
        )
        forms[call.name] = fn
        setattr(act, kind, fn)
    return forms


def _make_form(call, bind):
    plain = bind((), {})
    if call.act.kind == HALVES:
        from . import halves  # its own dispatch (imports this module)

        def call_with(arrays, args, kwargs, out, target):
            params, axis = bind(args, kwargs) if args or kwargs else plain
            return halves.run(call, arrays, params, axis, out, target)

        return _form(call, call_with)

    channel = call.act.array_param is not None
    fast = _fast_path(call)

    def call_with(arrays, args, kwargs, out, target):
        # The short path first, binding nothing when there is nothing to bind: at 1e3
        # elements each Python call on the way costs ~1% of the call.
        where = kwargs.pop("where", None) if call.act.takes_where and kwargs else None
        # bias= on any form, so that the functions that take none say why (validation).
        bias = kwargs.pop("bias", None) if kwargs else None
        params, axis = bind(args, kwargs) if args or kwargs else plain
        if bias is not None or channel:
            return _channel(call, arrays, params, bias, out, target)
        if (target is None or target == "cpu") and where is None:
            done = fast(arrays, params, axis, out, target)
            if done is not None:
                return done
        return _general(call, arrays, params, axis, out, target, where)

    return _form(call, call_with)


def _form(call, call_with):
    if call.direction == "forward":
        if call.inplace:

            def form(x, *args, target=None, **kwargs):
                return call_with((x,), args, kwargs, None, target)
        else:

            def form(x, *args, out=None, target=None, **kwargs):
                return call_with((x,), args, kwargs, out, target)
    elif call.inplace:

        def form(grad, saved, *args, target=None, **kwargs):
            return call_with((grad, saved), args, kwargs, None, target)
    else:

        def form(grad, saved, *args, out=None, target=None, **kwargs):
            return call_with((grad, saved), args, kwargs, out, target)

    return form
