"""fastact on dask arrays across a two-process dask.distributed cluster.

1e8 float32 elements in chunks of 1e7, made and kept on the workers (``persist``), then
one function over every block: fastact's public form against the NumPy expression a user
would map over the same blocks (``map_blocks``). Every worker compiles or loads its own
kernels (warmed in ``setup``). Also a script: ``python benchmarks/bench_dask.py`` prints
the medians and the speed-up (the README's figures).
"""

import statistics
import time

import numpy as np

import fastact
from fastact import bench_baselines as bb

N, CHUNK = 100_000_000, 10_000_000
FUNCTIONS = ("sigmoid", "relu", "softmax")  # a transcendental, a memory-bound, a row-wise


class DaskCluster:
    params = (list(FUNCTIONS), ["fastact", "numpy"])
    param_names = ["function", "implementation"]
    number = 1
    repeat = 5
    timeout = 300

    def setup(self, function, impl):
        try:
            import dask.array as da
            import distributed
        except ImportError:
            raise NotImplementedError("dask.distributed is not installed") from None
        self.cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        self.client = distributed.Client(self.cluster)
        act = fastact.REGISTRY[function]
        rows = (N // 1000, 1000) if act.kind == "rowwise" else (N,)
        chunks = (CHUNK // 1000, 1000) if act.kind == "rowwise" else (CHUNK,)
        rng = da.random.default_rng(0)
        self.x = rng.standard_normal(rows, chunks=chunks, dtype=np.float32).persist()
        distributed.wait(self.x)
        p = bb.params(act)
        if impl == "fastact":
            self.make = lambda x: act.forward(x, *p)
        else:
            expr = bb.BASELINES[function].numpy_forward
            self.make = lambda x: x.map_blocks(expr, *p, dtype=np.float32)
        self.runs = 0
        self.time_map()  # compile (or load) the kernels on every worker

    def teardown(self, function, impl):
        self.client.close()
        self.cluster.close()

    def time_map(self, *args):
        import distributed

        # A graph of new keys each run (np.asarray returns each block itself): the same
        # keys would let the cluster hand back the last run's blocks, computing nothing.
        self.runs += 1
        x = self.x.map_blocks(np.asarray, name=f"x-run-{id(self)}-{self.runs}")
        y = self.make(x).persist()
        distributed.wait(y)
        del y


def main():
    print("| function | fastact | NumPy expression | speed-up |\n|:--|--:|--:|--:|")
    for function in FUNCTIONS:
        medians = {}
        for impl in ("fastact", "numpy"):
            bench = DaskCluster()
            bench.setup(function, impl)
            times = []
            for _ in range(bench.repeat):
                start = time.perf_counter()
                bench.time_map()
                times.append(time.perf_counter() - start)
            bench.teardown(function, impl)
            medians[impl] = statistics.median(times)
        f, n = medians["fastact"], medians["numpy"]
        print(f"| {function} | {f * 1e3:.0f} ms | {n * 1e3:.0f} ms | {n / f:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
