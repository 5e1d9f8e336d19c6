"""GELU, x * Phi(x) with Phi the standard normal CDF: ``approximate="none"`` (through erfc)
and ``approximate="tanh"`` (PyTorch's tanh approximation).

Both compute in float64 whatever the input precision and round once at the end (float32
results are then correctly rounded but for rare double roundings). In float64 the
negative tails need care that the textbook formulas lack: an argument of exp or erfc
rounded to float64 costs its size in ULP of the result (700 ULP at x = -37), so those
arguments are carried in two parts, and the far tail, whose results are subnormal, is
scaled (``logistic.exp_scaled``).
"""

import numpy as np

from .. import elementary as em
from ..codegen import inline_here, kernel
from ..elementary import _horner as horner
from ..registry import ELEMENTWISE, Activation, Param, register
from .logistic import exp_scaled, gated, gated_derivative, mp_near, near_root

__all__ = ["gelu", "gelu_backward", "gelu_tanh", "gelu_tanh_backward"]

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


@kernel
def gelu(x):
    """x * Phi(x) = x (1 + erf(x / sqrt(2))) / 2, through erfc: accurate in the negative
    tail, subnormal results included."""
    inline_here()
    T = type(x)
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


@kernel
def gelu_backward(grad, x):
    inline_here()
    # Phi(x) + x phi(x); in the far tail -phi(x) (t - m / t), t = -x, scaled.
    T = type(grad)
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


@kernel
def gelu_tanh(x):
    """x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2 = x sigmoid(2 sqrt(2/pi) (...)),
    without the cancellation of 1 + tanh in the negative tail."""
    inline_here()
    T = type(x)
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


@kernel
def gelu_tanh_backward(grad, x):
    inline_here()
    # d/dx x s(r) = s (1 + x (1 - s) r'), r' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x**2).
    T = type(grad)
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
