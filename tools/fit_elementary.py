"""Fit the polynomial coefficients used by fastact/elementary.py.

Each kernel approximates a smooth "core" function on a small reduced interval; the
coefficients below come from a Remez exchange (minimax in relative error) run in
mpmath at 60 digits, then rounded to the target precision. Run:

    python tools/fit_elementary.py

and paste the printed tuples into elementary.py (highest degree first, for Horner).
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 60

LN2 = mp.log(2)


def remez(f, a, b, degree, iters=12, grid=4000):
    """Minimax polynomial (relative error) of ``degree`` for ``f`` on [a, b].

    Returns (coefficients lowest degree first, max relative error on the grid).
    """
    a, b = mp.mpf(a), mp.mpf(b)
    n = degree + 2
    nodes = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / (n - 1)) for i in range(n)]
    xs = [a + (b - a) * i / (grid - 1) for i in range(grid)]
    fs = [f(x) for x in xs]
    for _ in range(iters):
        rows = [
            [x**j for j in range(degree + 1)] + [(-1) ** i * abs(f(x))] for i, x in enumerate(nodes)
        ]
        sol = mp.lu_solve(mp.matrix(rows), mp.matrix([f(x) for x in nodes]))
        c = [sol[j] for j in range(degree + 1)]
        err = [(mp.polyval(c[::-1], x) - fx) / fx for x, fx in zip(xs, fs, strict=True)]
        # New reference set: the extremum of each run of equal-sign error.
        ext, i = [], 0
        while i < grid:
            j = i
            while j + 1 < grid and mp.sign(err[j + 1]) == mp.sign(err[i]):
                j += 1
            k = max(range(i, j + 1), key=lambda t: abs(err[t]))
            ext.append(k)
            i = j + 1
        while len(ext) > n:  # drop the smallest end extremum until n remain
            ext.pop(0 if abs(err[ext[0]]) < abs(err[ext[-1]]) else -1)
        if len(ext) == n:
            nodes = [xs[k] for k in ext]
    return c, max(abs(e) for e in err)


def show(name, c, err, dtypes=("float32", "float64")):
    print(f"# {name}: max rel err {mp.nstr(err, 3)}")
    for dt in dtypes:
        vals = [repr(float(getattr(np, dt)(float(v)))) for v in c[::-1]]
        print(f"{name}_{dt[5:]} = ({', '.join(vals)})")


def _q_exp(r):
    """(e^r - 1 - r) / r^2: exp(r) = 1 + r + r^2 q(r)."""
    return mp.mpf(0.5) if r == 0 else (mp.exp(r) - 1 - r) / r**2


def _r_log(z):
    """R(z)/z with log1p(f) = 2 atanh(s) = 2 s + s R(s^2), s = f / (2 + f)."""
    if z == 0:
        return mp.mpf(2) / 3
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) / s - 2) / z


def _y_erf(z):
    """erf(x) / x - 1 as a function of z = x^2: erf(x) = x + x y(z)."""
    if z == 0:
        return 2 / mp.sqrt(mp.pi) - 1
    x = mp.sqrt(z)
    return mp.erf(x) / x - 1


def _k_erfc(x):
    """x erfc(x) exp(x^2): entire, nearly flat (0.43 .. 1/sqrt(pi) for x >= 0.84)."""
    return x * mp.erfc(x) * mp.exp(x * x)


ERF_SPLIT = mp.mpf(0.84375)  # erf polynomial below, erfc formula above
ERFC_MAX = {"float32": mp.mpf(10.1), "float64": mp.mpf(27.3)}  # erfc underflows to 0
ERFC_TC = {"float32": 0.3125, "float64": 0.28125}  # about the centre of the t interval


def main():
    h = LN2 / 2
    for deg, dt in ((4, "float32"), (10, "float64")):
        c, e = remez(_q_exp, -h, h, deg)
        show(f"EXP_Q{deg}", c, e, (dt,))
    zmax = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)) ** 2
    for deg, dt in ((3, "float32"), (6, "float64")):
        c, e = remez(_r_log, 0, zmax, deg)
        show(f"LOG_R{deg}", c, e, (dt,))
    for deg, dt in ((6, "float32"), (11, "float64")):
        c, e = remez(_y_erf, 0, ERF_SPLIT**2, deg)
        show(f"ERF_Y{deg}", c, e, (dt,))
    for deg, dt in ((9, "float32"), (17, "float64")):
        # x in [ERF_SPLIT, 2] as s = x - 3/2 (exact): no rounded variable near 1,
        # where K is steepest.
        c, e = remez(lambda s: _k_erfc(s + 1.5), ERF_SPLIT - 1.5, 0.5, deg)
        show(f"ERFC_KA{deg}", c, e, (dt,))
    for deg, dt in ((7, "float32"), (17, "float64")):
        # x >= 2 as u = t - tc, t = 2 / (2 + x) in [2 / (2 + ERFC_MAX), 1/2]: small
        # coefficients, so Horner does not cancel.
        tc = ERFC_TC[dt]
        c, e = remez(
            lambda u, tc=tc: _k_erfc(2 / (u + tc) - 2),
            2 / (2 + ERFC_MAX[dt]) - tc,
            mp.mpf(0.5) - tc,
            deg,
        )
        show(f"ERFC_KT{deg}", c, e, (dt,))


if __name__ == "__main__":
    main()
