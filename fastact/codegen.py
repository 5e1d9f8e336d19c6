"""LLVM function attributes for fastact's compiled code, set through Numba intrinsics.

``inline_me()`` marks the calling function ``alwaysinline``: kernels are compiled as
separate functions, and LLVM's cost model declines to inline the larger ones into the
caller's loop, which then does not vectorize (or, for row kernels, pays a call per row).
``prefer_wide_vectors()`` sets ``"prefer-vector-width"`` on the calling function: LLVM's
tuning for AVX-512 CPUs prefers 256-bit vectors, which costs fastact 1.1-1.4x; the
attribute asks for full width in fastact's own loops only, without the process-wide
``NUMBA_CPU_FEATURES`` switch, and is ignored by CPUs without AVX-512. Results do not
depend on the width (each lane computes the same operations). Both emit no code.

Intrinsics cannot run as Python, so kernels (which also run as Python under the CUDA
simulator) call ``inline_here()``, a no-op Python function whose compiled form does both
for its caller (the second on the CPU only). Both matter: Numba optimizes a kernel in
its own module before it is inlined, so a row kernel's loops are vectorized there, at
the kernel's own preferred width, not at the driver's.

``borrowed(a)`` is a view of ``a`` without a reference: Numba counts references to every
array view it creates (an atomic add and a call per view, ~40 cycles), and loops over rows
create several views per row; views of a borrowed array carry none. It must not outlive
``a``: use it on arguments, or on a local array kept alive with ``keep_alive(a)``.

``same_data(a, b)`` detects in-place calls, whose loops must use one array to vectorize.

``unfolded(v)`` is ``v``, as a value the CPU backend cannot fold into the load it came
from: see its docstring.

``is_single(a)`` tells float32 from float64 at compile time: ``a.itemsize == 4`` is read
at run time, both branches stay, and that has cost float32 loops half their vector width.
"""

from llvmlite import ir
from numba.core import types
from numba.core.cpu import CPUContext
from numba.extending import intrinsic, overload, register_jitable

PREFERRED_VECTOR_WIDTH = 512


def vector_bits() -> int:
    """The vector width fastact's loops are compiled for: 512 bits with AVX-512 (asked for
    by ``prefer_wide_vectors``), 256 with AVX2, else 128. Read from a small loop compiled
    (uncached) the way the drivers are, so it follows ``NUMBA_CPU_NAME`` and
    ``NUMBA_CPU_FEATURES`` as well as the host. The report prints it beside each run."""
    import re

    import numpy as np
    from numba import njit

    def scale(x, out):
        for i in range(x.size):
            prefer_wide_vectors()
            out[i] = x[i] * np.float32(3) + np.float32(1)

    f = njit(error_model="numpy")(scale)
    x = np.ones(64, np.float32)
    f(x, np.empty_like(x))
    asm = f.inspect_asm(f.signatures[0])
    widths = {"z": 512, "y": 256, "x": 128}
    return max((widths[w] for w in re.findall(r"\bv\w+ps\s+[^\n]*%([xyz])mm", asm)), default=128)


def _function_attribute(attribute, cpu_only=False):
    @intrinsic
    def set_attribute(typingctx):
        def codegen(context, builder, sig, args):
            if cpu_only and not isinstance(context, CPUContext):
                pass  # a CPU tuning attribute means nothing to the CUDA target
            elif "=" in attribute:
                # llvmlite only accepts known enum attributes through .add(); the set is
                # printed into the IR as it is, so a string attribute goes in directly.
                set.add(builder.function.attributes, attribute)
            else:
                builder.function.attributes.add(attribute)
            return context.get_dummy_value()

        return types.none(), codegen

    return set_attribute


inline_me = _function_attribute("alwaysinline")
prefer_wide_vectors = _function_attribute(
    f'"prefer-vector-width"="{PREFERRED_VECTOR_WIDTH}"', cpu_only=True
)


def is_single(a):
    """Whether the array ``a`` holds float32: a compile-time constant in compiled code."""
    return a.dtype.itemsize == 4


@overload(is_single, inline="always")
def _is_single(a):
    single = a.dtype == types.float32
    return lambda a: single


def inline_here():
    """In compiled code: mark the calling function ``alwaysinline`` and, on the CPU, let its
    loops use full-width vectors. In Python: nothing."""


@overload(inline_here, inline="always")
def _inline_here():
    def impl():
        inline_me()
        prefer_wide_vectors()

    return impl


def unfolded(v):
    """``v``. For ``grad if cond else 0`` with ``grad`` read from an array: LLVM turns that
    select into a zero-masking load (AVX-512 ``vmovups {k}{z}``), which ran the memory-bound
    backward loops 15-20% slower than a plain load and a masked move on AMD Zen 4 (relu's
    at 1e7, one thread). On the CPU ``v`` goes through ``llvm.canonicalize`` (one multiply
    by 1, free at the memory bound; NaNs stay NaN, -0.0 and subnormals stay), which the
    backend does not fold into a load; on the GPU and in Python it is ``v`` itself."""
    return v


@intrinsic
def _canonicalize(typingctx, v):
    if not isinstance(v, types.Float):
        return None

    def codegen(context, builder, sig, args):
        if not isinstance(context, CPUContext):
            return args[0]
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.canonicalize", [t], ir.FunctionType(t, [t]))
        return builder.call(fn, args)

    return v(v), codegen


@overload(unfolded, inline="always")
def _unfolded_ol(v):
    if isinstance(v, types.Float):
        return lambda v: _canonicalize(v)


@intrinsic
def borrowed(typingctx, a):
    """A view of the array ``a`` that holds no reference (NULL meminfo): see the module doc."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, value=args[0])
        view = context.make_array(sig.return_type)(context, builder)
        for name in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(view, name, getattr(src, name))
        view.meminfo = ir.Constant(src.meminfo.type, None)
        view.parent = ir.Constant(src.parent.type, None)
        return view._getvalue()

    return a(a), codegen


def same_data(a, b):
    """Whether the arrays ``a`` and ``b`` start at the same address. A loop that reads ``a``
    and writes ``b`` must then read ``b`` itself: LLVM guards vectorized loops with a
    run-time overlap check, and two views of the same memory fail it, so an in-place call
    would run the scalar loop (5-8x slower). Both branches compute the same values, so in
    Python (the CUDA simulator) the answer does not matter: False."""
    return False


@intrinsic
def _same_data(typingctx, a, b):
    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        pa = context.make_array(sig.args[0])(context, builder, value=args[0]).data
        pb = context.make_array(sig.args[1])(context, builder, value=args[1]).data
        return builder.icmp_unsigned("==", builder.ptrtoint(pa, i64), builder.ptrtoint(pb, i64))

    return types.boolean(a, b), codegen


@overload(same_data, inline="always")
def _same_data_ol(a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array):
        return lambda a, b: _same_data(a, b)


@register_jitable
def keep_alive(a):
    """Use ``a`` here, so that Numba releases it no earlier (after its borrowed views)."""


# Every activation kernel is a generic Numba function: callable from Python, inlined into
# @njit and @cuda.jit callers. error_model="numpy" drops the per-division zero check that
# would stop LLVM from vectorizing the callers' loops.
kernel = register_jitable(error_model="numpy")
