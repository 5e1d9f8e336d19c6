"""Elementary functions for fastact's kernels: exp, expm1, log, log1p, tanh, erf, erfc.

Each function is a plain Python function (the reference path, used when a kernel runs
as Python, e.g. under the CUDA simulator) with a per-target Numba overload. The CPU
overloads are written so that LLVM can vectorize the loops that call them: Numba on
this platform has no SVML, so ``math.exp`` in a loop stays a scalar libm call.

float32 arguments are computed in float32 and float64 in float64; the result has the
argument's type.

How the CPU kernels stay vectorizable and exact at the edges:

- no branches: every case is computed and picked with a select (``a if c else b``
  on scalars, which LLVM turns into a vector blend); clamps are written NaN-safe,
  ``x if not (x < c) else c``, so NaN flows through to the result;
- range reduction is Cody-Waite with a two-part ln 2, whose high part has enough
  trailing zeros that ``k * LN2_HI`` is exact;
- 2**k is built from bits (`_pow2i`, `_logsplit` are LLVM IR through
  ``numba.extending.intrinsic``), never by a libm call or an int64 round trip,
  so the float32 kernels keep 32-bit lanes;
- ``fastmath={"contract"}`` only (FMA, no NaN/inf assumptions): the vector loop
  body and its scalar remainder are fused alike and give bit-identical results
  (tests/test_elementary.py checks it); the one product that must stay rounded,
  the Veltkamp split in erfc, goes through `_mul_exact`;
- polynomial coefficients are minimax fits from tools/fit_elementary.py.
"""

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from .codegen import inline_me

__all__ = [
    "exp",
    "expm1",
    "log",
    "log1p",
    "tanh",
    "erf",
    "erfc",
    "gate",
    "maximum",
    "max_unordered",
    "fma",
]

# error_model="numpy": no zero-division check on `/` (it blocks vectorization).
# fastmath={"contract"} only lets LLVM fuse a*b+c into an FMA (no NaN/inf
# assumptions); the exact splits that must not be fused use `_mul_exact`.
_JIT = {"error_model": "numpy", "fastmath": {"contract"}}


def exp(x):
    """e**x."""
    return math.exp(x)


def expm1(x):
    """e**x - 1, accurate near 0."""
    return math.expm1(x)


def log(x):
    """Natural logarithm."""
    return math.log(x)


def log1p(x):
    """log(1 + x), accurate near 0."""
    return math.log1p(x)


def tanh(x):
    """Hyperbolic tangent."""
    return math.tanh(x)


def erf(x):
    """Error function."""
    return math.erf(x)


def erfc(x):
    """Complementary error function, 1 - erf(x), accurate for large x."""
    return math.erfc(x)


def for_dtype(x, a32, a64):
    """``a32`` if x is float32, else ``a64``: per-precision constants, picked at compile time
    (an overload for every target: not a math stub, so not in ``__all__``)."""
    return a32 if isinstance(x, np.float32) else a64


@overload(for_dtype, inline="always")
def _for_dtype_ol(x, a32, a64):
    if x == types.float32:
        return lambda x, a32, a64: a32
    return lambda x, a32, a64: a64


def exp_pow2(x, k):
    """exp(x) * 2**-k for integral k of x's type, x itself exp's argument: the CPU's exp takes
    the 2**-k into its own scaling (one rounding). For |x| < 2**14 (float32) or 2**20
    (float64), where the reduction stays exact, and |k| below the exponent range. A CPU
    helper (softmax's rows), not a math stub: no GPU form."""
    return type(x)(math.exp(float(x) - float(k) * math.log(2.0)))


# gate's far tail (GPU and Python form): where exp(-x) overflows (x < -87 in float32, -708
# in float64) but a exp(x) need not, it takes e = exp(x + 44.375) 2**-64 / C (x + 44.375 is
# exact: 44.375 is 64 ln2's high part, C = exp(44.375 - 64 ln2) to the working precision),
# and the product is rounded once into the subnormals.
GATE_TAIL = (-87.0, -708.0)
GATE_C = (0.9865113496780396, 0.986511354045)  # float64: 12 digits, its error counts as eps**2


def gate(a, x):
    """a * sigmoid(x) = a / (1 + exp(-x)), for finite a of magnitude below 2**64 (float32)
    or 2**512 (float64): no overflow, results in the far negative tail (subnormal) rounded
    once, NaN for NaN x. Within 3 ULP for silu (a = x)."""
    T = type(x)
    tail = x < T(for_dtype(x, GATE_TAIL[0], GATE_TAIL[1]))
    e = exp(x + T(44.375) if tail else -x)
    y = a / (T(1) + e)
    return y if not tail else ((a * T(for_dtype(x, GATE_C[0], GATE_C[1]))) * e) * T(2.0**-64)


# ---------------------------------------------------------------------------------
# Per-precision constants. Polynomials are highest degree first (Horner order).


class _Consts(NamedTuple):
    """Constants of one precision (a named tuple, so compiled code can read it)."""

    MANT: int  # explicit mantissa bits
    BIAS: int
    EMAX: int
    SHIFTER: float  # x + SHIFTER - SHIFTER rounds x to an integer
    MIN_NORMAL: float
    SUB_SCALE: float  # subnormals are multiplied by SUB_SCALE = 2**SUB_BITS first
    SUB_BITS: float
    LN2_HI: float  # ln 2 = LN2_HI + LN2_LO; k * LN2_HI is exact for the k in use
    LN2_LO: float
    EXP_LO: float  # exp argument clamps: beyond them the result is 0 / inf
    EXP_HI: float
    GATE_RANGE: tuple  # gate's clamp of x: 2**k finite, 2**k a below the subnormals
    EXPM1_LO: float  # below it expm1 rounds to -1
    EXP_Q: tuple  # (e**r - 1 - r) / r**2 on |r| <= ln2 / 2
    LOG_R: tuple  # R(z) / z with log1p(f) = 2s + s R(s**2), s = f / (2 + f)
    TANH_MAX: float  # tanh(x) rounds to +-1 beyond it
    SPLIT: float  # Veltkamp: x * SPLIT splits x into halves whose square is exact
    ERF_SPLIT: float  # erf polynomial below this |x|, erfc formula above
    ERFC_MAX: float  # erfc(x) rounds to 0 beyond it
    ERF_Y: tuple  # erf(x) / x - 1 in z = x**2, |x| <= ERF_SPLIT
    ERFC_KA: tuple  # K(x) = x erfc(x) exp(x**2) in x - 3/2 for ERF_SPLIT <= x <= 2
    ERFC_TC: float
    ERFC_KT: tuple  # K(x) in t - ERFC_TC, t = 2 / (2 + x), for x >= 2


_F32 = _Consts(
    MANT=23,
    BIAS=127,
    EMAX=127,
    SHIFTER=1.5 * 2.0**23,
    MIN_NORMAL=2.0**-126,
    SUB_SCALE=2.0**24,
    SUB_BITS=24.0,
    # LN2_HI has 9 significant bits: k * LN2_HI is exact for |k| < 2**15.
    LN2_HI=0.693359375,
    LN2_LO=-2.12194440e-4,
    EXP_LO=-110.0,
    EXP_HI=89.0,
    GATE_RANGE=(87.0, -150.0),
    EXPM1_LO=-30.0,
    EXP_Q=(
        0.001390128512866795,
        0.008363140746951103,
        0.04166685417294502,
        0.16666577756404877,
        0.5,
    ),
    LOG_R=(0.23330993950366974, 0.2855079770088196, 0.4000012278556824, 0.6666666865348816),
    TANH_MAX=10.0,  # 1 - tanh(10) = 4e-9 < 2**-25
    SPLIT=4097.0,
    ERF_SPLIT=0.84375,
    ERFC_MAX=10.1,
    ERF_Y=(
        9.151118865702301e-05,
        -0.0008303601061925292,
        0.005213448312133551,
        -0.026863809674978256,
        0.11283766478300095,
        -0.37612637877464294,
        0.12837916612625122,
    ),
    ERFC_KA=(
        0.00016865931684151292,
        -0.0003453326935414225,
        0.0008639920852147043,
        -0.0023143296130001545,
        0.005664056167006493,
        -0.012864950112998486,
        0.026754265651106834,
        -0.04939636215567589,
        0.0761510506272316,
        0.48237812519073486,
    ),
    ERFC_TC=0.3125,
    ERFC_KT=(
        0.16747470200061798,
        0.2523083984851837,
        -0.12190161645412445,
        -0.5142468810081482,
        -0.583530843257904,
        -0.3761019706726074,
        -0.11792836338281631,
        0.5506232976913452,
    ),
)

_F64 = _Consts(
    MANT=52,
    BIAS=1023,
    EMAX=1023,
    SHIFTER=1.5 * 2.0**52,
    MIN_NORMAL=2.0**-1022,
    SUB_SCALE=2.0**54,
    SUB_BITS=54.0,
    # fdlibm's split: LN2_HI has 32 trailing zero bits.
    LN2_HI=6.93147180369123816490e-01,
    LN2_LO=1.90821492927058770002e-10,
    EXP_LO=-750.0,
    EXP_HI=710.0,
    GATE_RANGE=(708.0, -1100.0),
    EXPM1_LO=-60.0,
    EXP_Q=(
        2.0889373772637928e-09,
        2.5105173599777552e-08,
        2.7557349619570834e-07,
        2.7557255514295505e-06,
        2.480158724574284e-05,
        0.00019841269874720753,
        0.0013888888888917957,
        0.008333333333326167,
        0.041666666666666616,
        0.1666666666666667,
        0.5,
    ),
    LOG_R=(
        0.146168757171551,
        0.15331684003514184,
        0.1818289036928273,
        0.22222211115827203,
        0.28571428626106166,
        0.3999999999989918,
        0.666666666666667,
    ),
    TANH_MAX=20.0,  # 1 - tanh(20) = 8e-18 < 2**-54
    SPLIT=134217729.0,
    ERF_SPLIT=0.84375,
    ERFC_MAX=27.3,
    ERF_Y=(
        -8.66903357545474e-10,
        1.411647096749121e-08,
        -1.6286645805213429e-07,
        1.6456176928413377e-06,
        -1.4925347807210331e-05,
        0.0001205532236486523,
        -0.0008548326768541106,
        0.005223977621363385,
        -0.026866170644718544,
        0.11283791670952725,
        -0.37612638903183687,
        0.12837916709551256,
    ),
    ERFC_KA=(
        1.2376457094662911e-08,
        -2.7776650029475326e-08,
        9.386149629571275e-08,
        -3.457509599509431e-07,
        1.174818472979399e-06,
        -3.873933587028924e-06,
        1.240138302270484e-05,
        -3.836260642438782e-05,
        0.00011432161812904574,
        -0.000326965129772949,
        0.0008932397731605479,
        -0.0023167552338419113,
        0.0056584046312614655,
        -0.012864893869915293,
        0.026754681906130187,
        -0.04939635794934456,
        0.07615103985547741,
        0.48237812468147623,
    ),
    ERFC_TC=0.28125,
    ERFC_KT=(
        -0.44086081961688117,
        -0.40116308347499396,
        0.507576427691428,
        0.2413231890000377,
        -0.4048319866033696,
        -0.10637753199889152,
        0.3134745503278311,
        0.0653910633962342,
        -0.2639865092721192,
        -0.09268361573044366,
        0.24236195048257805,
        0.20923354309164985,
        -0.16734746717726304,
        -0.4915084441238594,
        -0.5205784962772633,
        -0.32436943924995554,
        -0.09606942215900556,
        0.5539585811602512,
    ),
)


_CONSTS = {32: _F32, 64: _F64}
_LOG2E = 1.4426950408889634


# ---------------------------------------------------------------------------------
# Bit-level helpers, emitted as LLVM IR at the argument's own width.


def maximum(a, b):
    """The larger of a and b, NaN if either is NaN (IEEE 754-2019 maximum)."""
    return a if (a > b or a != a) else b


@intrinsic
def _llvm_maximum(typingctx, a, b):
    # llvm.maximum propagates NaN and, unlike a compare-and-select, vectorizes as a
    # reduction without fast-math flags (3x faster row maxima in the softmax family).
    if isinstance(a, types.Float) and a == b:

        def codegen(context, builder, sig, args):
            t = args[0].type
            fn = builder.module.declare_intrinsic("llvm.maximum", [t], ir.FunctionType(t, [t, t]))
            return builder.call(fn, args)

        return a(a, b), codegen


@overload(maximum, target="cpu", jit_options=_JIT)
def _maximum_cpu(a, b):
    if isinstance(a, types.Float) and a == b:
        return lambda a, b: _llvm_maximum(a, b)


def max_unordered(a, b):
    """The larger of a and b; if either is NaN, one of the two (which one is unspecified).

    For reductions whose NaN reaches the result another way (the softmax family's row
    maximum: a NaN element turns the row's sum, hence the row, into NaN anyway).
    """
    return a if a > b else b


@intrinsic
def _select_max_nnan(typingctx, a, b):
    # compare-and-select with nnan/nsz: LLVM recognises the reduction and emits a bare
    # vmaxps per vector, 3x faster than llvm.maximum's NaN and signed-zero fix-ups. The
    # flags only make a NaN operand's result unspecified, which the contract allows.
    if isinstance(a, types.Float) and a == b:

        def codegen(context, builder, sig, args):
            flags = ("nnan", "nsz")
            gt = builder.fcmp_ordered(">", args[0], args[1], flags=flags)
            return builder.select(gt, args[0], args[1], flags=flags)

        return a(a, b), codegen


@overload(max_unordered, target="cpu", jit_options=_JIT)
def _max_unordered_cpu(a, b):
    if isinstance(a, types.Float) and a == b:
        return lambda a, b: _select_max_nnan(a, b)


def fma(a, b, c):
    """a * b + c, rounded once where the hardware has FMA (in Python too, for finite
    arguments: kernels use it to get a product's exact rounding error, which the CUDA
    simulator, running them as Python, must see as well).

    Where it matters, write it out: LLVM contracts a * b + c only when the product has a
    single use, so ``s * p`` shared by two sums would be rounded on its own.
    """
    if not all(map(math.isfinite, (a, b, c))):
        return a * b + c
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    return type(a)(float(exact)) if exact else a * b + c  # a * b + c: the sign of zero


@overload(fma, target="cpu", jit_options=_JIT)
def _fma_cpu(a, b, c):
    if isinstance(a, types.Float) and a == b == c:
        return lambda a, b, c: _fmuladd(a, b, c)


def _int_of(fty):
    return ir.IntType(fty.bitwidth)


@intrinsic
def _mul_exact(typingctx, a, b):
    """a * b as a plain IEEE multiply that LLVM may not fuse into an FMA."""
    if not (isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def _fmuladd(typingctx, a, b, c):
    """llvm.fmuladd: the CPU implementation of `fma`."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fmuladd", [t], ir.FunctionType(t, [t, t, t]))
        return builder.call(fn, args)

    return a(a, b, c), codegen


# k is usually (y + SHIFTER) - SHIFTER from a rounding: with these flags LLVM folds
# k + SHIFTER back to y + SHIFTER instead of adding again. The sum is exact either way.
_REFOLD = ("reassoc", "nsz")


def _signed_pow2(scale_log2, negative):
    """An intrinsic for ``(-1 if negative else 1) * 2.0**(k + scale_log2)``, integral float k.

    Adding the 1.5 * 2**MANT shifter leaves k as a two's-complement integer in the
    low mantissa bits; adding the bias and shifting it into the exponent field drops
    the shifter's own bits. No fptosi, so a NaN k gives garbage, not poison.
    """

    @intrinsic
    def pow2(typingctx, k):
        if not isinstance(k, types.Float):
            return None

        def codegen(context, builder, sig, args):
            c = _CONSTS[k.bitwidth]
            fty = args[0].type
            ity = _int_of(k)
            t = builder.fadd(args[0], ir.Constant(fty, c.SHIFTER), flags=_REFOLD)
            i = builder.add(builder.bitcast(t, ity), ir.Constant(ity, c.BIAS + scale_log2))
            bits = builder.shl(i, ir.Constant(ity, c.MANT))
            if negative:
                bits = builder.xor(bits, ir.Constant(ity, 1 << (ity.width - 1)))
            return builder.bitcast(bits, fty)

        return k(k), codegen

    return pow2


_pow2i = _signed_pow2(0, False)  # 2**k, 1 - BIAS <= k <= EMAX
_neg_pow2i1 = _signed_pow2(1, True)  # -2**(k + 1), -BIAS <= k < EMAX


@intrinsic
def _logsplit(typingctx, x):
    """(m, e) with x = m * 2**e, sqrt(1/2) <= m < sqrt(2), for positive normal x.

    Integer form of frexp (as in musl's log): offsetting the bits by
    bits(1) - bits(sqrt(1/2)) moves the exponent boundary to sqrt(2).
    """
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        c = _CONSTS[x.bitwidth]
        fty = args[0].type
        ity = _int_of(x)
        one = c.BIAS << c.MANT
        # bits of sqrt(1/2), rounded: the lower bound of m
        lo = 0x3F3504F3 if x.bitwidth == 32 else 0x3FE6A09E667F3BCD
        i = builder.add(builder.bitcast(args[0], ity), ir.Constant(ity, one - lo))
        e = builder.sub(builder.ashr(i, ir.Constant(ity, c.MANT)), ir.Constant(ity, c.BIAS))
        mbits = builder.add(
            builder.and_(i, ir.Constant(ity, (1 << c.MANT) - 1)), ir.Constant(ity, lo)
        )
        m = builder.bitcast(mbits, fty)
        return context.make_tuple(builder, sig.return_type, [m, builder.sitofp(e, fty)])

    return types.UniTuple(x, 2)(x), codegen


# ---------------------------------------------------------------------------------
# Kernels. Each factory returns the implementation for one precision; the
# constants it closes over are frozen into the compiled code.


def _horner(x, coeffs):
    """Polynomial with coefficients ``coeffs`` (highest degree first) at x, in x's type.

    Horner's scheme; beyond 12 terms (float64: beyond 8) all but the last few are split as
    H(x) x**8 + L(x) (x**4), in the order the compiled form uses (which fuses into FMAs)."""
    T = type(x)
    n = len(coeffs)
    split = _horner_split(n, isinstance(x, np.float32))
    if split is not None:
        m, k = split
        x2 = x * x
        xm = x2 * x2 if m == 4 else (x2 * x2) * (x2 * x2)
        inner = _horner(x, coeffs[: -m - k]) * xm + _horner(x, coeffs[-m - k : -k])
        return _horner_finish(x, inner, coeffs[-k:])
    return _horner_finish(x, T(coeffs[0]), coeffs[1:])


def _horner_split(n, single):
    """``(m, k)`` for a polynomial of ``n`` terms: all but its last k split as H(x) x**m +
    L(x); None: plain Horner (float32 below 13 terms, float64 below 9)."""
    if n > 12:
        return 8, 4
    if n > 8 and not single:
        return 4, 3
    return None


def _horner_finish(x, acc, coeffs):
    """Horner's steps from ``acc``: (...(acc x + c0) x + c1 ...) x + c_last."""
    T = type(x)
    for cf in coeffs:
        acc = acc * x + T(cf)
    return acc


@overload(_horner, jit_options=_JIT)
def _horner_ov(x, coeffs):
    # Unrolled at typing time (one instantiation per tuple length, constant
    # indices): a loop over the tuple would index it at run time, which lowers to a
    # switch that blocks vectorization once LLVM stops fully unrolling (~20 terms).
    #
    # Long polynomials: Horner's chain of dependent FMAs, not their number, bounds a float64
    # vector loop over such a kernel (the scheduler holds too few iterations to hide 4 cycles
    # per term). So all but the last k terms are split in two chains, H(x) x**m + L(x), and
    # the last k Horner steps damp the extra rounding of that sum (split to the end, it cost
    # half an ULP: gelu float64 3.0 -> 3.8 ULP). float64 kernels 5-20% faster (Zen 4);
    # float32 ones, twice the lanes per chain, neither gain nor lose, and keep their bits
    # below 13 terms.
    n = coeffs.count
    split = _horner_split(n, x == types.float32)
    if n == 1:

        def impl(x, coeffs):
            inline_me()
            return type(x)(coeffs[0])

    elif split is not None:
        m, k = split
        a, b = n - m - k, n - k  # constants: Numba slices tuples only at constant bounds

        def impl(x, coeffs):
            inline_me()
            x2 = x * x
            xm = x2 * x2 if m == 4 else (x2 * x2) * (x2 * x2)
            inner = _horner(x, coeffs[:a]) * xm + _horner(x, coeffs[a:b])
            return _horner_finish(x, inner, coeffs[b:])

    else:

        def impl(x, coeffs):
            inline_me()
            return _horner(x, coeffs[:-1]) * x + type(x)(coeffs[-1])

    return impl


@overload(_horner_finish, jit_options=_JIT)
def _horner_finish_ov(x, acc, coeffs):
    if coeffs.count == 1:

        def impl(x, acc, coeffs):
            inline_me()
            return acc * x + type(x)(coeffs[0])

    else:

        def impl(x, acc, coeffs):
            inline_me()
            return _horner_finish(x, acc, coeffs[:-1]) * x + type(x)(coeffs[-1])

    return impl


def _host_scales_in_hardware():
    """Whether Numba compiles for this CPU and it has AVX-512F (``vscalefps``)."""
    from llvmlite import binding
    from numba.core import config

    if config.CPU_NAME or config.CPU_FEATURES:
        return False
    return "+avx512f" in binding.get_host_cpu_features().flatten().split(",")


_HW_LDEXP = _host_scales_in_hardware()


@intrinsic
def _ldexp_hw(typingctx, p, k):
    """p * 2**k for integral float k, through llvm.ldexp (one rounding).

    k becomes an integer through the shifter's bits rather than fptosi, so a NaN k
    gives garbage rather than poison (its lane is NaN through p anyway).
    """
    if not (isinstance(p, types.Float) and p == k):
        return None

    def codegen(context, builder, sig, args):
        c = _CONSTS[p.bitwidth]
        fty = args[0].type
        ity = _int_of(p)
        shifter = ir.Constant(fty, c.SHIFTER)
        t = builder.fadd(args[1], shifter, flags=_REFOLD)
        ki = builder.sub(builder.bitcast(t, ity), builder.bitcast(shifter, ity))
        i32 = ir.IntType(32)
        if ity.width != 32:
            ki = builder.trunc(ki, i32)
        fn = builder.module.declare_intrinsic(
            "llvm.ldexp", [fty, i32], ir.FunctionType(fty, [fty, i32])
        )
        return builder.call(fn, [args[0], ki])

    return p(p, k), codegen


def _make_ldexp(c):
    if _HW_LDEXP:
        # With AVX-512, LLVM lowers llvm.ldexp on vectors to one vscalefps: 1.3-1.5x
        # faster exps. Elsewhere it may become a libm call per element, so the
        # two-scale form below stays the portable one. Both round once: same results.
        @register_jitable
        def ldexp(p, k):
            inline_me()
            return _ldexp_hw(p, k)

        return ldexp

    @register_jitable
    def ldexp(p, k):
        """p * 2**k for integral float k up to twice the exponent range.

        Two half-size scalings: the first is exact while p * 2**k1 is normal, so a
        subnormal result is rounded once.
        """
        inline_me()
        T = type(p)
        k1 = (k * T(0.5) + T(c.SHIFTER)) - T(c.SHIFTER)
        return p * _pow2i(k1) * _pow2i(k - k1)

    return ldexp


def _make_reduce(c):
    @register_jitable
    def reduce(hi, lo):
        """(k, r) with hi + lo = k ln2 + r, k integral, |r| <~ ln2 / 2.

        ``hi - k * LN2_HI`` is exact (k * LN2_HI is, and the two are close), so a
        two-part argument keeps the bits of ``lo`` that ``hi + lo`` would round off.
        """
        inline_me()
        T = type(hi)
        k = ((hi + lo) * T(_LOG2E) + T(c.SHIFTER)) - T(c.SHIFTER)
        r = ((hi - k * T(c.LN2_HI)) + lo) - k * T(c.LN2_LO)
        return k, r

    return reduce


def _make_exp_parts(c):
    reduce = _make_reduce(c)

    @register_jitable
    def exp_parts(hi, lo):
        """(q, k) with exp(hi + lo) = (1 + q) * 2**k, |q| <~ 0.41.

        Returning q rather than 1 + q lets a caller multiplying the result by F
        form F + F q with one rounding.
        """
        inline_me()
        k, r = reduce(hi, lo)
        return r + r * (r * _horner(r, c.EXP_Q)), k

    return exp_parts


def _make_exp(c):
    exp_parts = _make_exp_parts(c)
    ldexp = _make_ldexp(c)

    def impl(x):
        inline_me()
        T = type(x)
        xc = x if not (x < T(c.EXP_LO)) else T(c.EXP_LO)
        xc = xc if not (xc > T(c.EXP_HI)) else T(c.EXP_HI)
        q, k = exp_parts(xc, T(-0.0))  # x + -0.0 folds away; x + 0.0 does not
        return ldexp(T(1) + q, k)

    return impl


def _make_expm1(c):
    exp_parts = _make_exp_parts(c)
    ldexp = _make_ldexp(c)

    def impl(x):
        inline_me()
        T = type(x)
        xc = x if not (x < T(c.EXPM1_LO)) else T(c.EXPM1_LO)
        xc = xc if not (xc > T(c.EXP_HI)) else T(c.EXP_HI)
        p, k = exp_parts(xc, T(-0.0))  # p = expm1(r)
        # expm1(x) = 2**k p + (2**k - 1): exact scaling and, for small k, an exact
        # 2**k - 1, so no cancellation; only k = EMAX + 1 needs the split scaling.
        s = _pow2i(k)  # inf for k = EMAX + 1, and that lane takes the other arm
        y = s * p + (s - T(1)) if k <= T(c.EMAX) else ldexp(p + T(1), k) - T(1)
        return y if not (x == T(0)) else x  # keep the sign of zero

    return impl


def _make_log_core(c):
    @register_jitable
    def log_core(u, corr):
        """log(u) + corr for finite u > 0 (fdlibm's formula, branch-free)."""
        inline_me()
        T = type(u)
        tiny = u < T(c.MIN_NORMAL)
        us = u * T(c.SUB_SCALE) if tiny else u
        m, e = _logsplit(us)
        e = e - T(c.SUB_BITS) if tiny else e
        f = m - T(1)
        s = f / (T(2) + f)
        z = s * s
        R = z * _horner(z, c.LOG_R)
        hfsq = T(0.5) * f * f
        return e * T(c.LN2_HI) - ((hfsq - (s * (hfsq + R) + (e * T(c.LN2_LO) + corr))) - f)

    return log_core


def _make_log(c):
    log_core = _make_log_core(c)

    def impl(x):
        inline_me()
        T = type(x)
        y = log_core(x, T(0))
        y = y if x < T(math.inf) else x  # +inf -> inf, NaN -> NaN
        y = y if not (x == T(0)) else T(-math.inf)
        return y if not (x < T(0)) else T(math.nan)

    return impl


def _make_log1p(c):
    log_core = _make_log_core(c)

    def impl(x):
        inline_me()
        T = type(x)
        u = T(1) + x
        # The rounding error of 1 + x, exactly (u - 1 is exact for u >= 1/2, and
        # for u < 1/2 the sum itself is exact), relative to u.
        corr = (x - (u - T(1))) / u
        y = log_core(u, corr)
        y = y if u < T(math.inf) else u  # +inf -> inf, NaN -> NaN
        y = y if not (u == T(0)) else T(-math.inf)
        y = y if not (u < T(0)) else T(math.nan)
        return y if not (x == T(0)) else x  # keep the sign of zero

    return impl


def _make_tanh(c):
    # expm1(-2v) = -2 (v + v (v Q(v))): exp's polynomial with its coefficients scaled by
    # powers of two (exactly), so the factor -2 costs no multiply.
    n = len(c.EXP_Q) - 1
    half_q = tuple(-2.0 * q * (-2.0) ** (n - i) for i, q in enumerate(c.EXP_Q))
    if c is _F32:
        ln2_half = float(np.float32(math.log(2) / 2))

        @register_jitable
        def reduce_half(k, a):
            # One FMA: k |ln2_half - ln 2 / 2| <= 29 * 1e-9 is damped by the 2**k it
            # multiplies in m (0.03 ULP at worst); float64 needs Cody-Waite's two parts.
            inline_me()
            return fma(k, type(a)(ln2_half), a)

    else:

        @register_jitable
        def reduce_half(k, a):
            inline_me()
            T = type(a)
            return fma(k, T(c.LN2_LO * 0.5), fma(k, T(c.LN2_HI * 0.5), a))

    def impl(x):
        """tanh|x| = -m / (m + 2) with m = expm1(-2|x|): one formula for every x.

        With -2|x| = k ln2 + r and exp(r) - 1 = p, both m = 2**k p + (2**k - 1) and
        m + 2 = 2**k p + (2**k + 1) are single FMAs of exact parts (k <= 0), so there
        is no cancellation near 0, where m ~ -2|x|. At most ~2 ULP: the quotient
        doubles m's rounding as tanh -> 1.
        """
        inline_me()
        T = type(x)
        a = abs(x)
        a = a if not (a > T(c.TANH_MAX)) else T(c.TANH_MAX)  # NaN passes
        k = (a * T(-2 * _LOG2E) + T(c.SHIFTER)) - T(c.SHIFTER)
        v = reduce_half(k, a)  # r = -2 v
        h = v + v * (v * _horner(v, half_q))  # p = -2 h
        n2s = _neg_pow2i1(k)  # -2 * 2**k, normal: k >= -2 TANH_MAX log2(e) - 1
        s = n2s * T(-0.5)
        m = fma(n2s, h, s - T(1))
        return math.copysign(m / fma(n2s, h, s + T(1)), x)

    return impl


def _make_erfc_large(c):
    exp_parts = _make_exp_parts(c)
    ldexp = _make_ldexp(c)

    @register_jitable
    def erfc_large(ax):
        """erfc(ax) for ax >= ERF_SPLIT, as exp(-ax**2) K(ax) / ax.

        K is nearly flat (0.43 .. 0.56): a polynomial in the exact ax - 3/2 up to
        2, where K is steepest, and in t = 2 / (2 + ax) beyond, where the rounding
        of t barely moves K. The only division is by the exact ax. ax**2 is split
        exactly (Veltkamp) into h + l and exp takes -h, -l as a two-part argument:
        rounding ax**2 would cost ax**2 * eps relative, 50 ULP at ax = 10.
        """
        inline_me()
        T = type(ax)
        a = ax if not (ax > T(c.ERFC_MAX)) else T(c.ERFC_MAX)
        v = _mul_exact(a, T(c.SPLIT))
        ah = v - (v - a)
        al = a - ah
        q, k = exp_parts(-(ah * ah), -(al * (ah + a)))
        near = _horner(a - T(1.5), c.ERFC_KA)
        far = _horner(T(2) / (T(2) + a) - T(c.ERFC_TC), c.ERFC_KT)
        kx = near if a < T(2) else far
        return ldexp((kx + kx * q) / a, k)

    return erfc_large


def _make_erf(c):
    erfc_large = _make_erfc_large(c)

    def impl(x):
        inline_me()
        T = type(x)
        ax = abs(x)
        small = x + x * _horner(x * x, c.ERF_Y)
        large = T(1) - erfc_large(ax)
        y = small if ax < T(c.ERF_SPLIT) else large
        return math.copysign(y, x)

    return impl


def _make_erfc(c):
    erfc_large = _make_erfc_large(c)

    def impl(x):
        inline_me()
        T = type(x)
        ax = abs(x)
        w = x * _horner(x * x, c.ERF_Y)  # erf(x) = x + w
        # On [1/4, ERF_SPLIT), x - 1/2 is exact, so only w's rounding reaches the result.
        small = T(1) - (x + w) if x < T(0.25) else T(0.5) - ((x - T(0.5)) + w)
        e = erfc_large(ax)
        large = e if x > T(0) else T(2) - e
        return small if ax < T(c.ERF_SPLIT) else large

    return impl


def _make_gate(c):
    # exp(-r) - 1 = -r + r**2 P(-r), P exp's polynomial: its coefficients with the signs of
    # the odd powers flipped (exact).
    n = len(c.EXP_Q) - 1
    neg_q = tuple(q * (-1.0) ** (n - i) for i, q in enumerate(c.EXP_Q))
    ldexp = _make_ldexp(c)
    hi, lo = c.GATE_RANGE

    def impl(a, x):
        """exp(-t) = 2**-k (1 + q), t = x clamped, so a / (1 + exp(-t)) = 2**k a / s with
        s = 2**k + 1 + q: one exp's reduction and polynomial, one division, and the scaling
        by 2**k rounds a subnormal result once (on AVX-512 one vscalefps each, sharing
        k's conversion). No tail branch: 20-30% fewer operations than the GPU form."""
        inline_me()
        T = type(x)
        # 2**k stays finite up to hi; below lo the result is 0 for the a above.
        t = T(hi) if x > T(hi) else x  # NaN passes
        t = T(lo) if t < T(lo) else t
        k = (t * T(_LOG2E) + T(c.SHIFTER)) - T(c.SHIFTER)
        r = (t - k * T(c.LN2_HI)) - k * T(c.LN2_LO)
        q = (r * r) * _horner(r, neg_q) - r
        s = (T(1) + q) + ldexp(T(1), k)
        return ldexp(a / s, k)

    return impl


def _cpu(stub, make):
    """Register the CPU implementation of ``stub``; ``make(consts)`` builds it per width."""
    impls = {bits: make(c) for bits, c in _CONSTS.items()}

    @overload(stub, target="cpu", jit_options=_JIT)
    def _ov(x):
        if isinstance(x, types.Float) and x.bitwidth in impls:
            return impls[x.bitwidth]


_cpu(exp, _make_exp)
_cpu(expm1, _make_expm1)
_cpu(log, _make_log)
_cpu(log1p, _make_log1p)
_cpu(tanh, _make_tanh)
_cpu(erf, _make_erf)
_cpu(erfc, _make_erfc)

_gates = {bits: _make_gate(c) for bits, c in _CONSTS.items()}


def _make_exp_pow2(c):
    exp_parts = _make_exp_parts(c)
    ldexp = _make_ldexp(c)

    def impl(x, k):
        inline_me()
        T = type(x)
        q, n = exp_parts(x, T(-0.0))
        return ldexp(T(1) + q, n - k)

    return impl


_exp_pow2s = {bits: _make_exp_pow2(c) for bits, c in _CONSTS.items()}


@overload(exp_pow2, target="cpu", jit_options=_JIT)
def _exp_pow2_ov(x, k):
    if isinstance(x, types.Float) and x == k and x.bitwidth in _exp_pow2s:
        return _exp_pow2s[x.bitwidth]


@overload(gate, target="cpu", jit_options=_JIT)
def _gate_ov(a, x):
    if isinstance(x, types.Float) and a == x and x.bitwidth in _gates:
        return _gates[x.bitwidth]
