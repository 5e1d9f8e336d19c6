"""Fit the polynomial coefficients of fastact/kernels' own approximations.

Run ``python tools/fit_activations.py`` and paste the printed tuples (highest degree
first) into the kernels' modules. Uses the Remez exchange of ``fit_elementary.py``
(minimax in relative error, mpmath at 60 digits).

- ``TANHSHRINK_G``: (x - tanh x) / x**3 as a polynomial in w = x**2 - 9/8 for |x| < 1.5,
  where x - tanh(x) cancels (by 2**-k near 0 and still 14x at x = 0.5).
"""

import mpmath as mp
from fit_elementary import remez, show

mp.mp.dps = 60


def _g_tanhshrink(z):
    if z == 0:
        return mp.mpf(1) / 3
    x = mp.sqrt(z)
    return (x - mp.tanh(x)) / x**3


def main():
    for deg in (20, 22, 24):
        c, e = remez(lambda w: _g_tanhshrink(w + mp.mpf(9) / 8), -mp.mpf(9) / 8, mp.mpf(9) / 8, deg)
        show(f"TANHSHRINK_G{deg}", c, e, ("float64",))


if __name__ == "__main__":
    main()


def _dgelu(x):
    return mp.ncdf(x) + x * mp.npdf(x)


def _dsilu(x):
    s = 1 / (1 + mp.exp(-x))
    return s * (1 + x * (1 - s))


def root_fit(name, df, guess, radius, degrees):
    """df = f' near its root x0 as (x - x0) P(x - x0) on |x - x0| <= radius, where the
    plain formula's terms cancel: prints x0 in two parts and P."""
    x0 = mp.findroot(df, guess)
    hi = float(x0)
    print(f"{name}_ROOT = ({hi!r}, {float(x0 - hi)!r})")
    d2 = mp.diff(df, x0)
    for deg in degrees:
        c, e = remez(lambda t: d2 if t == 0 else df(x0 + t) / t, -radius, radius, deg)
        show(f"{name}_ROOT_P{deg}", c, e, ("float64",))


def _dgelu_tanh(x):
    k = 2 * mp.sqrt(2 / mp.pi)
    r = k * (x + mp.mpf("0.044715") * x**3)
    s = 1 / (1 + mp.exp(-r))
    return s * (1 + x * (1 - s) * k * (1 + 3 * mp.mpf("0.044715") * x**2))
