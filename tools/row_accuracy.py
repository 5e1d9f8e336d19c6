"""Maximum ULP error of the softmax family's rows against mpmath, beside PyTorch's.

Rows of 10, 90 and 1000 elements, normal with spread 20 (gaps up to ~80 from the max:
the rounding of ``x - max`` alone would cost ~40 ULP in exp), and, for log_softmax,
rows with one dominant element (its result is -log(1 + tiny), near 0, where
``x - max - log(sum)`` cancels). The reference is correctly rounded: mpmath at 60 digits,
log-sum-exp through log1p of the sum beyond the max's 1.

Command line: ``python tools/row_accuracy.py [--rows N]``.
"""

import argparse

import mpmath
import numpy as np

import fastact


def _ulp(got, want):
    """ULPs between got and want (of got's dtype); equal infinities and NaNs count 0."""
    got = np.asarray(got)
    want = np.asarray(want, got.dtype)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    spacing = np.spacing(np.abs(want).astype(got.dtype))
    with np.errstate(invalid="ignore"):
        d = np.abs(got.astype(np.float64) - want.astype(np.float64)) / spacing.astype(np.float64)
    return np.where(same, 0.0, d)


def mp_rows(x, sign=1, log=False):
    """The family member (sign, log) of each row of x, correctly rounded to float64."""
    out = np.empty(x.shape)
    with mpmath.workdps(60):
        for r, row in enumerate(x):
            vals = [sign * mpmath.mpf(float(v)) for v in row]
            m = max(vals)
            e = [mpmath.exp(v - m) for v in vals]
            i = vals.index(m)
            rest = mpmath.fsum(e[:i] + e[i + 1 :])
            lse = m + mpmath.log1p(rest)
            out[r] = [
                float(v - lse) if log else float(ev / (1 + rest))
                for v, ev in zip(vals, e, strict=True)
            ]
    return out


def _torch(name, x):
    try:
        import torch
    except ImportError:
        return None
    t = torch.from_numpy(x)
    return {
        "softmax": torch.softmax,
        "log_softmax": torch.log_softmax,
        "softmin": torch.nn.functional.softmin,
    }[name](t, -1).numpy()


def cases(rows, rng):
    for n in (10, 90, 1000):
        yield (
            f"normal ±60, rows of {n}",
            None,
            lambda dt, n=n: (rng.standard_normal((rows, n)) * 20).astype(dt),
        )
    for gap in (5, 20, 80):

        def dominant(dt, gap=gap):
            x = rng.uniform(-gap - 3, -gap, (rows, 90))
            x[:, 0] = 0
            return x.astype(dt)

        yield f"one dominant element, gap {gap}", "log_softmax", dominant


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100, help="rows per case")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    print("| function | rows | float32 | PyTorch float32 | float64 | PyTorch float64 |")
    print("|---|---|--:|--:|--:|--:|")
    for what, only, make in cases(args.rows, rng):
        for act in fastact.REGISTRY.values():
            if act.row_family is None or (only and act.name != only):
                continue
            cells = []
            for dt in (np.float32, np.float64):
                x = make(dt)
                want = mp_rows(x, *act.row_family)
                cells.append(f"{_ulp(act.forward(x), want).max():.2f}")
                t = _torch(act.name, x)
                cells.append("–" if t is None else f"{_ulp(t, want).max():.2f}")
            print(f"| {act.name} | {what} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
