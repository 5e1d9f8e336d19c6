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

``is_single(a)`` tells float32 from float64 at compile time: ``a.itemsize == 4`` is read
at run time, both branches stay, and that has cost float32 loops half their vector width.
"""

from numba.core import types
from numba.core.cpu import CPUContext
from numba.extending import intrinsic, overload

PREFERRED_VECTOR_WIDTH = 512


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
