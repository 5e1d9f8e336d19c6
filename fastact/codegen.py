"""LLVM function attributes for fastact's compiled code, set through Numba intrinsics.

``inline_me()`` marks the calling function ``alwaysinline``: kernels are compiled as
separate functions, and LLVM's cost model declines to inline the larger ones into the
caller's loop, which then does not vectorize (or, for row kernels, pays a call per row).
``prefer_wide_vectors()`` sets ``"prefer-vector-width"`` on the calling function: LLVM's
tuning for AVX-512 CPUs prefers 256-bit vectors, which costs fastact 1.1-1.4x; the
attribute asks for full width in fastact's own loops only, without the process-wide
``NUMBA_CPU_FEATURES`` switch, and is ignored by CPUs without AVX-512. Results do not
depend on the width (each lane computes the same operations).

Both emit no code. Intrinsics cannot run as Python, so code that must also run as Python
(kernels under the CUDA simulator) calls ``inline_here()``, a no-op Python function whose
compiled form is inlined into the caller and marks it.
"""

from numba.core import types
from numba.extending import intrinsic, overload

PREFERRED_VECTOR_WIDTH = 512


def _function_attribute(attribute):
    @intrinsic
    def set_attribute(typingctx):
        def codegen(context, builder, sig, args):
            if "=" in attribute:
                # llvmlite only accepts known enum attributes through .add(); the set is
                # printed into the IR as it is, so a string attribute goes in directly.
                set.add(builder.function.attributes, attribute)
            else:
                builder.function.attributes.add(attribute)
            return context.get_dummy_value()

        return types.none(), codegen

    return set_attribute


inline_me = _function_attribute("alwaysinline")
prefer_wide_vectors = _function_attribute(f'"prefer-vector-width"="{PREFERRED_VECTOR_WIDTH}"')


def inline_here():
    """In compiled code: mark the calling function ``alwaysinline``. In Python: nothing."""


@overload(inline_here, inline="always")
def _inline_here():
    return lambda: inline_me()
