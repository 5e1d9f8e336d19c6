"""GELU, x * Phi(x) with Phi the standard normal CDF: ``approximate="none"`` (through erfc)
and ``approximate="tanh"`` (PyTorch's tanh approximation).

float32 is computed in float32 (twice the vector lanes of float64): gelu(-t) as
-exp(-t**2 / 2) H(t), with t**2 exact in two parts and H a fitted polynomial (products only,
nothing cancels), and near 0 through erf's polynomial with the cancelling x / 2 + C x**2
rounded once; the tanh form as x * sigmoid(r) with its argument r carried in two float32
parts. Within 3 ULP, backward passes included (tools/ulp_sweep.py).

float64 gets the care its tails need: an argument of exp or erfc rounded to float64 costs
its size in ULP of the result (700 ULP at x = -37), so those arguments are carried in two
parts, and the far tail, whose results are subnormal, is scaled (``logistic.exp_scaled``).
"""

import math

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..elementary import _horner as horner
from ..registry import ELEMENTWISE, Activation, Param, register
from .logistic import (
    exp_scaled,
    gate_derivative,
    gated,
    gated_derivative,
    mp_near,
    near_root,
)

__all__ = ["gelu", "gelu_backward", "gelu_tanh", "gelu_tanh_backward"]

_TAIL_C = em.GATE_C[0]  # the float32 C of elementary.gate's far tail

_RSQRT2_HI, _RSQRT2_LO = 0.7071067811865476, -4.833646656726457e-17  # 1 / sqrt(2)
_TWO_RSQRTPI = 1.1283791670955126  # 2 / sqrt(pi)
_RSQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_FAR = -37.0  # below it the asymptotic series; exp(-x**2 / 2) is scaled there
_MILLS = (2027025.0, -135135.0, 10395.0, -945.0, 105.0, -15.0, 3.0, -1.0, 1.0)
# gelu'(x) = t P(t) for -1 < t < 1/2, t = x - x0, x0 = -0.7518 its root, where
# Phi(x) + x phi(x) cancels by 1/|t| ULP (tools/fit_activations.py; relative error 3e-19).
_ROOT = (-0.7517915246935645, 1.4956759177009883e-17)
_ROOT_P = (
    2.7554157963459123e-12,
    -7.274473033773409e-12,
    -8.636944446901948e-11,
    1.3882548296567853e-10,
    1.8974404025998114e-09,
    -1.38845631408618e-09,
    -3.5453235720924894e-08,
    -1.6117276797925873e-09,
    5.702715103150017e-07,
    4.3284916412386925e-07,
    -7.748458826020808e-06,
    -1.1214381695990063e-05,
    8.615947780397736e-05,
    0.0001863397465866365,
    -0.0007448268385089306,
    -0.002239538068124011,
    0.004539228379105386,
    0.019421679838193026,
    -0.014771522148243088,
    -0.11400823329722184,
    -0.01819967639867112,
    0.388284982990552,
    0.4314939923140469,
)


# --------------------------------------------------------------------------- erf form
@kernel
def _gelu_parts(v):
    """(e, corr, ex, scale, m) for float64 v: 2 Phi(v) = e - corr for v >= _FAR,
    exp(-v**2 / 2) = ex * scale, and m = -v Phi(v) / phi(v), the far tail's series
    (v < _FAR)."""
    inline_here()
    q = v * v
    # exp(-v**2 / 2) with v**2 exact in two parts: rounded, it would cost v**2 / 2 ULP.
    ex, scale = exp_scaled(-0.5 * q, -0.5 * em.fma(v, v, -q))
    # 2 Phi(v) = erfc(a + da), a + da = -v / sqrt(2) exactly; da enters through
    # erfc'(a) = -2/sqrt(pi) exp(-a**2) (and a**2 = v**2 / 2).
    a = v * -_RSQRT2_HI
    da = em.fma(v, -_RSQRT2_HI, -a) - v * _RSQRT2_LO
    corr = (_TWO_RSQRTPI * (ex * scale)) * da
    # -v Phi(v) / phi(v) = 1 - 1/v**2 + 3/v**4 - ...: 9 terms reach 2**-60 at v = -37.
    return em.erfc(a), corr, ex, scale, horner(1.0 / q, _MILLS)


# float32: H(t) = t Phi(-t) exp(t**2 / 2), so that gelu(-t) = -exp(-t**2 / 2) H(t): products
# only, no erfc, no division by t. Minimax polynomials (tools/fit_activations.py), in the
# exact t - 2 for 1.1932 <= t <= 3 (relative error 2.2e-9), and in v = (7 - t) / (7 + t)
# for 3 <= t <= 15 (2.1e-9), where H is flat enough that v's rounding barely counts.
_H32_NEAR = (
    4.393215931486338e-06,
    -2.1063202439108863e-05,
    7.295593240996823e-05,
    -0.00025740396813489497,
    0.000874581397511065,
    -0.0027525415644049644,
    0.007904281839728355,
    -0.02011279948055744,
    0.042625438421964645,
    0.33620399236679077,
)
_H32_FAR = (
    -0.013240823522210121,
    -0.022179637104272842,
    -0.03210027515888214,
    -0.04637754335999489,
    -0.059379927814006805,
    -0.06673713773488998,
    -0.06498390436172485,
    -0.05211738124489784,
    -0.029094241559505463,
    0.39125436544418335,
)
_NEAR32 = 1.1932  # sqrt(2) * elementary's ERF_SPLIT: erf's polynomial below
_ERF_Y32 = em._F32.ERF_Y  # erf(a) = a (1 + Y(a**2)), float32 coefficients
_C_HI, _C_LO = 0.3535533845424652, 6.050808742941172e-09  # 1 / (2 sqrt(2)) in two float32 parts


@kernel
def _gelu32_tail(ax, q, ql):
    """-gelu(-ax) = exp(-ax**2 / 2) H(ax) for float32 ax >= _NEAR32, ax**2 = q + ql exactly;
    within 15 (beyond, the result is 0 and the formula's inf - inf NaN)."""
    inline_here()
    T = type(ax)
    e = em.exp(q * T(-0.5))
    e = em.fma(e, ql * T(-0.5), e)  # exp(-(q + ql) / 2): ql enters at first order
    near = horner(ax - T(2), _H32_NEAR)
    far = horner((T(7) - ax) / (T(7) + ax), _H32_FAR)
    return e * (near if ax < T(3) else far)


@kernel
def _gelu32_near(x, q, ql):
    """gelu(x) = x / 2 + x**2 (1 + Y(x**2 / 2)) / (2 sqrt(2)) for float32 |x| < _NEAR32, Y
    elementary's erf polynomial; x / 2 + x**2 C is rounded once (it cancels by up to 4x for
    x < 0), the rest enters as a correction."""
    inline_here()
    T = type(x)
    hi = q * T(_C_HI)
    s = T(0.5) * x + hi
    corr = em.fma(q, T(_C_HI), -hi) + em.fma(ql, T(_C_HI), q * T(_C_LO))
    corr = em.fma(hi, horner(q * T(0.5), _ERF_Y32), corr)
    return s + corr


@kernel
def gelu(x):
    """x * Phi(x) = x (1 + erf(x / sqrt(2))) / 2, through erfc: accurate in the negative
    tail, subnormal results included."""
    inline_here()
    T = type(x)
    if T(0.1) != 0.1:  # float32 (folded at compile time): its own math, twice the lanes
        ax = abs(x)
        a = ax if not (ax > T(15)) else T(15)  # NaN passes
        q = a * a
        ql = em.fma(a, a, -q)
        tail = _gelu32_tail(a, q, ql)  # gelu(x) = x + gelu(-x)
        y = x - tail if x > T(0) else -tail
        y = _gelu32_near(x, q, ql) if ax < T(_NEAR32) else y
        return math.copysign(y, x)  # x Phi(x) has x's sign, zeros too: gelu(-0.0) is -0.0
    v = np.float64(x)
    e, corr, ex, scale, m = _gelu_parts(v)
    half = 0.5 * v
    y = em.fma(half, e, -(half * corr))
    y = y if not (y == 0.0) else half * e  # the sign of zero: gelu(-0.0) is -0.0
    # x Phi(x) = -phi(x) m in the far tail; ex * scale is rounded once, at the end.
    far = -((ex * (_RSQRT_2PI * m)) * scale)
    y = far if v < _FAR else y
    y = y if not (v > 40.0) else v  # inf * 0 and inf - inf are NaN in the formulas
    return T(y if not (v < -40.0) else -0.0)


# float32: J(t) in t - 2 on [_NEAR32, 3] (relative error 5.5e-10), and gelu' near its root
# on |t| < 0.46 (1.5e-9); tools/fit_activations.py.
_J32_NEAR = (
    2.0567761112033622e-06,
    -9.93959929473931e-06,
    3.719533924595453e-05,
    -0.00014520516560878605,
    0.0005503030261024833,
    -0.0019762322772294283,
    0.006704301573336124,
    -0.02131270244717598,
    0.4616805613040924,
    0.6297825574874878,
)
_ROOT32 = (-0.7517915368080139, 1.211444988769017e-08)
_ROOT_P32 = (
    -0.0007129684090614319,
    -0.0021526047494262457,
    0.004536362364888191,
    0.01940798945724964,
    -0.014771607704460621,
    -0.11400743573904037,
    -0.01819966360926628,
    0.38828498125076294,
    0.43149399757385254,
)
_RSQRT_2PI32 = (0.3989422917366028, -1.1335170135851058e-08)  # 1 / sqrt(2 pi), float32 parts


@kernel
def gelu_backward(grad, x):
    inline_here()
    # Phi(x) + x phi(x); in the far tail -phi(x) (t - m / t), t = -x, scaled.
    T = type(grad)
    if T(0.1) != 0.1:  # float32: gelu'(-t) = -exp(-t**2 / 2) J(t), gelu'(t) = 1 + exp(..) J(t)
        ax = abs(x)
        a = ax if not (ax > T(15)) else T(15)  # NaN passes
        q = a * a
        # exp(-(q + ql) / 2), scaled by 2**64 C where it is subnormal and J(t) > 1 is not
        tail = (q > T(160)) & (x < T(0))
        e = em.exp(q * T(-0.5) + (T(44.375) if tail else T(0)))
        e = em.fma(e, em.fma(a, a, -q) * T(-0.5), e)
        # J(t) = t / sqrt(2 pi) - H(t) / t beyond 3, where the quotient is under 11% of it
        h = horner((T(7) - a) / (T(7) + a), _H32_FAR)
        jf = em.fma(a, T(_RSQRT_2PI32[0]), a * T(_RSQRT_2PI32[1]) - h / a)
        j = horner(a - T(2), _J32_NEAR) if a < T(3) else jf
        d = em.fma(e, j, T(1)) if x > T(0) else -(e * j)
        # |x| < _NEAR32: 1/2 + x (C (1 + Y(x**2 / 2)) + e / sqrt(2 pi)), C = 1 / (2 sqrt(2))
        inner = em.fma(T(_C_HI), horner(q * T(0.5), _ERF_Y32), T(_C_HI)) + e * T(_RSQRT_2PI32[0])
        d = em.fma(x, inner, T(0.5)) if ax < T(_NEAR32) else d
        t = (x - T(_ROOT32[0])) - T(_ROOT32[1])
        d = t * horner(t, _ROOT_P32) if abs(t) < T(0.46) else d
        return grad * d if not tail else -(((grad * e) * (j * T(_TAIL_C))) * T(2.0**-64))
    v = np.float64(x)
    e, corr, ex, scale, m = _gelu_parts(v)
    far = v < _FAR
    # x phi(x) with x / sqrt(2 pi) exact in two parts: it may be twice the result (and
    # in the binade above), so each of its roundings counts double.
    xc = v * _RSQRT_2PI
    xcl = em.fma(v, _RSQRT_2PI, -xc)
    exs = ex * scale
    d = em.fma(0.5, e, em.fma(exs, xc, exs * xcl - 0.5 * corr))
    d = -((ex * _RSQRT_2PI) * (m / v - v)) if far else d
    d = near_root(v, d, _ROOT, _ROOT_P, 1.0, 0.5)  # up to -0.25: exactly 0.5 at 0
    d = d if not (v > 40.0) else 1.0
    d = d if not (v < -40.0) else -0.0
    return T((np.float64(grad) * d) * (scale if far else 1.0))


# --------------------------------------------------------------------------- tanh form
_K2_HI, _K2_LO = 1.5957691216057308, -9.96930880911092e-17  # 2 sqrt(2 / pi)
_KAPPA_HI, _KAPPA_LO = 0.044715, 2.1960211427085595e-18  # PyTorch's 0.044715, exactly
_C3_HI, _C3_LO = 0.21406444881780073, 1.2025242832367862e-17  # 3 * 0.044715 * _K2


@kernel
def _gelu_tanh_arg(v):
    """(r, rl, q): r + rl = 2 sqrt(2/pi) (v + 0.044715 v**3) to about 2**-100 relative
    (rounded, r would cost |r| ULP in exp(r), 1500 at the float64 tail), q = v * v."""
    inline_here()
    q = v * v
    ql = em.fma(v, v, -q)
    t = _KAPPA_HI * q
    tl = em.fma(_KAPPA_HI, q, -t) + (_KAPPA_HI * ql + _KAPPA_LO * q)
    s = 1.0 + t  # two-sum: t may exceed 1
    b = s - 1.0
    sl = ((1.0 - (s - b)) + (t - b)) + tl
    w = v * s
    wl = em.fma(v, s, -w) + v * sl
    r = _K2_HI * w
    rl = em.fma(_K2_HI, w, -r) + (_K2_HI * wl + _K2_LO * w)
    return r, rl, q


_K2_32 = (1.5957691669464111, -4.534068054340423e-08)  # 2 sqrt(2 / pi), float32 parts
_KAPPA_32 = (0.044714998453855515, 1.5461444347053543e-09)  # 0.044715, float32 parts
_KAPPA3_32 = (0.13414500653743744, -6.537437258202772e-09)  # 3 * 0.044715


@kernel
def _gelu_tanh_arg32(x, kappa):
    """(r, rl): r + rl = 2 sqrt(2/pi) (x + kappa x**3) to about 2**-40 relative, for float32
    |x| <= 11 (exp(r) is |r| eps / 2 off if r is rounded: 50 ULP at the float32 tail);
    kappa = _KAPPA_32 gives the argument of the sigmoid, _KAPPA3_32 x times its derivative."""
    inline_here()
    T = type(x)
    q = x * x
    ql = em.fma(x, x, -q)
    t = q * T(kappa[0])
    tl = em.fma(q, T(kappa[0]), -t) + em.fma(ql, T(kappa[0]), q * T(kappa[1]))
    s = T(1) + t  # t <= 5.5: a two-sum
    b = s - T(1)
    sl = ((T(1) - (s - b)) + (t - b)) + tl
    w = x * s
    wl = em.fma(x, s, -w) + x * sl
    r = w * T(_K2_32[0])
    rl = em.fma(w, T(_K2_32[0]), -r) + em.fma(wl, T(_K2_32[0]), w * T(_K2_32[1]))
    return r, rl


@kernel
def gelu_tanh(x):
    """x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2 = x sigmoid(2 sqrt(2/pi) (...)),
    without the cancellation of 1 + tanh in the negative tail."""
    inline_here()
    T = type(x)
    if T(0.1) != 0.1:  # float32: x / (1 + exp(-r)), as silu
        xc = x if not (x < T(-11)) else T(-11)  # below, the result rounds to -0.0
        xc = xc if not (xc > T(11)) else T(11)  # above, to x
        r, rl = _gelu_tanh_arg32(xc, _KAPPA_32)
        # Where exp(-r) would overflow, exp(r + 44.375) 2**-64 / C (r + 44.375 is exact) and
        # the product is rounded once into the subnormals.
        tail = r < T(-80)
        e = em.exp(r + T(44.375) if tail else -r)
        e = em.fma(e, rl if tail else -rl, e)  # rl at first order
        y = xc / (T(1) + e)
        y = y if not tail else ((xc * T(_TAIL_C)) * e) * T(2.0**-64)
        return y if not (x > T(11)) else x
    v = np.float64(x)
    r, rl, _ = _gelu_tanh_arg(v)
    s, scale = gated(r, rl)
    y = (v * s) * scale
    y = y if not (v > 30.0) else v  # the two-part products are NaN at inf
    return T(y if not (v < -30.0) else -0.0)


# As _ROOT_P for the tanh form's derivative (relative error 1.4e-18).
_TANH_ROOT = (-0.7524614220710163, 3.635560509207687e-17)
_TANH_ROOT_P = (
    -1.0455446980416115e-10,
    -9.515762774550064e-11,
    1.4128208361035834e-09,
    1.579785641014947e-09,
    -1.1458798311870166e-08,
    -1.6703417446819384e-08,
    7.46993076149077e-08,
    1.4130626481206477e-07,
    -4.3067296434945343e-07,
    -9.896861831570911e-07,
    2.4333831466659012e-06,
    5.918530906575552e-06,
    -1.5950841502317587e-05,
    -3.4956147006531834e-05,
    0.00012425226583677175,
    0.00026392763558339295,
    -0.0009274420213025283,
    -0.0024227318452617495,
    0.0052610592547785275,
    0.019682309459790423,
    -0.016619328343046393,
    -0.1139444830809576,
    -0.01578285352184813,
    0.3875184461357889,
    0.4304000910248585,
)


# float32: the same on |t| < 0.4 (relative error 6e-10).
_TANH_ROOT32 = (-0.7524614334106445, 1.1339627903339533e-08)
_TANH_ROOT_P32 = (
    -0.0008922043489292264,
    -0.0023307751398533583,
    0.005258518271148205,
    0.019671404734253883,
    -0.01661936193704605,
    -0.11394400149583817,
    -0.015782848000526428,
    0.38751843571662903,
    0.4304001033306122,
)


@kernel
def gelu_tanh_backward(grad, x):
    inline_here()
    # d/dx x s(r) = s (1 + x (1 - s) r'), r' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x**2).
    T = type(grad)
    if T(0.1) != 0.1:  # float32: as float32 silu_backward, with u = 1 + x r'
        xc = x if not (x < T(-11)) else T(-11)  # the result rounds to 0 below, to grad above
        xc = xc if not (xc > T(11)) else T(11)
        r, rl = _gelu_tanh_arg32(xc, _KAPPA_32)
        neg = r < T(0)
        tail = r < T(-80)
        e = em.exp(-abs(r) + (T(44.375) if tail else T(0)))
        e = em.fma(e, rl if neg else -rl, e)
        p, pl = _gelu_tanh_arg32(xc, _KAPPA3_32)  # x r', in two parts: 1 + x r' cancels
        u = (T(1) + p) + pl
        d = gate_derivative(e, u, neg)
        t = (x - T(_TANH_ROOT32[0])) - T(_TANH_ROOT32[1])
        d = t * horner(t, _TANH_ROOT_P32) if abs(t) < T(0.4) else d
        d = d if not (x > T(11)) else T(1)
        d = d if not (x < T(-11)) else T(-0.0)
        return grad * d if not tail else ((grad * e) * (u * T(_TAIL_C))) * T(2.0**-64)
    v = np.float64(x)
    r, rl, q = _gelu_tanh_arg(v)
    # r' = _K2 + _C3 x**2 (x**2 = q + ql) to about one rounding: it is mostly the second term.
    ql = em.fma(v, v, -q)
    rp = em.fma(_C3_HI, q, em.fma(_C3_HI, ql, _C3_LO * q) + _K2_HI)
    d, scale = gated_derivative(r, rl, em.fma(v, rp, 1.0))
    d = near_root(v, d, _TANH_ROOT, _TANH_ROOT_P, 1.0, 0.5)
    d = d if not (v > 30.0) else 1.0
    d = d if not (v < -30.0) else -0.0
    return T((np.float64(grad) * d) * scale)


# --------------------------------------------------------------------------- references
# In x87 long double (11 more bits than float64), by series that do not cancel: float64's
# own ndtr rounds -x / sqrt(2) and is x**2 / 2 ULP off in the tail.
_LD = np.longdouble
_LD_RSQRT_2PI = _LD("0.398942280401432677939946059934")
_LD_K2 = _LD("1.59576912160573071175978423974")
_LD_KAPPA = _LD("0.044715")


def _ld(x):
    return np.asarray(x, np.float64).astype(_LD)


def _ld_phi(x):
    """(Phi(x), phi(x)) in long double."""
    x = np.asarray(x, np.float64)
    xl = x.astype(_LD)
    with np.errstate(all="ignore"):
        # x**2 = q + ql exactly (Dekker), so that exp's argument is not rounded.
        q = x * x
        h = x * 134217729.0
        xh = h - (h - x)
        xt = x - xh
        ql = ((xh * xh - q) + 2 * xh * xt) + xt * xt
        pdf = np.exp(-(q.astype(_LD) / 2)) * (1 - ql.astype(_LD) / 2)
        pdf = np.where(np.abs(x) < 50, pdf * _LD_RSQRT_2PI, 0)  # q overflows, ql is NaN
        # |x| <= 1: Phi = 1/2 + phi (x + x**3/3 + x**5/15 + ...), 2.6 bits lost at most.
        xs = np.where(np.abs(xl) <= 1, xl, 0)
        term, acc = xs, xs.copy()
        for k in range(3, 60, 2):
            term = term * xs * xs / k
            acc += term
        near = 0.5 + pdf * acc
        # |x| > 1: Laplace's continued fraction for the Mills ratio, t = |x|.
        t = np.where(np.abs(xl) > 1, np.abs(xl), 3)
        cf = t
        for k in range(400, 0, -1):
            cf = t + k / cf
        tail = pdf / cf  # Phi(-|x|)
        far = np.where(xl < 0, tail, 1 - tail)
    return np.where(np.abs(xl) <= 1, near, far), pdf


def _gelu_ref(x):
    cdf, _ = _ld_phi(x)
    with np.errstate(all="ignore"):
        y = (_ld(x) * cdf).astype(np.float64)
    return np.where(np.isnan(x), x, np.where(x == -np.inf, -0.0, np.where(x == np.inf, x, y)))


def _gelu_ref_backward(g, x):
    import mpmath

    cdf, pdf = _ld_phi(x)
    with np.errstate(all="ignore"):
        d = (cdf + _ld(x) * pdf).astype(np.float64)
    d = np.where(np.isnan(x), x, np.where(x == np.inf, 1.0, np.where(x == -np.inf, 0.0, d)))
    # Phi(x) + x phi(x) cancels beyond long double's extra bits near its root.
    near, exact = mp_near(x, _ROOT[0], lambda v: mpmath.ncdf(v) + v * mpmath.npdf(v), 2**-3)
    return g * np.where(near, exact, d)


def _gelu_tanh_ref(x):
    v = _ld(x)
    with np.errstate(all="ignore"):
        r = _LD_K2 * (v + _LD_KAPPA * v**3)
        e = np.exp(-np.abs(r))
        y = (v * np.where(r < 0, e, 1) / (1 + e)).astype(np.float64)
    return np.where(np.isnan(x), x, np.where(x == -np.inf, -0.0, np.where(x == np.inf, x, y)))


def _gelu_tanh_ref_backward(g, x):
    v = _ld(x)
    with np.errstate(all="ignore"):
        k = _LD_K2
        r = k * (v + _LD_KAPPA * v**3)
        e = np.exp(-np.abs(r))
        s = np.where(r < 0, e, 1) / (1 + e)
        c = np.where(r < 0, 1, e) / (1 + e)
        d = (s * (1 + v * c * k * (1 + 3 * _LD_KAPPA * v * v))).astype(np.float64)
    d = np.where(np.isnan(x), x, np.where(x == np.inf, 1.0, np.where(x == -np.inf, 0.0, d)))
    near, exact = mp_near(x, _TANH_ROOT[0], _dgelu_tanh_mp)
    return g * np.where(near, exact, d)


def _dgelu_tanh_mp(x):
    import mpmath

    k = 2 * mpmath.sqrt(2 / mpmath.pi)
    s = 1 / (1 + mpmath.exp(-k * (x + mpmath.mpf("0.044715") * x**3)))
    return s * (1 + x * (1 - s) * k * (1 + 3 * mpmath.mpf("0.044715") * x**2))


def _by_choice(fns):
    def ref(*args):
        *arrays, approximate = args
        return fns[approximate](*arrays)

    return ref


register(
    Activation(
        name="gelu",
        kind=ELEMENTWISE,
        forward_kernel={"none": gelu, "tanh": gelu_tanh},
        backward_kernel={"none": gelu_backward, "tanh": gelu_tanh_backward},
        saves="input",
        params=(Param("approximate", "none", choices=("none", "tanh")),),
        reference=_by_choice({"none": _gelu_ref, "tanh": _gelu_tanh_ref}),
        reference_backward=_by_choice(
            {"none": _gelu_ref_backward, "tanh": _gelu_tanh_ref_backward}
        ),
        summary="Gaussian error linear unit, x * Phi(x); approximate='tanh': PyTorch's "
        "tanh approximation.",
    )
)
