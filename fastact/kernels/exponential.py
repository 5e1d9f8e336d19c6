"""Exponential family: softplus, logsigmoid, mish, and the exponential linear units elu,
selu, celu.

All are built on ``e = exp(-|x|)`` (or ``expm1``), which never overflows, and each is
written as a sum or quotient of terms of one sign, so that nothing cancels:
``log(1 + exp(x))`` is ``max(x, 0) + log1p(e)``, and ``tanh(softplus(x))`` is a rational
function of ``e``. Derivatives at the kinks are ATen's (``elu'(0) = alpha``, softplus is
``x`` and its derivative 1 where ``beta * x > threshold``).
"""

import math

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..elementary import _horner
from ..elementary import for_dtype as _for_dtype
from ..registry import ELEMENTWISE, Activation, Param, register

__all__ = [
    "softplus",
    "softplus_backward",
    "logsigmoid",
    "logsigmoid_backward",
    "mish",
    "mish_backward",
    "elu",
    "elu_backward",
    "selu",
    "selu_backward",
    "celu",
    "celu_backward",
]


# log1p(e) = e P(e - 1/2) for 0 <= e <= 1, P minimax (tools/fit_exponential.py): 0.1 ULP,
# and no division, where log1p's range reduction takes two (softplus 1.7x faster).
_LOG1P_32 = (
    -0.0032440247014164925,
    0.005253348965197802,
    -0.0067499116994440556,
    0.011576151475310326,
    -0.020570294931530952,
    0.03663547337055206,
    -0.06768769770860672,
    0.13260900974273682,
    -0.28852710127830505,
    0.8109301924705505,
)
_LOG1P_64 = (
    2.5041856736853803e-05,
    -3.839039530201317e-05,
    2.7524418285514928e-05,
    -4.479521597880836e-05,
    8.973271564688905e-05,
    -0.00014211660984729662,
    0.00022107438733272682,
    -0.00035481596059942235,
    0.0005730654140597912,
    -0.0009288581620709772,
    0.0015153828225398008,
    -0.0024918411228687016,
    0.00413617912191143,
    -0.006945394979123712,
    0.011833792109655945,
    -0.020548811918991824,
    0.03661185452315808,
    -0.06768864331096612,
    0.1326097537542029,
    -0.2885270990993239,
    0.8109302162163288,
)


@kernel
def _log1p_unit(e):
    """log(1 + e) for 0 <= e <= 1 (e = exp(-|z|)); NaN passes."""
    inline_here()
    T = type(e)
    return e * _horner(e - T(0.5), _for_dtype(e, _LOG1P_32, _LOG1P_64))


@kernel
def _logistic(e, small):
    """The logistic function at -|z| (``small``) or |z|, from ``e = exp(-|z|)``."""
    inline_here()
    T = type(e)
    return (e if small else T(1)) / (T(1) + e)


def _expit(z):
    e = np.exp(-np.abs(z))
    return np.where(z < 0, e, 1.0) / (1.0 + e)


@kernel
def _quotient(n, n_lo, a):
    """(n + n_lo) / a as ``q + q_lo``: loop-invariant (it depends on constants and a
    parameter), so computed once per loop."""
    inline_here()
    q = n / a
    return q, (em.fma(-a, q, n) + n_lo) / a  # n - a q is exact


@kernel
def _times(x, s, s_lo):
    """x (s + s_lo), rounded once: a division by a parameter as one FMA per element."""
    inline_here()
    xc = _finite_below(x)  # -inf * s_lo would be NaN
    return em.fma(xc, s, xc * s_lo)


_LOWEST32, _LOWEST64 = float(np.finfo(np.float32).min), float(np.finfo(np.float64).min)


@kernel
def _finite_below(x):
    """x, with -inf as the dtype's lowest finite value (NaN passes)."""
    inline_here()
    lowest = type(x)(_for_dtype(x, _LOWEST32, _LOWEST64))
    return x if not (x < lowest) else lowest


@kernel
def _over(x, a):
    """``(z, z_lo)``: x / a rounded once, without a division per element, and its rounding
    error to first order (z + z_lo = x / a within about eps**2 relative): exp(z) is |z|
    eps / 2 off, exp(z) (1 + z_lo) is not (celu's backward: 440 ULP at x / a = -640)."""
    inline_here()
    T = type(x)
    r, r_lo = _quotient(T(1), T(0), a)
    z = _times(x, r, r_lo)
    z = z if x != T(0) else x * r  # fma(-0.0, r, +0.0) would be +0.0: celu(-0.0) is -0.0
    xc = _finite_below(x)  # as _times
    z_lo = em.fma(xc, r, -z) + xc * r_lo
    return z, z_lo if abs(z) < T(math.inf) else T(0)  # inf - inf: NaN


# Far tails: below _TAIL, mish(x) = x exp(x) and softplus(x) = exp(beta x) / beta, but
# exp(x) turns subnormal (x < -87 in float32) while these products are still normal: its lost
# bits would show. There the kernels take exp(x + 64) instead (x + 64 is exact for
# x <= -32), and scale the product back by exp(-64) = _EM64[0] + _EM64[1], rounded once.
_TAIL = -40.0
_SHIFT = 64.0
# hi is a float32, rounded down: lo > 0 keeps the sign of a zero product (mish(-inf) = -0.0)
_EM64 = (1.6038108185805577e-28, 7.196808017268042e-36)
_CLAMP = 1e4  # |x| beyond which mish is x or -0: keeps inf * 0 out of the formulas


@kernel
def _unshift(p):
    """p * exp(-64), rounded once."""
    inline_here()
    T = type(p)
    return em.fma(p, T(_EM64[0]), p * T(_EM64[1]))


# --------------------------------------------------------------------------- softplus
@kernel
def _scaled(x, beta, shift):
    """``(z, r, e)``: ``z = beta * x`` rounded, ``z + r = beta * x`` exactly (an FMA), and
    ``e = exp(shift - |z + r|)`` (shift -0.0, or _SHIFT in the far tail) as
    ``exp(shift - |z|) (1 -+ r)``: one ULP from the truth where ``exp(-|z|)`` alone is
    ``|z| eps / 2`` off (40 ULP at ``z = -80``), which large ``beta`` makes common."""
    inline_here()
    T = type(x)
    z = x * beta
    r = em.fma(x, beta, -z)
    r = r if abs(z) < T(math.inf) else T(0)  # inf - inf: the correction would be NaN
    e = em.exp(shift - abs(z))
    return z, r, em.fma(e, r if z < T(0) else -r, e)


@kernel
def softplus(x, beta, threshold):
    """log(1 + exp(beta * x)) / beta, and x where beta * x > threshold (as PyTorch)."""
    inline_here()
    T = type(x)
    beta, threshold = T(beta), T(threshold)
    tail = x * beta < T(_TAIL)  # log1p(e) = e there (see _TAIL); beta < 1 scales it up
    z, r, e = _scaled(x, beta, T(_SHIFT) if tail else T(-0.0))
    c = _log1p_unit(e)
    s, s_lo = _quotient(T(1), T(0), beta)  # / beta as one FMA (the factors are invariant)
    h, lo = T(_EM64[0]), T(_EM64[1])
    t = s * h  # exp(-64) / beta = t + t_lo, without a division
    t_lo = em.fma(s, h, -t) + (s * lo + s_lo * h)
    v = e if tail else (z + (c + r) if z > T(0) else c)
    y = _times(v, t if tail else s, t_lo if tail else s_lo)
    return x if z > threshold else y


@kernel
def softplus_backward(grad, x, beta, threshold):
    inline_here()
    T = type(x)
    beta, threshold = T(beta), T(threshold)
    z, _, e = _scaled(x, beta, T(-0.0))
    return grad if z > threshold else grad * _logistic(e, z < T(0))


def _softplus_ref(x, beta, threshold):
    z = x * beta
    return np.where(z > threshold, x, np.logaddexp(0.0, z) / beta)


def _finite(name, nonzero=False):
    """A parameter check of the first numeric parameter, ``name``: finite (NaN or inf scales
    every result into NaN); with ``nonzero`` (it divides x) not 0, nor so small that its
    reciprocal overflows in the compute dtype (a subnormal)."""

    def check(value, *others, dtype=np.float64):
        if not math.isfinite(value):
            return f"argument {name!r} must be finite, got {value}"
        if not nonzero:
            return None
        if value == 0:
            return f"argument {name!r} must not be 0"
        if abs(value) < np.finfo(dtype).tiny:
            return f"argument {name!r} must not be subnormal in {np.dtype(dtype).name}, got {value}"
        return None

    return check


register(
    Activation(
        name="softplus",
        kind=ELEMENTWISE,
        forward_kernel=softplus,
        backward_kernel=softplus_backward,
        saves="input",
        params=(Param("beta", 1.0), Param("threshold", 20.0)),
        check=_finite("beta", nonzero=True),
        reference=_softplus_ref,
        reference_backward=lambda g, x, b, t: np.where(x * b > t, g, g * _expit(x * b)),
        summary="log(1 + exp(beta * x)) / beta; x where beta * x > threshold.",
    )
)


# --------------------------------------------------------------------------- logsigmoid
@kernel
def logsigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)); subnormal results kept, and -0.0
    where they underflow (PyTorch: +0.0)."""
    inline_here()
    T = type(x)
    return -(_log1p_unit(em.exp(-abs(x))) - (x if x < T(0) else T(0)))


@kernel
def logsigmoid_backward(grad, x):
    inline_here()
    T = type(x)
    return grad * _logistic(em.exp(-abs(x)), x > T(0))  # sigmoid(-x)


register(
    Activation(
        name="logsigmoid",
        kind=ELEMENTWISE,
        forward_kernel=logsigmoid,
        backward_kernel=logsigmoid_backward,
        saves="input",
        reference=lambda x: -(np.log1p(np.exp(-np.abs(x))) - np.minimum(x, 0.0)),
        reference_backward=lambda g, x: g * _expit(-x),
        summary="log(sigmoid(x)).",
    )
)


# --------------------------------------------------------------------------- mish
@kernel
def _mish_exp(x):
    """``(w, xl, tail)``: w = exp(-|x|), or exp(x + 64) in the far negative ``tail`` (see
    _TAIL); ``xl`` is x clamped below."""
    inline_here()
    T = type(x)
    tail = x < T(_TAIL)
    xl = x if not (x < T(-_CLAMP)) else T(-_CLAMP)
    return em.exp(xl + T(_SHIFT) if tail else -abs(x)), xl, tail


@kernel
def mish(x):
    """x * tanh(softplus(x)), accurate in both tails (subnormal results kept).

    With u = exp(x), tanh(log1p(u)) = n / (n + 2), n = u (u + 2): in w = exp(-|x|),
    n = w (w + 2), d = n + 2 for x <= 0 and n = 1 + 2 w, d = n + 2 w**2 for x > 0. Terms of
    one sign, no overflow."""
    inline_here()
    T = type(x)
    w, xl, tail = _mish_exp(x)
    neg = x <= T(0)
    w2 = w + w
    n = em.fma(w, w, w2) if neg else T(1) + w2
    d = n + (T(2) if neg else w2 * w)
    # n / d = w - w**2 / 2 + w**4 / 4 - ...: in the tail the series is exact to w**3 / 4
    # (< eps / 100) and rounds once where n / d rounds three times.
    t = em.fma(T(-0.5) * w, w, w) if x < T(_for_dtype(x, -6.0, -14.0)) else n / d
    return _unshift(xl * w) if tail else x * t


# mish'(x) = (x - x0) R(x) on [-1.75, -0.625], around its zero x0: see
# tools/fit_exponential.py, which prints these (x0 as hi + lo per precision, R in x - hi).
_X0_32 = (-1.1924312114715576, -3.0439375464652585e-09)
_X0_64 = (-1.1924312145154952, -4.8484829848031044e-17)
_R_32 = (
    -5.295621667755768e-05,
    0.0002104926243191585,
    0.0009918890427798033,
    0.0011044273851439357,
    -0.003360703121870756,
    -0.015822479501366615,
    -0.020271843299269676,
    0.04190787300467491,
    0.2047312706708908,
    0.2669479250907898,
)
_R_64 = (
    -5.084619167069413e-10,
    -5.1625313568946384e-08,
    -1.44392484059155e-07,
    2.0368921410895894e-08,
    1.072830905282346e-06,
    2.9110936079559798e-06,
    9.424906453751034e-07,
    -1.729974142695125e-05,
    -5.5828884334735474e-05,
    -4.196143723362805e-05,
    0.00025412936154391646,
    0.0009898180978172202,
    0.0010924055410348233,
    -0.0033606849268521186,
    -0.015821126561734858,
    -0.020271822716687336,
    0.04190782104360988,
    0.2047312640801059,
    0.2669479140495345,
)
_ROOT_LO, _ROOT_HI = -1.75, -0.625


@kernel
def _near_root(x):
    """mish'(x) near its zero, for x in [_ROOT_LO, _ROOT_HI]."""
    inline_here()
    T = type(x)
    hi, lo = _for_dtype(x, _X0_32, _X0_64)
    t = x - T(hi)  # exact (Sterbenz)
    return (t - T(lo)) * _horner(t, _for_dtype(x, _R_32, _R_64))


@kernel
def mish_backward(grad, x):
    """mish'(x) = u P(u) / D(u)**2 with u = exp(x), D = u**2 + 2 u + 2 and
    P = u**3 + 4 u**2 + (4 x + 6) u + 4 (x + 1); for x > 0 the same in w = 1 / u, with the
    coefficients reversed (and no factor u). Horner with FMAs in w = exp(-|x|) <= 1, D**2
    expanded: 3 ULP at most, where t + x sigmoid(x) (1 - t**2) loses 5. P has terms of both
    signs only near the zero of mish', where _near_root serves."""
    inline_here()
    T = type(x)
    w, xl, tail = _mish_exp(x)
    neg = x <= T(0)
    xc = x if not (x > T(_CLAMP)) else T(_CLAMP)  # 4 x w**3 would be inf * 0 at x = inf
    a = em.fma(T(4), xc, T(4))
    b = em.fma(T(4), xc, T(6))
    p = em.fma(T(1) if neg else a, w, T(4) if neg else b)
    p = em.fma(em.fma(p, w, b if neg else T(4)), w, a if neg else T(1))
    dd = em.fma(T(1) if neg else T(4), w, T(4) if neg else T(8))
    dd = em.fma(em.fma(em.fma(dd, w, T(8)), w, T(8) if neg else T(4)), w, T(4) if neg else T(1))
    dy = (w * p if neg else p) / dd
    dy = _near_root(x) if (x >= T(_ROOT_LO)) & (x <= T(_ROOT_HI)) else dy
    return grad * (_unshift((xl + T(1)) * w) if tail else dy)


# The references compute in long double: its exponent range keeps exp(x) normal where
# float64's turns subnormal, and its 11 extra bits absorb the cancellation near the zero of
# mish' (x = -1.19). Their limits at -inf are -0.0 and 0.0 (the formulas give NaN).
def _mish_ref(x):
    xl = np.asarray(x, np.longdouble)
    with np.errstate(all="ignore"):
        y = xl * np.tanh(np.logaddexp(np.longdouble(0), xl))
    return np.where(np.isneginf(x), -0.0, y.astype(np.float64))


def _mish_ref_backward(g, x):
    x = np.asarray(x)
    xl = x.astype(np.longdouble)
    with np.errstate(all="ignore"):
        t = np.tanh(np.logaddexp(np.longdouble(0), xl))
        s = 1 / (1 + np.exp(-xl))
        dy = t + xl * s * (1 - t * t)
    dy = np.where(np.isinf(x), np.where(x > 0, 1.0, 0.0), dy.astype(np.float64))
    # Within 0.1 of the zero even long double cancels: mpmath (a test dependency) there.
    near = np.abs(x - _X0_64[0]) < 0.1
    if near.any():
        import mpmath

        with mpmath.workdps(40):
            dy[near] = [float(_mp_mish_prime(mpmath.mpf(float(v)))) for v in x[near]]
    return g * dy


def _mp_mish_prime(x):
    import mpmath

    u = mpmath.exp(x)
    t = mpmath.tanh(mpmath.log1p(u))
    return t + x * u / (1 + u) * (1 - t * t)


register(
    Activation(
        name="mish",
        kind=ELEMENTWISE,
        forward_kernel=mish,
        backward_kernel=mish_backward,
        saves="input",
        reference=_mish_ref,
        reference_backward=_mish_ref_backward,
        summary="x * tanh(softplus(x)).",
    )
)


# --------------------------------------------------------------------------- elu, selu, celu
# One formula, ATen's: scale * x for x > 0, else scale * alpha * expm1(x / divisor); elu is
# (1, alpha, 1), selu (scale, alpha, 1) with PyTorch's constants, celu (1, alpha, alpha).
# The kernels take z = x / divisor. Like ATen, x <= 0 takes the exponential branch
# (elu'(0) = alpha) and the backward passes grad * scale through at NaN.
@kernel
def _elu(x, z, scale, neg_scale):
    inline_here()
    T = type(x)
    return neg_scale * em.expm1(z) if x <= T(0) else x * scale


@kernel
def _elu_backward(grad, x, z, scale, neg_slope):
    inline_here()
    T = type(x)
    return grad * (neg_slope * em.exp(z)) if x <= T(0) else grad * scale


def _elu_ref(x, scale, alpha, divisor):
    return np.where(x <= 0, (scale * alpha) * np.expm1(x / divisor), scale * x)


def _elu_ref_backward(g, x, scale, alpha, divisor):
    return np.where(x <= 0, g * (scale * alpha / divisor) * np.exp(x / divisor), g * scale)


@kernel
def elu(x, alpha):
    """x for x > 0, else alpha * (exp(x) - 1)."""
    inline_here()
    T = type(x)
    alpha = T(alpha)
    return _elu(x, x, T(1), alpha)


@kernel
def elu_backward(grad, x, alpha):
    inline_here()
    T = type(x)
    alpha = T(alpha)
    return _elu_backward(grad, x, x, T(1), alpha)


register(
    Activation(
        name="elu",
        kind=ELEMENTWISE,
        forward_kernel=elu,
        backward_kernel=elu_backward,
        saves="input",
        params=(Param("alpha", 1.0),),
        check=_finite("alpha"),
        reference=lambda x, a: _elu_ref(x, 1.0, a, 1.0),
        reference_backward=lambda g, x, a: _elu_ref_backward(g, x, 1.0, a, 1.0),
        summary="Exponential linear unit: x if x > 0 else alpha * (exp(x) - 1).",
    )
)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@kernel
def selu(x):
    """SELU_SCALE * elu(x, SELU_ALPHA), PyTorch's constants."""
    inline_here()
    T = type(x)
    return _elu(x, x, T(SELU_SCALE), T(SELU_SCALE * SELU_ALPHA))


@kernel
def selu_backward(grad, x):
    inline_here()
    T = type(x)
    return _elu_backward(grad, x, x, T(SELU_SCALE), T(SELU_SCALE * SELU_ALPHA))


register(
    Activation(
        name="selu",
        kind=ELEMENTWISE,
        forward_kernel=selu,
        backward_kernel=selu_backward,
        saves="input",
        reference=lambda x: _elu_ref(x, SELU_SCALE, SELU_ALPHA, 1.0),
        reference_backward=lambda g, x: _elu_ref_backward(g, x, SELU_SCALE, SELU_ALPHA, 1.0),
        summary="Scaled ELU with PyTorch's constants (alpha 1.6733, scale 1.0507).",
    )
)


@kernel
def celu(x, alpha):
    """x for x > 0, else alpha * (exp(x / alpha) - 1)."""
    inline_here()
    T = type(x)
    alpha = T(alpha)
    return _elu(x, _over(x, alpha)[0], T(1), alpha)


@kernel
def celu_backward(grad, x, alpha):
    inline_here()
    T = type(x)
    alpha = T(alpha)
    if x <= T(0):  # _elu_backward, with z corrected (the exp only here: see gate's GPU form)
        z, z_lo = _over(x, alpha)
        e = em.exp(z)
        return grad * em.fma(e, z_lo, e)
    return grad


register(
    Activation(
        name="celu",
        kind=ELEMENTWISE,
        forward_kernel=celu,
        backward_kernel=celu_backward,
        saves="input",
        params=(Param("alpha", 1.0),),
        check=_finite("alpha", nonzero=True),
        reference=lambda x, a: _elu_ref(x, 1.0, a, a),
        reference_backward=lambda g, x, a: _elu_ref_backward(g, x, 1.0, a, a),
        summary="Continuously differentiable ELU: x if x > 0 else alpha * (exp(x / alpha) - 1).",
    )
)
