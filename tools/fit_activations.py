"""Fit the polynomial coefficients of fastact/kernels' own approximations.

Run ``python tools/fit_activations.py`` and paste the printed tuples (highest degree
first) into the kernels' modules. Uses the Remez exchange of ``fit_elementary.py``
(minimax in relative error, mpmath at 60 digits).

- ``TANHSHRINK_G``, ``TANHSHRINK_G32``: (x - tanh x) / x**3 as a polynomial in
  w = x**2 - 9/8 for |x| < 1.5, where x - tanh(x) cancels (by 2**-k near 0 and still 14x at
  x = 0.5).
- ``*_ROOT_P``: the backward passes of gelu (both forms) and silu near their negative roots.
- ``H32_NEAR``, ``H32_FAR``: float32 gelu's H(t) = t Phi(-t) exp(t**2 / 2) (gelu(-t) =
  -exp(-t**2 / 2) H(t)), in t - 2 on [1.1932, 3] and in (7 - t) / (7 + t) on [3, 15].
- ``J32_NEAR``: float32 gelu backward's J(t) = t / sqrt(2 pi) - Phi(-t) exp(t**2 / 2)
  (gelu'(-t) = -exp(-t**2 / 2) J(t)) in t - 2 on [1.1932, 3].

``python tools/fit_activations.py [name ...]`` fits the named groups (default: all).
"""

import mpmath as mp
import numpy as np
from fit_elementary import remez, show

mp.mp.dps = 60


def _g_tanhshrink(z):
    if z == 0:
        return mp.mpf(1) / 3
    x = mp.sqrt(z)
    return (x - mp.tanh(x)) / x**3


def _dgelu(x):
    return mp.ncdf(x) + x * mp.npdf(x)


def _dsilu(x):
    s = 1 / (1 + mp.exp(-x))
    return s * (1 + x * (1 - s))


def root_fit(name, df, guess, radius, degrees, dtype="float64"):
    """df = f' near its root x0 as (x - x0) P(x - x0) on |x - x0| <= radius, where the
    plain formula's terms cancel: prints x0 in two parts (of ``dtype``) and P."""
    x0 = mp.findroot(df, guess)
    to = getattr(np, dtype)
    hi = float(to(float(x0)))
    print(f"{name}_ROOT = ({hi!r}, {float(to(float(x0 - hi)))!r})  # {dtype}")
    d2 = mp.diff(df, x0)
    for deg in degrees:
        c, e = remez(lambda t: d2 if t == 0 else df(x0 + t) / t, -radius, radius, deg, grid=1500)
        show(f"{name}_ROOT_P{deg}", c, e, (dtype,))


def _dgelu_tanh(x):
    k = 2 * mp.sqrt(2 / mp.pi)
    r = k * (x + mp.mpf("0.044715") * x**3)
    s = 1 / (1 + mp.exp(-r))
    return s * (1 + x * (1 - s) * k * (1 + 3 * mp.mpf("0.044715") * x**2))


def _h_gelu(t):
    return t * mp.ncdf(-t) * mp.exp(t * t / 2)


def _j_gelu(t):
    return t / mp.sqrt(2 * mp.pi) - mp.ncdf(-t) * mp.exp(t * t / 2)


_NEAR32 = mp.mpf("1.1932")


def _far(f, c=7, lo=3, hi=15):
    """f(t) on [lo, hi] as a function of v = (c - t) / (c + t): (function, v range)."""
    return (
        (lambda v: f(c * (1 - v) / (1 + v))),
        mp.mpf(c - hi) / (c + hi),
        mp.mpf(c - lo) / (c + lo),
    )


def main(names=()):
    fits = {
        "tanhshrink": lambda: [
            show(
                f"TANHSHRINK_G{d}",
                *remez(
                    lambda w: _g_tanhshrink(w + mp.mpf(9) / 8), -mp.mpf(9) / 8, mp.mpf(9) / 8, d
                ),
                (dtype,),
            )
            for d, dtype in ((22, "float64"), (10, "float32"))
        ],
        "roots": lambda: [
            root_fit("SILU", _dsilu, -1.28, mp.mpf(0.5), (14,)),
            root_fit("SILU32", _dsilu, -1.28, mp.mpf(0.5), (8,), "float32"),
            root_fit("GELU32", _dgelu, -0.75, mp.mpf(0.46), (8,), "float32"),
            root_fit("TANH32", _dgelu_tanh, -0.75, mp.mpf(0.4), (8,), "float32"),
        ],
        "gelu32": lambda: [
            show(
                "H32_NEAR",
                *remez(lambda s: _h_gelu(s + 2), _NEAR32 - 2, 1, 9, grid=1500),
                ("float32",),
            ),
            show("H32_FAR", *remez(*_far(_h_gelu), 9, grid=1500), ("float32",)),
            show(
                "J32_NEAR",
                *remez(lambda s: _j_gelu(s + 2), _NEAR32 - 2, 1, 9, grid=1500),
                ("float32",),
            ),
        ],
    }
    for name in names or fits:
        fits[name]()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
