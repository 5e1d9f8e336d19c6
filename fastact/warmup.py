"""``python -m fastact.warmup`` (or ``fastact-warmup``): compile kernels into the disk cache.

For container images and CI: run it once where the image is built, with the
``NUMBA_CACHE_DIR`` (or package folder) that the image keeps, and later processes load
every chosen kernel instead of compiling it. It iterates over the registry, so it covers
every registered function: forward and backward, every choice of a choice parameter,
each dtype and target asked for. A kernel that is already cached is only loaded.

Numba compiles on one core, so the work is shared between processes (``--jobs``), one
driver per task: Numba's cache index is one file per driver, which two processes must
not write at once. The helpers that every driver of a template calls have one index each
too, so one task per template runs first, in this process, before the others are shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

DTYPES = ("float32", "float64")
TARGETS = ("cpu", "parallel", "cuda")
_SHAPE = (4, 16)  # tiny: the call only compiles; rows for the softmax family


def _cuda_usable() -> bool:
    """A real GPU and numba-cuda (the simulator caches nothing)."""
    try:
        from numba import config, cuda

        return not config.ENABLE_CUDASIM and cuda.is_available()
    except Exception:
        return False


def plan(names, targets, bias=False) -> list[tuple]:
    """One task per driver: (function, direction, choice or None, target, fused bias?);
    with ``bias``, also the fused-bias drivers of the functions that take ``bias=``."""
    from . import REGISTRY

    return [
        (name, direction, variant, target, fused)
        for fused in ((False, True) if bias else (False,))
        for name in names
        if not fused or REGISTRY[name].takes_bias
        for direction in ("forward", "backward")
        for variant in REGISTRY[name].variants
        for target in targets
    ]


def compile_task(task, dtypes) -> tuple[int, int]:
    """Compile (or load) one driver for each dtype by calling the public function on tiny
    input; returns (kernels loaded from the cache, kernels compiled) on the CPU targets."""
    from . import REGISTRY
    from . import bench_baselines as bb
    from .drivers import cpu

    name, direction, variant, target, fused = task
    act = REGISTRY[name]
    params = list(bb.params(act))
    if variant is not None:
        params[act.params.index(act.choice)] = variant
    form = act.forward if direction == "forward" else act.backward
    for dtype in dtypes:
        inputs = bb.make_inputs(act, direction, dtype, _SHAPE)
        kw = {"bias": np.zeros(_SHAPE[-1], dtype)} if fused else {}
        form(*inputs, *params, target=target, **kw)
        # The other signatures of the same drivers: prelu's per-channel weight (bb.params'
        # single value takes the (outer, C, inner) layout of (N, C, H, W) inputs, a weight
        # per column of a 2-D input the last-axis one), and masked rows (where=).
        if act.array_param is not None and not fused:
            i = act.params.index(act.array_param)
            per_channel = [*params[:i], np.full(_SHAPE[1], 0.25, dtype), *params[i + 1 :]]
            form(*inputs, *per_channel, target=target)
        if act.takes_where:
            form(*inputs, *params, target=target, where=np.ones(_SHAPE, bool))
    if target == "cuda":
        return 0, 0  # counted on the CPU targets only
    # The plain driver, or the per-channel ones (keyed by layout and bias too) of a
    # function with an array parameter (prelu) or of a fused bias.
    key = (name, direction, target == "parallel", variant)
    drivers = [
        d
        for k, d in list(cpu._drivers.items())
        if k[:4] == key and (len(k) > 4) == (fused or act.array_param is not None)
    ]
    hits = sum(d.stats.cache_hits.total() for d in drivers)
    return hits, sum(d.stats.cache_misses.total() for d in drivers)


def _template(task) -> tuple:
    """Tasks whose drivers come from one template, and so call the same helpers."""
    from . import REGISTRY
    from .drivers import cpu

    name, direction, _, target, fused = task
    act = REGISTRY[name]
    return (cpu.template_of(act, direction), act.array_param is None, target, fused)


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _split(value: str, known, what, parser) -> list[str]:
    items = list(dict.fromkeys(v for v in value.replace(" ", ",").split(",") if v))
    unknown = [v for v in items if v not in known]
    if unknown:
        parser.error(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    if not items:
        parser.error(f"no {what} given; known: {', '.join(known)}")
    return items


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fastact.warmup",
        description="Compile fastact's kernels into Numba's disk cache ahead of time "
        "(NUMBA_CACHE_DIR, else __pycache__ beside the package).",
    )
    p.add_argument("--only", metavar="NAME[,NAME]", help="functions (default: all)")
    p.add_argument("--dtypes", default=",".join(DTYPES), help="default: %(default)s")
    p.add_argument(
        "--targets", help="cpu, parallel, cuda (default: cpu,parallel, and cuda if a GPU is usable)"
    )
    p.add_argument(
        "--jobs", type=int, metavar="N", help="processes (default: one per CPU; 1: this one)"
    )
    p.add_argument(
        "--bias",
        action="store_true",
        help="also the fused bias= drivers (bias along the last axis): twice the kernels",
    )
    return p


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from . import REGISTRY
    from .bench import Progress

    # --only '' (an unset shell variable) is an empty list, not "all": say so.
    names = (
        list(REGISTRY) if args.only is None else _split(args.only, REGISTRY, "function(s)", parser)
    )
    dtypes = _split(args.dtypes, DTYPES, "dtype(s)", parser)
    if args.targets is not None:
        targets = _split(args.targets, TARGETS, "target(s)", parser)
        if "cuda" in targets and not _cuda_usable():
            parser.error("target cuda: no usable GPU, or numba-cuda is not installed")
    else:
        targets = ["cpu", "parallel"] + (["cuda"] if _cuda_usable() else [])
    jobs = _default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        parser.error("--jobs must be at least 1")

    tasks = plan(names, targets, args.bias)
    jobs = min(jobs, len(tasks))
    progress = Progress(len(tasks) * len(dtypes))
    progress.update(0, "starting")
    done, hits, misses = 0, 0, 0
    start = time.perf_counter()

    def finished(task, counts):
        nonlocal done, hits, misses
        done += len(dtypes)
        hits, misses = hits + counts[0], misses + counts[1]
        label = [str(t) for t in task[:4] if t is not None] + (["bias"] if task[4] else [])
        progress.update(done, " ".join(label))

    # Numba's cache index has no lock: two processes compiling one function for different
    # types at once can leave it pointing at the other's code (numba/numba#10128). So the
    # first task of each template runs here, alone; it caches the helpers its template's
    # drivers share, and the processes then write only their own drivers' files.
    firsts = list({_template(t): t for t in reversed(tasks)}.values()) if jobs > 1 else tasks
    for task in firsts:
        finished(task, compile_task(task, dtypes))
    rest = [t for t in tasks if t not in firsts]
    if rest:
        import multiprocessing

        # spawn: a fork would copy this process's Numba and thread state.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {pool.submit(compile_task, t, dtypes): t for t in rest}
            for f in as_completed(futures):
                finished(futures[f], f.result())
    progress.close()

    from numba.core import config

    where = config.CACHE_DIR or "__pycache__ beside fastact's modules"
    print(
        f"fastact warm-up: {len(tasks) * len(dtypes)} kernels ({len(names)} functions, "
        f"{', '.join(dtypes)}, {', '.join(targets)}) in {time.perf_counter() - start:.1f} s "
        f"with {jobs} process{'es' if jobs > 1 else ''}; on the CPU: {misses} compiled, "
        f"{hits} already cached; cache: {where}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
