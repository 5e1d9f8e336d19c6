"""The benchmark report: ``python -m fastact.bench`` (or ``fastact-bench``).

Times every registered function, forward and backward, float32 and float64, at 1e3,
1e5 and 1e7 elements (the softmax family at 100000x10, 1000x1000 and 10x1000000),
against the plain NumPy expression, PyTorch CPU (when installed) and the copy-bandwidth
floor, and prints a Markdown table. The competitors come from ``fastact.bench_baselines``.

Machines are noisy, so the candidates of each row are interleaved in one process, in a
shuffled order every round, and the median per-call time of each is quoted. The first
call of each row (JIT compile or disk-cache load) is timed apart and excluded.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

from . import bench_baselines as bb
from . import bench_training
from .codegen import vector_bits
from .registry import REGISTRY, ROWWISE

SIZES = (1_000, 100_000, 10_000_000)
ROW_SHAPES = ((100_000, 10), (1_000, 1_000), (10, 1_000_000))
QUICK_SIZES = (1_000, 100_000)
QUICK_ROW_SHAPES = ((10_000, 10), (100, 1_000))
DTYPES = ("float32", "float64")
DIRECTIONS = ("forward", "backward")


class Settings:
    """How long to spend per row: a time budget, bounded by a number of rounds."""

    def __init__(self, quick: bool):
        self.budget = 0.12 if quick else 0.6  # seconds per row, all candidates together
        self.min_rounds = 3 if quick else 5
        self.max_rounds = 30 if quick else 60
        self.batch = 1e-3  # calls are batched to at least this long, against timer noise


# --------------------------------------------------------------------------- timing
def _batch_time(fn, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def _interleaved(candidates: dict, settings: Settings, rng) -> dict:
    """Median seconds per call of each candidate, timed round-robin in shuffled order."""
    numbers = {}
    for name, fn in candidates.items():
        estimate = _batch_time(fn, 1)
        numbers[name] = max(1, math.ceil(settings.batch / max(estimate, 1e-9)))
    round_time = sum(_batch_time(fn, numbers[k]) * numbers[k] for k, fn in candidates.items())
    rounds = round(settings.budget / max(round_time, 1e-9))
    rounds = min(settings.max_rounds, max(settings.min_rounds, rounds))
    samples = {name: [] for name in candidates}
    order = list(candidates)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            rng.shuffle(order)
            for name in order:
                samples[name].append(_batch_time(candidates[name], numbers[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}


def _size_label(shape) -> str:
    if len(shape) > 1:
        return "×".join(str(n) for n in shape)
    (n,) = shape
    exp = round(math.log10(n)) if n > 0 else 0
    return f"1e{exp}" if 10**exp == n else str(n)


def _plan(names, quick: bool, sizes=None):
    rows = []
    for name in names:
        act = REGISTRY[name]
        if act.kind == ROWWISE:
            if sizes:
                shapes = [(max(1, n // 100), min(n, 100)) for n in sizes]
            else:
                shapes = QUICK_ROW_SHAPES if quick else ROW_SHAPES
        else:
            shapes = [(n,) for n in (sizes or (QUICK_SIZES if quick else SIZES))]
        for direction in DIRECTIONS:
            for dtype in DTYPES:
                for shape in shapes:
                    rows.append((act, direction, dtype, tuple(shape)))
    return rows


def measure(act, direction, dtype, shape, settings: Settings, rng) -> dict:
    """One row of the report: times, speed-ups and the JIT warm-up of fastact's call."""
    arrays = bb.make_inputs(act, direction, dtype, shape)
    out = np.empty(bb.result_shape(act, direction, shape), dtype)
    candidates = {"fastact": bb.candidate(act, direction, "fastact", arrays, out=out)}
    candidates["numpy"] = bb.candidate(act, direction, "numpy", arrays)
    try:
        candidates["torch"] = bb.candidate(act, direction, "torch", arrays, out=out)
    except NotImplementedError:
        pass
    candidates["copy"] = bb.copy_floor(direction, arrays, out)
    candidates["copy-parallel"] = bb.copy_floor(direction, arrays, out, parallel=True)

    start = time.perf_counter()
    candidates["fastact"]()
    warmup = time.perf_counter() - start
    for name, fn in candidates.items():
        if name != "fastact":
            fn()
    t = _interleaved(candidates, settings, rng)
    torch_t = t.get("torch")
    floor = min(t["copy"], t["copy-parallel"])
    return {
        "function": act.name,
        "form": direction,
        "dtype": dtype,
        "size": _size_label(shape),
        "shape": list(shape),
        "fastact_s": t["fastact"],
        "numpy_s": t["numpy"],
        "torch_s": torch_t,
        "copy_s": floor,
        "speedup_numpy": t["numpy"] / t["fastact"],
        "speedup_torch": None if torch_t is None else torch_t / t["fastact"],
        "copy_fraction": floor / t["fastact"],
        "warmup_s": warmup,
    }


def _warm_and_time(make, impls, settings: Settings, rng) -> dict:
    """Median times of ``make(impl)`` for the implementations that exist, each called
    once first (JIT and torch warm-up), then interleaved."""
    candidates = {}
    for impl in impls:
        try:
            candidates[impl] = make(impl)
        except NotImplementedError:
            pass
    for fn in candidates.values():
        fn()
    return _interleaved(candidates, settings, rng)


def measure_masked(act, dtype, shape, settings: Settings, rng) -> dict:
    """The masked case (``bench_baselines.masked_candidate``): fastact with ``where=``
    beside its unmasked call and the peers' fill-then-call, into one preallocated ``out``."""
    x, mask = bb.masked_inputs(dtype, shape)
    out = np.empty(shape, dtype)
    make = lambda impl: bb.masked_candidate(act, impl, x, mask, out=out)  # noqa: E731
    t = _warm_and_time(make, bb.MASKED_IMPLEMENTATIONS, settings, rng)
    return {
        "function": act.name,
        "dtype": dtype,
        "size": _size_label(shape),
        "mask": _size_label(mask.shape),
        **{f"{impl}_s": t.get(impl) for impl in bb.MASKED_IMPLEMENTATIONS},
    }


def markdown_masked(rows) -> str:
    """The masked case's table: times; the mask's cost (fastact's time with ``where`` over
    its unmasked call's: the bar is 1.1); speed-ups over the peers, as in ``markdown``."""
    impls = bb.MASKED_IMPLEMENTATIONS
    head = ["function", "dtype", "x", "where", *impls, "mask cost", "vs NumPy", "vs PyTorch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] * 4 + ["--:"] * 7) + "|"]
    for r in rows:
        f = r["fastact_s"]
        cells = [r["function"], r["dtype"], r["size"], r["mask"]]
        cells += [_fmt_time(r[f"{i}_s"]) for i in impls]
        cells.append(_fmt_ratio(f / r["fastact-unmasked_s"]))
        for peer in ("numpy", "torch"):
            cells.append(_fmt_ratio(None if r[f"{peer}_s"] is None else r[f"{peer}_s"] / f))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


BIAS_FUNCTIONS = ("relu", "sigmoid", "gelu")
"""The report's fused-bias rows: an exact, a saves-output and a heavier smooth function."""


def measure_bias(act, direction, dtype, shape, settings: Settings, rng) -> dict:
    """The fused bias (``bench_baselines.bias_candidate``): fastact's ``bias=`` beside its
    call without a bias and the separate add-then-call (backward: then ``.sum(axis=0)``)."""
    arrays = bb.bias_inputs(act, direction, dtype, shape)
    out = np.empty(shape, dtype)
    make = lambda impl: bb.bias_candidate(act, direction, impl, arrays, out=out)  # noqa: E731
    t = _warm_and_time(make, bb.BIAS_IMPLEMENTATIONS, settings, rng)
    return {
        "function": act.name,
        "form": direction,
        "dtype": dtype,
        "size": _size_label(shape),
        **{f"{impl}_s": t.get(impl) for impl in bb.BIAS_IMPLEMENTATIONS},
    }


def markdown_bias(rows) -> str:
    """The fused bias's table: times; its cost over the plain call (bars: 1.1 forward, 1.2
    backward); speed-ups over the separate ways."""
    impls = bb.BIAS_IMPLEMENTATIONS
    head = ["function", "form", "dtype", "x", *impls, "bias cost"]
    head += ["vs separate", "vs NumPy", "vs PyTorch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] * 4 + ["--:"] * 9) + "|"]
    for r in rows:
        f = r["fastact_s"]
        cells = [r["function"], r["form"], r["dtype"], r["size"]]
        cells += [_fmt_time(r[f"{i}_s"]) for i in impls]
        cells.append(_fmt_ratio(f / r["fastact-plain_s"]))
        for peer in ("fastact-separate", "numpy", "torch"):
            cells.append(_fmt_ratio(None if r[f"{peer}_s"] is None else r[f"{peer}_s"] / f))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- output
class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 28):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self._last_decile = -1

    def update(self, done: int, what: str = "") -> None:
        frac = done / self.total if self.total else 1.0
        decile = int(frac * 10)
        if not self.tty and decile == self._last_decile and done < self.total:
            return  # in a log, one line per tenth is enough
        self._last_decile = decile
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        line = f"[{bar}] {done}/{self.total} {elapsed:5.1f}s {what}"
        if self.tty:
            self.stream.write("\r" + line.ljust(78)[:120])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _fmt_time(s) -> str:
    if s is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            v = s / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    raise AssertionError


def _fmt_ratio(r) -> str:
    return "–" if r is None else f"{r:.2f}×" if r < 10 else f"{r:.1f}×"


def markdown(rows, has_torch: bool) -> str:
    """The report's table in GitHub Markdown."""
    head = ["function", "form", "dtype", "size", "fastact", "NumPy"]
    align = [":--", ":--", ":--", "--:", "--:", "--:"]
    if has_torch:
        head.append("PyTorch")
        align.append("--:")
    head += ["vs NumPy"] + (["vs PyTorch"] if has_torch else []) + ["copy BW"]
    align += ["--:"] * (3 if has_torch else 2)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        cells = [r["function"], r["form"], r["dtype"], r["size"]]
        cells += [_fmt_time(r["fastact_s"]), _fmt_time(r["numpy_s"])]
        if has_torch:
            cells.append(_fmt_time(r["torch_s"]))
        cells.append(_fmt_ratio(r["speedup_numpy"]))
        if has_torch:
            cells.append(_fmt_ratio(r["speedup_torch"]))
        cells.append(f"{r['copy_fraction']:.0%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _geomean(values):
    values = [v for v in values if v]  # None: no PyTorch equivalent
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def plot(rows, path: str, has_torch: bool) -> None:
    """Bar chart of speed-ups per function: one bar per direction and size (geometric
    mean of float32 and float64), one panel per competitor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    names = list(dict.fromkeys(r["function"] for r in rows))
    # Sizes by rank within each function (the softmax family has shapes, not sizes).
    rank = {}
    for name in names:
        for i, size in enumerate(dict.fromkeys(r["size"] for r in rows if r["function"] == name)):
            rank[name, size] = i
    n_ranks = 1 + max(rank.values())
    groups = [(d, i) for d in DIRECTIONS for i in range(n_ranks)]
    versus = [("speedup_numpy", "NumPy")] + ([("speedup_torch", "PyTorch")] if has_torch else [])
    fig, axes = plt.subplots(
        len(versus), 1, figsize=(max(6.0, 1.6 * len(names)), 3.2 * len(versus)), squeeze=False
    )
    width = 0.8 / len(groups)
    size_names = [
        " / ".join(dict.fromkeys(size for (_, size), j in rank.items() if j == i))
        for i in range(n_ranks)
    ]
    ticks = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×")
    minor = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×" if f"{v:g}"[-1] in "25" else "")
    for ax, (key, who) in zip(axes[:, 0], versus, strict=True):
        for g, (direction, i) in enumerate(groups):
            heights = [
                _geomean(
                    r[key]
                    for r in rows
                    if r["function"] == name
                    and r["form"] == direction
                    and rank[name, r["size"]] == i
                )
                for name in names
            ]
            xs = np.arange(len(names)) + (g - (len(groups) - 1) / 2) * width
            ax.bar(xs, heights, width, label=f"{direction}, {size_names[i]}")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticks)
        ax.yaxis.set_minor_formatter(minor)
        ax.set_xticks(np.arange(len(names)), names)
        ax.set_ylabel(f"speed-up over {who}")
        ax.legend(fontsize="x-small", ncol=2)
    axes[0, 0].set_title("fastact speed-up per call (above 1: fastact is faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fastact.bench",
        description="Benchmark every fastact function against NumPy (and PyTorch, "
        "when installed) and print a Markdown table.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes only, ~10 s")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="functions to run (space- or comma-separated); default: all",
    )
    p.add_argument(
        "--threads", type=int, metavar="N", help="threads for Numba and PyTorch (default: all)"
    )
    p.add_argument(
        "--training-loop",
        action="store_true",
        help="instead: epochs of a NumPy MLP training loop with NumPy's activations vs "
        "fastact's (hidden layers: relu, sigmoid, tanh, or the elementwise --only)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="bar chart of speed-ups (needs matplotlib)")
    p.add_argument(
        "--sizes",
        metavar="N[,N]",
        help="elementwise sizes instead of the default ones (the softmax family: rows of "
        "up to 100 elements, N/100 of them)",
    )
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    names = list(REGISTRY)
    if args.only:
        names = list(dict.fromkeys(n for arg in args.only for n in arg.replace(",", " ").split()))
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            parser.error(f"unknown function(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    sizes = None
    if args.sizes:
        sizes = [int(float(s)) for s in args.sizes.split(",")]
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install 'fastact[bench]'")

    import numba

    threads = numba.config.NUMBA_NUM_THREADS if args.threads is None else args.threads
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        parser.error(f"--threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}")
    numba.set_num_threads(threads)
    if "torch" not in sys.modules:
        # PyTorch's OpenMP threads otherwise spin for a while after each parallel region,
        # stealing the cores from whichever candidate runs next (fastact's tbb threads).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch = bb.load_torch()
    if torch is not None:
        torch.set_num_threads(threads)

    settings = Settings(args.quick)
    plan = [] if args.training_loop else _plan(names, args.quick, sizes)
    rng = np.random.default_rng(args.seed)
    progress = Progress(len(plan))
    rows, training = [], None
    started = time.perf_counter()
    if args.training_loop:
        hidden = bench_training.HIDDEN
        if args.only:
            hidden = [n for n in names if bench_training.can_be_hidden(REGISTRY[n])]
            if not hidden:
                parser.error(
                    "--training-loop takes elementwise functions without array "
                    f"parameters; got {', '.join(names)}"
                )
        rounds = 3 if args.quick else 7
        progress = Progress(len(hidden) * rounds)
        training = bench_training.compare(hidden, rounds, progress)
    for i, (act, direction, dtype, shape) in enumerate(plan):
        progress.update(i, f"{act.name} {direction} {dtype} {_size_label(shape)}")
        rows.append(measure(act, direction, dtype, shape, settings, rng))
    masked = []
    for name in dict.fromkeys(a.name for a, *_ in plan):
        act = REGISTRY[name]
        if act.takes_where and not sizes:
            shape = (2, 2, 128, 128) if args.quick else bb.MASKED_SHAPE
            progress.update(len(plan), f"{name} masked {_size_label(shape)}")
            masked.append(measure_masked(act, "float32", shape, settings, rng))
    biased = []
    for name in dict.fromkeys(a.name for a, *_ in plan):
        if name in BIAS_FUNCTIONS and not sizes:
            shape = (1000, 100) if args.quick else bb.BIAS_SHAPE
            for direction in DIRECTIONS:
                for dtype in DTYPES:
                    progress.update(len(plan), f"{name} bias {direction} {dtype}")
                    biased.append(
                        measure_bias(REGISTRY[name], direction, dtype, shape, settings, rng)
                    )
    progress.update(progress.total, "done")
    progress.close()
    elapsed = time.perf_counter() - started

    # Numba reports its threading layer only once a parallel region has run.
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not started"
    meta = {
        "fastact": _version(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": _cpu_count(),
        "cpu": bench_training.cpu_model(),
        "vector_bits": vector_bits(),
        "numba_threads": threads,
        "numba_threading_layer": layer,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "quick": args.quick,
        "seconds": elapsed,
        "warmup_seconds": sum(r["warmup_s"] for r in rows),
    }
    print(_report(rows, meta, torch is not None, training))
    if masked:
        print("\n## Masked rows (where=, a causal mask)\n")
        print(markdown_masked(masked))
        print(
            "\n- mask cost: fastact's time with `where` over its own call without it. "
            "vs X: X's time over fastact's (above 1: fastact is faster). NumPy: "
            "`np.where(mask, x, -inf)` then the expression; PyTorch: `masked_fill` then the "
            "function, into `out`."
        )
    if biased:
        print("\n## Fused bias (bias=, along the last axis)\n")
        print(markdown_bias(biased))
        print(
            "\n- bias cost: fastact's time with `bias=` over its own call without it. "
            "vs X: X's time over fastact's: separate = fastact's `F(x + b)` (backward: "
            "`F_backward` then `.sum(axis=0)`), NumPy and PyTorch the same way."
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"meta": meta, "rows": training or rows, "masked": masked, "bias": biased},
                f,
                indent=1,
            )
    if args.plot:
        plot(rows, args.plot, torch is not None)
        print(f"\nPlot written to {args.plot}.")
    return 0


def _report(rows, meta, has_torch: bool, training=None) -> str:
    torch_part = f", PyTorch {meta['torch']} ({meta['torch_threads']} threads)" if has_torch else ""
    lines = [
        "# fastact benchmark report",
        "",
        f"fastact {meta['fastact']}, Numba {meta['numba']} ({_threads(meta['numba_threads'])}, "
        f"'{meta['numba_threading_layer']}' layer), NumPy {meta['numpy']}{torch_part}; "
        f"Python {meta['python']} on {meta['machine']} with {meta['cpu_count']} CPUs: "
        f"{meta['cpu']}, {meta['vector_bits']}-bit vectors.",
        "",
    ]
    if training is not None:
        return "\n".join(lines + [bench_training.markdown(training)])
    lines += [
        markdown(rows, has_torch),
        "",
        "- Times are medians per call; the candidates of a row run interleaved in one "
        "process, in a new order every round.",
        "- fastact: default target (one thread below its parallel threshold; above it, one "
        "or all Numba threads, whichever its recent calls measured faster), writing into a "
        "preallocated `out`.",
        "- NumPy: the plain expression a user would write, allocating its result.",
        "- PyTorch: its own kernels with `out=` (backward through `torch.ops.aten`, whose "
        "Python dispatch costs a few µs per call), OMP_WAIT_POLICY="
        f"{meta['omp_wait_policy'] or 'default'}.",
        "- vs X: X's time over fastact's (above 1: fastact is faster).",
        "- copy BW: the copy floor's time over fastact's, the fraction of the memory bound "
        "reached. The floor is the faster of `np.copyto` and a copy on all Numba threads "
        "(forward: 1 read, 1 write), or of `np.add` and its threaded twin (backward: "
        "2 reads, 1 write).",
        "",
        f"JIT warm-up (first calls: compile or disk-cache load, excluded above): "
        f"{meta['warmup_seconds']:.2f} s; whole run {meta['seconds']:.1f} s.",
    ]
    return "\n".join(lines)


def _threads(n) -> str:
    return f"{n} thread" + ("" if n == 1 else "s")


def _version() -> str:
    from . import __version__

    return __version__


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
