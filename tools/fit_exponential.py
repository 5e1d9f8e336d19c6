"""Fit the polynomials of fastact/kernels/exponential.py.

log1p(e) for e = exp(-|x|) in [0, 1] (softplus, logsigmoid): e P(e - 1/2), P minimax in
relative error. Centred at 1/2, the terms shrink geometrically, so Horner does not cancel;
no division, where log1p's range reduction takes two.

mish'(x) has a zero at x0 = -1.19237..., the minimum of mish. There, mish' is a small
difference of O(1) terms that carry the rounding of exp(x), so no formula built on exp
can meet 4 ULP within ~0.5 of x0. There the kernel uses mish'(x) = (x - x0) R(x), with
x - x0 formed exactly from a two-part x0 and R a minimax polynomial (relative error) in
t = x - x0_hi. Run ``python tools/fit_exponential.py`` and paste the printed tuples.
"""

import mpmath as mp
from fit_elementary import remez

mp.mp.dps = 60

# The window: t = x - x0_hi is exact for x in [x0_hi / 2, 2 x0_hi] (Sterbenz).
LO, HI = mp.mpf(-1.75), mp.mpf(-0.625)


def mish_prime(x):
    u = mp.exp(x)
    t = mp.tanh(mp.log1p(u))
    return t + x * u / (1 + u) * (1 - t * t)


def log1p_over(s):
    e = s + mp.mpf(0.5)
    return mp.mpf(1) if e == 0 else mp.log1p(e) / e


def main():
    import numpy as np

    for deg, dt in ((9, np.float32), (20, np.float64)):
        c, e = remez(log1p_over, -0.5, 0.5, deg)
        vals = [repr(float(dt(float(v)))) for v in c[::-1]]
        name = np.dtype(dt).name
        print(f"# log1p(e) / e in e - 1/2, {name}: degree {deg}, max rel err {mp.nstr(e, 3)}")
        print(f"LOG1P_{name[5:]} = (\n    " + ",\n    ".join(vals) + ",\n)")

    x0 = mp.findroot(mish_prime, -1.19)
    print(f"# x0 = {mp.nstr(x0, 25)}")
    for deg, dt in ((9, np.float32), (18, np.float64)):
        hi = dt(float(x0))
        lo = dt(float(x0 - mp.mpf(float(hi))))
        # R(x0_hi + t) = mish'(x0_hi + t) / (t - x0_lo_exact)
        lo_exact = x0 - mp.mpf(float(hi))

        def r(t, hi=hi, lo_exact=lo_exact):
            return mish_prime(mp.mpf(float(hi)) + t) / (t - lo_exact)

        c, e = remez(r, LO - mp.mpf(float(hi)), HI - mp.mpf(float(hi)), deg)
        vals = [repr(float(dt(float(v)))) for v in c[::-1]]
        name = np.dtype(dt).name
        print(f"# {name}: degree {deg}, max rel err {mp.nstr(e, 3)}")
        print(f"X0_{name[5:]} = ({float(hi)!r}, {float(lo)!r})")
        print(f"MISH_R_{name[5:]} = (\n    " + ",\n    ".join(vals) + ",\n)")


if __name__ == "__main__":
    main()
