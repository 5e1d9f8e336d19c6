"""ULP-error sweeps of fastact's compiled kernels against high-precision references.

float32: every one of the 2**32 bit patterns (``--quick``: a strided subset), run
through the compiled kernel in chunks, against a float64 reference. A float64
reference is a few float64 ULP (2**-52) off at worst, i.e. about 2**-29 float32
ULP, so measuring against it unrounded gives the float32 error to well below the
0.5-ULP resolution that matters.

float64: a dense sample (log-uniform over the whole finite range, both signs, plus
uniform runs over the regions where the kernels switch method, overflow or
underflow), against a double-double reference ``(hi, lo)``. `ref_longdouble` gets
it from NumPy's x87 long double (64-bit mantissa, glibc's ``expl``/``logl``/... are
accurate to about 1 long-double ULP, so 2**-11 float64 ULP); `ref_mpmath` computes
it with mpmath at 40 digits for functions long double lacks (erf, erfc), on a
subsample because it is slow.

Use from code to add a function to the sweep::

    from ulp_sweep import array_kernel, sweep_f32, sweep_f64, ref_longdouble
    f = array_kernel(my_scalar_kernel)       # any @njit-able scalar function
    print(sweep_f32("mine", f, my_float64_reference).format())
    print(sweep_f64("mine", f, ref_longdouble(np.tanh), f64_sample()).format())

Command line: ``python tools/ulp_sweep.py [--quick | --stride N] [name ...]``.
"""

import argparse
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import mpmath
import numpy as np
import scipy.special
from numba import njit

LABELS = ("0", "<=0.5", "<=1", "<=2", "<=4", ">4")  # ULP-error bins


@dataclass
class Result:
    """ULP-error histogram of one function at one precision."""

    name: str
    dtype: str
    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(LABELS), np.int64))
    max_ulp: float = 0.0
    worst_x: float = math.nan

    def merge(self, counts, max_ulp, worst_x):
        self.counts += counts
        if max_ulp > self.max_ulp or math.isnan(self.worst_x):
            self.max_ulp, self.worst_x = max_ulp, worst_x

    def format(self):
        cells = "  ".join(f"{lab}:{c}" for lab, c in zip(LABELS, self.counts, strict=True))
        return (
            f"{self.name:<8} {self.dtype:<8} n={self.counts.sum():<11} {cells}  "
            f"max={self.max_ulp:.3f} ULP at x={self.worst_x!r}"
        )


_POW2 = np.ldexp(1.0, np.arange(-600, 601))  # 2**k for k in [-600, 600]


@njit(nogil=True, error_model="numpy", cache=True)
def _histogram(x, got, hi, lo, p, emin):
    """(counts, max ULP, its x) of ``got`` against the reference hi + lo.

    ``p``, ``emin``: the target format's precision and minimum exponent (24, -126
    or 53, -1022). The ULP is that of the reference's binade in the target format,
    fixed at the subnormal spacing below the smallest normal; 1/ULP is applied as
    two table powers of two (read off hi's exponent bits, no libm frexp), so the
    loop costs a few ns per element. A non-finite result or reference counts as
    exact if the result equals the reference rounded to the target format (NaN
    matching NaN), else as an infinite error.
    """
    bits = hi.view(np.int64)
    counts = np.zeros(6, np.int64)
    worst, worst_x = -1.0, np.nan
    for i in range(got.size):
        g = np.float64(got[i])
        r = hi[i]
        rt = np.float64(np.float32(r)) if p == 24 else r
        if math.isfinite(rt) and math.isfinite(g):
            n = (p - 1) - max(((bits[i] >> 52) & 0x7FF) - 1023, emin)
            h = n >> 1
            e = abs((g - r) - lo[i]) * _POW2[h + 600] * _POW2[n - h + 600]
        elif g == rt or (math.isnan(g) and math.isnan(rt)):
            e = 0.0
        else:
            e = math.inf
        if e == 0.0:
            counts[0] += 1
        elif e <= 0.5:
            counts[1] += 1
        elif e <= 1.0:
            counts[2] += 1
        elif e <= 2.0:
            counts[3] += 1
        elif e <= 4.0:
            counts[4] += 1
        else:
            counts[5] += 1
        if e > worst:
            worst, worst_x = e, np.float64(x[i])
    return counts, worst, worst_x


def array_kernel(scalar, params=()):
    """Compile ``out[i] = scalar(x[i], *params)`` over a 1-d array (any float dtype), the
    parameters rounded to the array's dtype."""

    @njit(nogil=True, error_model="numpy")
    def run(x, p):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = scalar(x[i], *p)
        return out

    return lambda x: run(x, tuple(x.dtype.type(v) for v in params))


def sweep_f32(name, fn, ref, quick=False, chunk=1 << 18, workers=2, stride=None):
    # NumPy and nogil kernels release the GIL: ``workers`` threads run chunks in parallel.
    """Every float32 (``quick``: every 4099th bit pattern; ``stride``: every stride-th)
    through ``fn`` vs ``ref``.

    ``fn`` maps a float32 array to float32; ``ref`` maps a float64 array to float64.
    """
    res = Result(name, "float32")
    step = stride or (4099 if quick else 1)
    total = 1 << 32

    def one(start):
        bits = np.arange(start, min(start + chunk * step, total), step, dtype=np.uint64)
        x = bits.astype(np.uint32).view(np.float32)
        with np.errstate(all="ignore"):
            hi = np.asarray(ref(x.astype(np.float64)), np.float64)
        return _histogram(x, fn(x), hi, np.zeros_like(hi), 24, -126)

    with ThreadPoolExecutor(workers) as pool:
        for out in pool.map(one, range(0, total, chunk * step)):
            res.merge(*out)
    return res


def sweep_f64(name, fn, ref, x):
    """float64 sample ``x`` through ``fn`` vs ``ref``, which returns (hi, lo) arrays."""
    res = Result(name, "float64")
    with np.errstate(all="ignore"):
        hi, lo = ref(x)
    res.merge(*_histogram(x, fn(x), np.ascontiguousarray(hi), lo, 53, -1022))
    return res


def f64_sample(n=4_000_000, seed=0):
    """Dense float64 sample: log-uniform over all finite magnitudes, both signs, plus
    uniform runs where the kernels change method, overflow or underflow."""
    rng = np.random.default_rng(seed)
    k = n // 8
    mag = np.exp2(rng.uniform(-1074.0, 1024.0, 3 * k))
    parts = [
        mag * rng.choice([-1.0, 1.0], mag.size),
        rng.uniform(-760.0, 760.0, k),  # exp/expm1 over/underflow, subnormal results
        rng.uniform(-40.0, 40.0, k),  # expm1 -> -1, tanh/erf/erfc saturation
        rng.uniform(-1.5, 1.5, k),  # tanh/erf method switches, log1p near -1
        rng.uniform(0.5, 2.0, k // 2),  # log near 1
        np.exp2(rng.uniform(-60.0, 0.0, k // 2)) * rng.choice([-1.0, 1.0], k // 2),
    ]
    specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        math.inf,
        -math.inf,
        math.nan,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        709.782712893384,
        709.7827128933841,
        -745.1332191019411,
        -708.3964185322641,
    ]
    return np.concatenate(parts + [np.array(specials)])


def ref_longdouble(ufunc):
    """Double-double reference from a NumPy ufunc evaluated in x87 long double."""

    def ref(x):
        y = ufunc(x.astype(np.longdouble))
        hi = y.astype(np.float64)
        lo = np.where(np.isfinite(hi), (y - hi).astype(np.float64), 0.0)
        return hi, lo

    return ref


def ref_mpmath(mpfunc, dps=40):
    """Double-double reference from an mpmath function (slow: use a subsample)."""

    def ref(x):
        hi, lo = np.empty_like(x), np.zeros_like(x)
        with mpmath.workdps(dps):
            for i, v in enumerate(x.tolist()):
                if not math.isfinite(v):
                    hi[i] = float(mpfunc(mpmath.mpf(v))) if not math.isnan(v) else v
                    continue
                y = mpfunc(mpmath.mpf(v))
                hi[i] = float(y)
                lo[i] = float(y - hi[i]) if math.isfinite(hi[i]) else 0.0
        return hi, lo

    return ref


def _mp_erfc(v):
    # Beyond +-30 erfc is 0 or 2 in float64 (and mpmath overflows on huge v).
    return mpmath.erfc(v) if abs(v) < 30 else mpmath.mpf(0 if v > 0 else 2)


def _mp_erf(v):
    return mpmath.erf(v) if abs(v) < 30 else mpmath.mpf(1 if v > 0 else -1)


def _sigmoid64(x):
    e = np.exp(-np.abs(x))
    return np.where(x < 0, e, 1.0) / (1.0 + e)


def _sigmoid_ld(x):
    e = np.exp(-np.abs(x.astype(np.longdouble)))
    y = np.where(x < 0, e, np.longdouble(1)) / (1 + e)
    hi = y.astype(np.float64)
    return hi, np.where(np.isfinite(hi), (y - hi).astype(np.float64), 0.0)


# Activations computed in float64 internally: their float32 references are float64
# formulas whose own errors stay far below 2**-24 over the float32 range (gelu's rounded
# erfc argument costs x**2 / 2 float64 ULP, 2**-46 relative at most), and their float64
# references mpmath, with the limits written out where mpmath would overflow.
def _mp_limit(f, lo, hi, at_lo, at_hi):
    def g(v):
        if v < lo:
            return at_lo(v)
        return at_hi(v) if v > hi else f(v)

    return g


_K2 = 2 * np.sqrt(2 / np.pi)
_mp_gelu = _mp_limit(lambda v: v * mpmath.ncdf(v), -50, 50, lambda v: 0, lambda v: v)
_mp_gelu_tanh = _mp_limit(
    # PyTorch's 0.044715 exactly (not the float64 near it), at the working precision.
    lambda v: (
        v / (1 + mpmath.exp(-2 * mpmath.sqrt(2 / mpmath.pi) * (v + v**3 * mpmath.mpf("0.044715"))))
    ),
    -50,
    50,
    lambda v: 0,
    lambda v: v,
)
_mp_silu = _mp_limit(lambda v: v / (1 + mpmath.exp(-v)), -1e4, 1e4, lambda v: 0, lambda v: v)
_mp_softsign = _mp_limit(
    lambda v: v / (1 + abs(v)), -1e300, 1e300, lambda v: -1 - 1 / v, lambda v: 1 - 1 / v
)


def _mp_tanhshrink(v):
    if abs(v) < 1e-5:  # 40 digits lose 2 log10(1/v) to the cancellation
        return v**3 / 3 - 2 * v**5 / 15 + 17 * v**7 / 315
    return v - mpmath.tanh(v) if abs(v) < 50 else v - mpmath.sign(v)


def _tanhshrink64(x):
    z = x * x
    series = x * z * (1 / 3 - z * (2 / 15 - z * (17 / 315 - z * (62 / 2835 - z * 1382 / 155925))))
    return np.where(np.abs(x) < 2**-5, series, x - np.tanh(x))


def _gelu_tanh64(x):
    r = _K2 * (x + 0.044715 * x**3)
    e = np.exp(-np.abs(r))
    return np.where(x == -np.inf, -0.0, x * np.where(r < 0, e, 1) / (1 + e))


def _ld(f):
    """Double-double reference from ``f`` evaluated on long double arrays."""

    def ref(x):
        y = f(x.astype(np.longdouble))
        hi = y.astype(np.float64)
        return hi, np.where(np.isfinite(hi), (y - hi).astype(np.float64), 0.0)

    return ref


# The exponential family at its default parameters; each formula computes in the dtype of
# its argument (float64 for the float32 sweep, long double for the float64 one).
def _softplus(x):  # beta = 1, threshold = 20: x itself beyond the threshold
    return np.where(x > 20, x, np.logaddexp(x.dtype.type(0), x))


def _logsigmoid(x):
    return -np.logaddexp(x.dtype.type(0), -x)


def _mish(x):
    y = x * np.tanh(np.logaddexp(x.dtype.type(0), x))
    return np.where(np.isneginf(x), -0.0, y)


_SELU = (
    np.longdouble("1.6732632423543772848170429916717"),
    np.longdouble("1.0507009873554804934193349852946"),
)


def _elu(x):  # and celu at alpha = 1
    return np.where(x <= 0, np.expm1(x), x)


def _selu(x):
    a, s = (v.astype(x.dtype) for v in _SELU)
    return np.where(x <= 0, (s * a) * np.expm1(x), s * x)


# name -> (float64 reference for the float32 sweep, float64 reference, slow reference).
# Elementary functions first, then the non-exact elementwise activations (the tanh
# activation is the elementary tanh; relu and leaky_relu are exact, tested as such).
REFERENCES = {
    "sigmoid": (_sigmoid64, _sigmoid_ld, False),
    "exp": (np.exp, ref_longdouble(np.exp), False),
    "expm1": (np.expm1, ref_longdouble(np.expm1), False),
    "log": (np.log, ref_longdouble(np.log), False),
    "log1p": (np.log1p, ref_longdouble(np.log1p), False),
    "tanh": (np.tanh, ref_longdouble(np.tanh), False),
    "erf": (scipy.special.erf, ref_mpmath(_mp_erf), True),
    "erfc": (scipy.special.erfc, ref_mpmath(_mp_erfc), True),
    "silu": (lambda x: np.where(x == -np.inf, -0.0, x * _sigmoid64(x)), ref_mpmath(_mp_silu), True),
    "gelu": (
        lambda x: np.where(x == -np.inf, -0.0, x * scipy.special.ndtr(x)),
        ref_mpmath(_mp_gelu),
        True,
    ),
    "gelu_tanh": (_gelu_tanh64, ref_mpmath(_mp_gelu_tanh), True),
    "tanhshrink": (_tanhshrink64, ref_mpmath(_mp_tanhshrink), True),
    "softsign": (
        lambda x: np.where(np.isinf(x), np.sign(x), x / (1 + np.abs(x))),
        ref_mpmath(_mp_softsign),
        True,
    ),
    "softplus": (_softplus, _ld(_softplus), False),
    "logsigmoid": (_logsigmoid, _ld(_logsigmoid), False),
    "mish": (_mish, _ld(_mish), False),
    "elu": (_elu, _ld(_elu), False),
    "selu": (_selu, _ld(_selu), False),
    "celu": (_elu, _ld(_elu), False),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(REFERENCES), help="functions")
    parser.add_argument("--quick", action="store_true", help="strided float32, small float64")
    parser.add_argument("--stride", type=int, help="float32: every N-th bit pattern only")
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from fastact import REGISTRY, elementary, kernels

    x64 = f64_sample(200_000 if args.quick else 4_000_000)
    x64_slow = x64[:: max(1, x64.size // (20_000 if args.quick else 200_000))]
    for name in args.names:
        ref32, ref64, slow = REFERENCES[name]
        act = REGISTRY.get(name)
        params = () if act is None else tuple(p.default for p in act.params if not p.is_choice)
        fn = array_kernel(getattr(elementary, name, None) or getattr(kernels, name), params)
        t0 = time.perf_counter()
        print(sweep_f32(name, fn, ref32, quick=args.quick, stride=args.stride).format(), flush=True)
        print(
            sweep_f64(name, fn, ref64, x64_slow if slow else x64).format(),
            f"[{time.perf_counter() - t0:.0f} s]",
            flush=True,
        )


if __name__ == "__main__":
    main()
