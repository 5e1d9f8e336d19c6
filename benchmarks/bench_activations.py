"""Every registered activation, every form, beside NumPy and PyTorch: generated from the registry.

Parameters are (function, form, dtype, size, implementation). The functions come from
``fastact.REGISTRY`` and the competitors from ``fastact.bench_baselines``, so a new
function is benchmarked as soon as it is registered, and importing this module fails
(asv reports it, ``asv check`` fails) while a function or one of its forms is left out.

asv 0.6 re-runs ``setup`` before every timed call when a benchmark has one, so in-place
forms always see fresh input; inputs are generated once per process and copied. The
JIT is warmed in ``setup``; compile time has its own benchmarks (bench_startup.py).
"""

import tracemalloc

import numpy as np

import fastact
from fastact import bench_baselines as bb
from fastact.registry import ELEMENTWISE, HALVES, ROWWISE

DTYPES = ("float32", "float64")
SIZES = (1_000, 100_000, 10_000_000)
ROW_SHAPES = ("100000x10", "1000x1000", "10x1000000")
SMALL_SIZES = (1, 10, 1_000)
PARAM_NAMES = ["function", "form", "dtype", "size", "implementation"]

_ACTS = {bb.label(a): a for a in fastact.REGISTRY.values()}
_ELEMENTWISE = [k for k, a in _ACTS.items() if a.kind == ELEMENTWISE]
_ROWWISE = [k for k, a in _ACTS.items() if a.kind == ROWWISE]
_HALVES = [k for k, a in _ACTS.items() if a.kind == HALVES]


# asv forks every combination from a server that imported this module: paying for
# torch's import and Numba's start-up (LLVM, the disk cache) here, once, instead of in
# each child saves seconds per combination. Serial only: no thread pool may exist at fork.
bb.load_torch()
for _act in list(fastact.REGISTRY.values())[:1]:
    _act.forward(np.zeros(1), *bb.params(_act), target="cpu")


def _shape(size):
    if isinstance(size, str):
        return tuple(int(n) for n in size.split("x"))
    return (size,)


_pristine: dict = {}  # per process: inputs are costly to draw at 1e7
_warm: set = set()


def _inputs(act, form, dtype, shape):
    """Fresh inputs for one call: the in-place forms get a new copy of what they overwrite."""
    direction = "backward" if form.startswith("backward") else "forward"
    key = (act.name, direction, dtype, shape)
    if key not in _pristine:
        _pristine.clear()  # one combination per process: keep memory flat
        _pristine[key] = bb.make_inputs(act, direction, dtype, shape)
    arrays = _pristine[key]
    if form.endswith("_"):
        arrays = (arrays[0].copy(),) + arrays[1:]
    return arrays


def _prepare(label, form, dtype, size, impl):
    """The timed callable for one combination, JIT-warmed; NotImplementedError skips it."""
    act = _ACTS[label]
    if act.kind == HALVES and _shape(size)[-1] % 2:
        raise NotImplementedError("an odd length does not split into two halves")
    key = (label, form, dtype, size, impl)
    if key not in _warm:
        # Compile (or load from the disk cache) outside the timings, on a throw-away copy.
        bb.candidate(act, form, impl, _inputs(act, form, dtype, _shape(size)))()
        _warm.add(key)
    return bb.candidate(act, form, impl, _inputs(act, form, dtype, _shape(size)))


class _Timed:
    param_names = PARAM_NAMES
    timeout = 600
    rounds = 1
    repeat = (3, 10, 10.0)

    def setup(self, function, form, dtype, size, impl):
        self.call = _prepare(function, form, dtype, size, impl)

    def time_call(self, function, form, dtype, size, impl):
        self.call()


class Elementwise(_Timed):
    """Elementwise functions at 1e3, 1e5 and 1e7 elements."""

    params = (_ELEMENTWISE, bb.FORMS, DTYPES, SIZES, bb.IMPLEMENTATIONS)


class Rowwise(_Timed):
    """The softmax family on rows of 10, 1000 and 1e6 elements (1e6 elements in all)."""

    params = (_ROWWISE, bb.FORMS, DTYPES, ROW_SHAPES, bb.IMPLEMENTATIONS)


class Halves(_Timed):
    """glu (the two halves of x along its last axis) at 1e3, 1e5 and 1e7 input elements; its
    in-place forms do not exist and are skipped."""

    params = (_HALVES, bb.FORMS, DTYPES, SIZES, bb.IMPLEMENTATIONS)


class Small(_Timed):
    """Call overhead: 1, 10 and 1000 float32 elements (one row for the softmax family)."""

    params = (list(_ACTS), bb.FORMS, ("float32",), SMALL_SIZES, bb.IMPLEMENTATIONS)
    # Many calls per sample, setup (cheap here) re-run between them by asv.
    number = 200
    repeat = (5, 20, 5.0)


class Masked:
    """Masked rows (``where=``): a causal (512, 512) mask against (8, 8, 512, 512) float32
    scores, beside the unmasked call and the peers' fill-then-call."""

    params = ([k for k, a in _ACTS.items() if a.takes_where], bb.MASKED_IMPLEMENTATIONS)
    param_names = ["function", "implementation"]
    timeout = 600
    rounds = 1
    repeat = (3, 10, 10.0)

    def setup(self, function, impl):
        x, mask = bb.masked_inputs("float32")
        out = np.empty_like(x)
        self.call = bb.masked_candidate(_ACTS[function], impl, x, mask, out=out)
        self.call()  # JIT and torch warm-up outside the timings

    def time_call(self, function, impl):
        self.call()


class Bias:
    """The fused bias (``bias=``) at (10000, 1000): beside the call without a bias and the
    separate add-then-call (backward: then ``.sum(axis=0)``) of fastact, NumPy and PyTorch."""

    params = (
        [k for k, a in _ACTS.items() if a.takes_bias],
        ("forward", "backward"),
        DTYPES,
        bb.BIAS_IMPLEMENTATIONS,
    )
    param_names = ["function", "direction", "dtype", "implementation"]
    timeout = 600
    rounds = 1
    repeat = (3, 10, 10.0)

    def setup(self, function, direction, dtype, impl):
        act = _ACTS[function]
        arrays = bb.bias_inputs(act, direction, dtype)
        out = np.empty(bb.BIAS_SHAPE, dtype)
        self.call = bb.bias_candidate(act, direction, impl, arrays, out=out)
        self.call()  # JIT and torch warm-up outside the timings

    def time_call(self, function, direction, dtype, impl):
        self.call()


class CopyFloor:
    """The memory bound: ``np.copyto`` (forward) and ``np.add`` (backward: 2 reads, 1 write),
    serial (NumPy) and on all Numba threads.

    Read a kernel's time as a fraction of the copy bandwidth: floor / kernel.
    """

    params = (("forward", "backward"), DTYPES, SIZES + (1_000_000,), ("numpy", "parallel"))
    param_names = ["direction", "dtype", "size", "implementation"]
    rounds = 1
    repeat = (3, 10, 10.0)

    def setup(self, direction, dtype, size, impl):
        rng = np.random.default_rng(0)
        n = 2 if direction == "backward" else 1
        arrays = tuple(rng.standard_normal(size, dtype=dtype) for _ in range(n))
        out = np.empty(size, dtype)
        self.call = bb.copy_floor(direction, arrays, out, parallel=impl == "parallel")
        self.call()

    def time_copy(self, direction, dtype, size, impl):
        self.call()


def _mem_setup(self, function, form, dtype, size, impl):
    act = _ACTS[function]
    direction = "backward" if form.startswith("backward") else "forward"
    shape = (1_000, 10_000) if act.kind == ROWWISE else (10_000_000,)
    small = bb.make_inputs(act, direction, dtype, (10, 10))
    # Warm every driver the big call may pick, so no compiler memory lands in the peak.
    for warm in ("fastact-cpu", "fastact-parallel") if impl == "fastact" else (impl,):
        bb.candidate(act, form, warm, small)()
    self.call = bb.candidate(act, form, impl, bb.make_inputs(act, direction, dtype, shape))


class PeakMemory:
    """Peak RSS of a process that makes one call at 1e7 float64 elements.

    Includes the inputs (80 MB per array): the in-place forms add nothing to it, the
    out-of-place forms one output, the NumPy expressions their temporaries too.
    """

    params = (list(_ACTS), bb.FORMS, ("float64",), ("1e7",), ("fastact", "numpy", "torch"))
    param_names = PARAM_NAMES
    timeout = 300
    setup = _mem_setup

    def peakmem_call(self, function, form, dtype, size, impl):
        self.call()


class Allocations:
    """Peak bytes NumPy allocates during one call at 1e7 float64: 0 for the in-place forms."""

    params = (list(_ACTS), bb.FORMS, ("float64",), ("1e7",), ("fastact", "numpy"))
    param_names = PARAM_NAMES
    timeout = 300
    setup = _mem_setup

    def track_allocated_bytes(self, function, form, dtype, size, impl):
        tracemalloc.start()
        try:
            self.call()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    track_allocated_bytes.unit = "bytes"


def _cuda_ready():
    try:
        import importlib.util

        from numba import cuda

        return cuda.is_available() and importlib.util.find_spec("fastact.drivers.cuda") is not None
    except Exception:
        return False


class Cuda:
    """``target="cuda"`` on Numba device arrays, synchronised inside the timed method."""

    params = (list(_ACTS), bb.FORMS, DTYPES, ("1e5", "1e7"))
    param_names = ["function", "form", "dtype", "size"]
    rounds = 1
    repeat = (3, 10, 10.0)

    def setup(self, function, form, dtype, size):
        if not _cuda_ready():
            raise NotImplementedError("no CUDA GPU or no fastact CUDA target")
        from numba import cuda

        act = _ACTS[function]
        if form not in act.form_kinds:
            raise NotImplementedError(f"{function} has no {form} form")  # glu: no in-place
        n = int(float(size))
        shape = (n // 1000, 1000) if act.kind == ROWWISE else (n,)
        direction = "backward" if form.startswith("backward") else "forward"
        host = bb.make_inputs(act, direction, dtype, shape)
        self.arrays = tuple(cuda.to_device(a) for a in host)
        self.fn = getattr(act, form)
        self.params_ = bb.params(act)
        self.sync = cuda.synchronize
        self.fn(*self.arrays, *self.params_, target="cuda")
        if form.endswith("_"):
            self.arrays[0].copy_to_device(host[0])
        self.sync()

    def time_call(self, function, form, dtype, size):
        self.fn(*self.arrays, *self.params_, target="cuda")
        self.sync()


# --------------------------------------------------------------------------- the guard
def _check_suite():
    """Every registered function and each of its public forms has a timing benchmark."""
    forms = {"forward": "", "forward_": "_", "backward": "_backward", "backward_": "_backward_"}
    covered = set()
    for cls in (Elementwise, Rowwise, Halves):
        for label in cls.params[0]:
            covered.update(_ACTS[label].name + forms[f] for f in cls.params[1])
    missing = [
        name for act in fastact.REGISTRY.values() for name in act.forms if name not in covered
    ]
    if missing:
        raise ImportError(f"benchmarks/: no benchmark for {', '.join(missing)}")


_check_suite()
