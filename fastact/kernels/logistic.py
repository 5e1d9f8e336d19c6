"""Logistic family: sigmoid and tanh, and the functions built on them: silu, tanhshrink,
softsign.

silu and its backward compute in the input's precision from e = exp(-|x|), with the far
negative tail scaled so that subnormal results are rounded once; tanhshrink likewise, with
a polynomial where x - tanh(x) cancels.
"""

import math

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..elementary import _horner as horner
from ..elementary import for_dtype
from ..registry import ELEMENTWISE, Activation, register

__all__ = [
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "silu",
    "silu_backward",
    "tanhshrink",
    "tanhshrink_backward",
    "softsign",
    "softsign_backward",
]


# --------------------------------------------------------------------------- sigmoid
@kernel
def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow; subnormal results in the far negative tail."""
    inline_here()
    T = type(x)
    e = em.exp(-abs(x))
    return (e if x < T(0) else T(1)) / (T(1) + e)


@kernel
def sigmoid_backward(grad, y):
    inline_here()
    # 1 - y is exact for y >= 0.5, so this is accurate where y * (1 - y) is small.
    T = type(y)
    return grad * (y * (T(1) - y))


def _sigmoid_ref(x):
    e = np.exp(-np.abs(x))
    return np.where(x < 0, e, 1.0) / (1.0 + e)


register(
    Activation(
        name="sigmoid",
        kind=ELEMENTWISE,
        forward_kernel=sigmoid,
        backward_kernel=sigmoid_backward,
        saves="output",
        reference=_sigmoid_ref,
        reference_backward=lambda g, y: g * (y * (1.0 - y)),
        summary="Logistic sigmoid, 1 / (1 + exp(-x)).",
    )
)


# --------------------------------------------------------------------------- tanh
@kernel
def tanh(x):
    """Hyperbolic tangent."""
    inline_here()
    return em.tanh(x)


@kernel
def tanh_backward(grad, y):
    inline_here()
    # (1 - y)(1 + y) rather than 1 - y*y: no cancellation as |y| -> 1.
    T = type(y)
    return grad * ((T(1) - y) * (T(1) + y))


register(
    Activation(
        name="tanh",
        kind=ELEMENTWISE,
        forward_kernel=tanh,
        backward_kernel=tanh_backward,
        saves="output",
        reference=np.tanh,
        reference_backward=lambda g, y: g * ((1.0 - y) * (1.0 + y)),
        summary="Hyperbolic tangent.",
    )
)


# --------------------------------------------------------------------------- float64 parts
# fdlibm's two-part ln 2 (as elementary's float64 exp): 256 * _LN2_HI is a multiple of 2**-24.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_TAIL = -600.0  # exp(h) below it is returned scaled by 2**256 (normal down to h = -745)


@kernel
def exp_scaled(hi, lo):
    """(e, scale) with e * scale = exp(hi + lo), float64, lo a small correction of hi.

    Below ``_TAIL`` e is exp(hi + lo) * 2**256 and scale is 2**-256, so that a product
    with e stays normal and is rounded once, by the final multiplication by scale, when
    the result is subnormal (multiplying an already subnormal exp by x would cost up to
    |x| / 2 ULP).
    """
    inline_here()
    tail = hi < _TAIL
    # Exact: hi (|hi| > 600, a multiple of 2**-43 at most) and the sum are multiples of
    # hi's ULP, and the sum is no larger than hi.
    h = hi + 256.0 * _LN2_HI if tail else hi
    lo = lo + 256.0 * _LN2_LO if tail else lo
    e = em.exp(h)
    # exp(lo) to second order: 256 ln2's low part is 5e-8, whose square still counts.
    return em.fma(e, lo + 0.5 * lo * lo, e), (2.0**-256 if tail else 1.0)


@kernel
def gated(v, vl):
    """(s, scale): sigmoid(v + vl) = s * scale, float64, from exp(-|v|); vl is a small
    correction of v. For x * sigmoid(v), x in the far negative tail."""
    inline_here()
    neg = v < 0.0
    e, scale = exp_scaled(-abs(v), vl if neg else -vl)
    return (e if neg else 1.0) / (1.0 + e * scale), (scale if neg else 1.0)


@kernel
def gated_derivative(v, vl, u):
    """(d, scale): d * scale = s (1 + x (1 - s) v'(x)), s = sigmoid(v + vl), the derivative
    of x * s, given u = 1 + x v'(x); float64. It is (e or 1) (u + e or 1 + e u) / (1 + e)**2
    with e = exp(-|v|): for v < 0 the sum u + e cancels only where u does not round."""
    inline_here()
    neg = v < 0.0
    e, scale = exp_scaled(-abs(v), vl if neg else -vl)
    e1 = e * scale
    num = u + e1 if neg else em.fma(e1, u, 1.0)
    # (1 + e)**2 rounded once: 1 + e rounded, then squared, would be 1 ULP off.
    return ((e if neg else 1.0) * num) / em.fma(e1, 2.0 + e1, 1.0), (scale if neg else 1.0)


@kernel
def near_root(v, d, root, coeffs, below, above):
    """d, or where root - below < v < root + above, t P(t) with t = v - root: a derivative
    near its root, where its formula cancels (root in two parts, P highest degree first)."""
    inline_here()
    t = (v - root[0]) - root[1]  # v - root[0] is exact near the root
    return t * horner(t, coeffs) if (t > -below and t < above) else d


# --------------------------------------------------------------------------- silu
@kernel
def _silu_exp(x):
    """(e, tail, scaled): e = exp(-|x|), or exp(x + 44.375) in the far negative ``tail``,
    where the function is ``scaled(p)`` = p e 2**-64 / C for the rest p of its product."""
    inline_here()
    T = type(x)
    tail = x < T(for_dtype(x, em.GATE_TAIL[0], em.GATE_TAIL[1]))  # the tail of elementary.gate
    e = em.exp(-abs(x) + (T(44.375) if tail else T(0)))
    return e, tail, T(for_dtype(x, em.GATE_C[0], em.GATE_C[1]))


@kernel
def silu(x):
    """x * sigmoid(x) = x / (1 + exp(-x)): within 3 ULP, subnormal results in the far
    negative tail, where exp(-x) overflows (elementary.gate)."""
    inline_here()
    T = type(x)
    xc = x if not (x < T(-1000)) else T(-1000)  # -inf * 0 would be NaN; NaN passes
    return em.gate(xc, xc)


# silu'(x) = t P(t) for |t| < 1/2, t = x - x0, x0 = -1.2785 its root: 1 + x + exp(x) cancels
# there, by 1/|t| ULP (tools/fit_activations.py; relative error 1.4e-16).
_SILU_ROOT = (-1.2784645427610737, -1.0946994183093437e-16)
_SILU_ROOT_P = (
    -8.629250797407636e-08,
    -4.663498292536898e-08,
    8.566017341183474e-07,
    2.3518576957600006e-06,
    -2.941730278363239e-06,
    -2.9734630159840274e-05,
    -4.0905474014578574e-05,
    0.0001857073528817143,
    0.0007985218921869562,
    0.00012662740444137742,
    -0.006606589138754722,
    -0.01522265522305982,
    0.01887481422378815,
    0.14664879699694605,
    0.21781170571980007,
)


# float32: the same on |t| < 1/2 (relative error 1e-9).
_SILU_ROOT32 = (-1.2784645557403564, 1.2979282537628478e-08)
_SILU_ROOT_P32 = (
    -4.034753510495648e-05,
    0.0001695472892606631,
    0.000797770859207958,
    0.00012961019820068032,
    -0.006606448441743851,
    -0.01522285956889391,
    0.01887480728328228,
    0.14664879441261292,
    0.2178117036819458,
)


@kernel
def gate_derivative(e, u, neg):
    """s (1 + x (1 - s) v'(x)), the derivative of x s, s = sigmoid(v(x)), from e = exp(-|v|),
    ``neg`` (v < 0) and u = 1 + x v'(x), in the working precision: (e u + e**2 or 1 + e u)
    / (1 + e)**2, the numerator and (1 + e)**2 each rounded once."""
    inline_here()
    T = type(e)
    return em.fma(e, u, e * e if neg else T(1)) / em.fma(e, T(2) + e, T(1))


@kernel
def silu_backward(grad, x):
    """s (1 + x (1 - s)), s = sigmoid(x): (e or 1) (1 + x + e or 1 + e (1 + x)) / (1 + e)**2
    with e = exp(-|x|); near its root, where 1 + x + e cancels, t P(t) (_SILU_ROOT)."""
    inline_here()
    T = type(x)
    xc = x if not (x < T(-1000)) else T(-1000)  # NaN passes
    xc = xc if not (xc > T(1000)) else T(1000)
    e, tail, c = _silu_exp(xc)
    neg = xc < T(0)
    u = T(1) + xc
    d = gate_derivative(e, u, neg)
    root = for_dtype(x, _SILU_ROOT32, _SILU_ROOT)
    t = (x - T(root[0])) - T(root[1])  # x - root[0] is exact near the root
    d = t * horner(t, for_dtype(x, _SILU_ROOT_P32, _SILU_ROOT_P)) if abs(t) < T(0.5) else d
    # In the tail d = (1 + x) e 2**-64 / C: grad e first, so that neither overflows. (x =
    # -inf is in it, as -1000: e = exp(-955.6) is 0, and so is the result.)
    return grad * d if not tail else ((grad * e) * (u * c)) * T(2.0**-64)


def _sigmoid_ld(x):
    """(sigmoid(x), 1 - sigmoid(x), x) in x87 long double: 11 more bits than float64, and
    no subnormal results to round twice in silu's tail."""
    x = np.asarray(x, np.float64).astype(np.longdouble)
    e = np.exp(-np.abs(x))
    return np.where(x < 0, e, 1) / (1 + e), np.where(x < 0, 1, e) / (1 + e), x


def mp_near(x, center, f, width=2**-4):
    """``(near, values)``: the mask of the points of ``x`` within ``width`` of ``center``,
    and there ``f`` (an mpmath function) rounded to float64 (NaN elsewhere). For the
    references, where a long double formula cancels too."""
    import mpmath

    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    near = np.abs(x - center) < width
    with mpmath.workdps(40):
        out[near] = [float(f(mpmath.mpf(float(v)))) for v in x[near]]
    return near, out


def _silu_ref(x):
    s, _, xl = _sigmoid_ld(x)
    with np.errstate(invalid="ignore"):
        return np.where(x == -np.inf, -0.0, (xl * s).astype(np.float64))


def _silu_ref_backward(g, x):
    s, c, xl = _sigmoid_ld(x)
    with np.errstate(invalid="ignore"):
        d = np.where(np.isinf(x), x > 0, (s * (1 + xl * c)).astype(np.float64))
    # 1 + x (1 - sigmoid(x)) cancels beyond long double's extra bits near its root.
    near, exact = mp_near(x, _SILU_ROOT[0], _dsilu_mp)
    return g * np.where(near, exact, d)


def _dsilu_mp(x):
    import mpmath

    s = 1 / (1 + mpmath.exp(-x))
    return s * (1 + x * (1 - s))


register(
    Activation(
        name="silu",
        kind=ELEMENTWISE,
        forward_kernel=silu,
        backward_kernel=silu_backward,
        saves="input",
        reference=_silu_ref,
        reference_backward=_silu_ref_backward,
        summary="Sigmoid-weighted linear unit (swish), x * sigmoid(x).",
    )
)


# --------------------------------------------------------------------------- tanhshrink
# (x - tanh x) / x**3 in w = x**2 - 9/8 for |x| < 1.5, minimax, relative error 1.1e-18
# (tools/fit_activations.py).
_TANHSHRINK_G = (
    2.453288288106824e-13,
    -8.805708946901455e-13,
    1.3780204588822453e-12,
    -4.955613515925413e-12,
    2.345149536963017e-11,
    -8.423151359700608e-11,
    2.9240540829590444e-10,
    -1.0504641170996087e-09,
    3.785225348642642e-09,
    -1.3598019646347522e-08,
    4.8841023240088476e-08,
    -1.7545656463916e-07,
    6.303144776920394e-07,
    -2.264342416502314e-06,
    8.134424944759267e-06,
    -2.922211799171631e-05,
    0.00010497758932195827,
    -0.00037712208023731855,
    0.0013547848285537455,
    -0.004867189682961561,
    0.017491030600495876,
    -0.06298396506169865,
    0.23024970214677892,
)


# float32: the same, relative error 3.6e-9.
_TANHSHRINK_G32 = (
    8.348749815922929e-07,
    -2.9966527108626906e-06,
    7.859406650823075e-06,
    -2.8242217013030313e-05,
    0.00010513503366382793,
    -0.00037767874891869724,
    0.001354748266749084,
    -0.00486706243827939,
    0.017491033300757408,
    -0.06298397481441498,
    0.23024970293045044,
)


@kernel
def _tanh_small(x):
    """(tanh(x), x - tanh(x)) for |x| < 1.5, with no cancellation in the second."""
    inline_here()
    T = type(x)
    z = x * x
    g = horner(z - T(1.125), for_dtype(x, _TANHSHRINK_G32, _TANHSHRINK_G))
    w = x * em.fma(z, g, em.fma(x, x, -z) * g)  # x (x**2 g), x**2 exact in two parts
    return x - w, w


@kernel
def tanhshrink(x):
    """x - tanh(x), without its cancellation for |x| < 1.5 (x**3 times a polynomial)."""
    inline_here()
    T = type(x)
    _, small = _tanh_small(x)
    return small if abs(x) < T(1.5) else x - em.tanh(x)


@kernel
def tanhshrink_backward(grad, x):
    inline_here()
    # tanh(x)**2, with tanh(x) from the polynomial where it is x - x**3 g (1 ULP, where the
    # elementary tanh's 2 ULP would double), and as 1 - 4e / (1 + e)**2, e = exp(-2|x|),
    # beyond, where the subtracted term is small.
    T = type(x)
    t, _ = _tanh_small(x)
    e = em.exp(T(-2) * abs(x))
    d = t * t if abs(x) < T(1.5) else T(1) - (T(4) * e) / em.fma(e, T(2) + e, T(1))
    return grad * d


def _tanhshrink_ref(x):
    # In long double; below 2**-4, where x - tanh(x) loses more than 9 of its 11 extra
    # bits, seven terms of the series (the eighth is 2**-56 of the first).
    x = np.asarray(x, np.float64)
    xl = x.astype(np.longdouble)
    with np.errstate(all="ignore"):
        z = xl * xl
        series = 0
        for c in (-929569 / 638512875, 21844 / 6081075, -1382 / 155925, 62 / 2835, -17 / 315):
            series = (series + np.longdouble(c)) * z
        series = xl * z * ((series + np.longdouble(2) / 15) * -z + np.longdouble(1) / 3)
        y = np.where(np.abs(x) < 2**-4, series, xl - np.tanh(xl)).astype(np.float64)
    return np.where(np.isnan(x), x, y)


register(
    Activation(
        name="tanhshrink",
        kind=ELEMENTWISE,
        forward_kernel=tanhshrink,
        backward_kernel=tanhshrink_backward,
        saves="input",
        reference=_tanhshrink_ref,
        reference_backward=lambda g, x: g * (np.tanh(x.astype(np.longdouble)) ** 2).astype(float),
        summary="x - tanh(x).",
    )
)


# --------------------------------------------------------------------------- softsign
@kernel
def softsign(x):
    """x / (1 + |x|); ±1 at ±inf."""
    inline_here()
    T = type(x)
    y = x / (T(1) + abs(x))
    return y if not (abs(x) == T(math.inf)) else math.copysign(T(1), x)


@kernel
def softsign_backward(grad, x):
    inline_here()
    # Two divisions rather than grad / (1 + |x|)**2, which overflows for |x| > 1e154
    # (float64) although the result is representable down to |x| ~ 1e161.
    T = type(x)
    a = T(1) + abs(x)
    return (grad / a) / a


register(
    Activation(
        name="softsign",
        kind=ELEMENTWISE,
        forward_kernel=softsign,
        backward_kernel=softsign_backward,
        saves="input",
        reference=lambda x: np.where(np.isinf(x), np.sign(x), x / (1.0 + np.abs(x))),
        reference_backward=lambda g, x: g / (1.0 + np.abs(x)) / (1.0 + np.abs(x)),
        summary="x / (1 + |x|).",
    )
)
