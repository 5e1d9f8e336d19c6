"""Measure, per function, the size from which all threads beat one thread.

Prints a ``PARALLEL_THRESHOLD`` table for ``fastact/tuning.py``. For every registered
function it times forward and backward, float32, one thread vs all threads, interleaved,
at sizes from 2**10 to 2**22, and takes the smallest size from which the parallel run
is faster by at least 10% at that size and every larger one (the cost of a parallel region
is paid on every call; below the crossover it is pure loss). Run it on a quiet machine.
"""

import argparse
import statistics
import time

import numba
import numpy as np

import fastact
from fastact import bench_baselines as bb


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _parallel_over_serial(act, n, repeats):
    """Time ratio all-threads / one-thread at n elements (worst of forward and backward)."""
    rng = np.random.default_rng(0)
    shape = (n // 64, 64) if act.kind == "rowwise" else (n,)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(bb.result_shape(act, "forward", shape)).astype(np.float32)
    directions = ("forward", "backward")
    outs = {d: np.empty(bb.result_shape(act, d, shape), np.float32) for d in directions}
    p = bb.params(act)  # benchmark values, axis last for the softmax family
    saved = act.forward(x, *p) if act.saves == "output" else x
    inner = max(1, 2**20 // n)  # enough calls per sample to rise above timer noise
    ratios = []
    for direction in directions:

        def run(target, direction=direction):
            for _ in range(inner):
                out = outs[direction]  # glu: the forward's result is half as long
                if direction == "forward":
                    act.forward(x, *p, out=out, target=target)
                else:
                    act.backward(g, saved, *p, out=out, target=target)

        run("cpu")  # compile and warm
        run("parallel")
        ser = _median_time(lambda run=run: run("cpu"), repeats)
        par = _median_time(lambda run=run: run("parallel"), repeats)
        ratios.append(par / ser)
    return max(ratios)


def crossover(act, sizes, repeats, margin=0.9):
    """Smallest size from which parallel wins at it and every larger size, and the wins."""
    wins = [_parallel_over_serial(act, n, repeats) < margin for n in sizes]
    for i, n in enumerate(sizes):
        if all(wins[i:]):
            return n, wins
    return None, wins


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", help="comma-separated function names (default: all)")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(fastact.REGISTRY)
    sizes = [2**k for k in range(10, 23)]
    print(f"# numba threads: {numba.get_num_threads()}, layer: ", end="")
    fastact.relu(np.ones(4), target="parallel")
    print(numba.threading_layer())
    print("PARALLEL_THRESHOLD: dict[str, int] = {")
    for act in (fastact.REGISTRY[name] for name in names):
        n, wins = crossover(act, sizes, args.repeats)
        pattern = "".join("P" if w else "s" for w in wins)
        value = n if n is not None else sizes[-1] * 4
        print(f'    "{act.name}": {value:_},  # 2**10..2**22: {pattern}')
    print("}")


if __name__ == "__main__":
    main()
