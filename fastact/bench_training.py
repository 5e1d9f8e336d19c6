"""A NumPy MLP training loop, with NumPy's activations or fastact's: where fastact meets BLAS.

Batch 500, 784 inputs, two hidden layers of 1024, 10 classes, float32, plain SGD. Every
step runs six matmuls on NumPy's BLAS (its own threads, at their default count) between
the hidden activations' forward and backward passes and the output softmax, as
hand-written NumPy models do. The NumPy side is the expression a user would write
(``fastact.bench_baselines``); the fastact side uses the in-place forms (``out=`` into a
buffer for functions whose backward needs their input). ``python -m fastact.bench
--training-loop`` prints the epoch times; ``benchmarks/bench_training.py`` is the asv twin.
"""

from __future__ import annotations

import numpy as np

from . import bench_baselines as bb
from .registry import ELEMENTWISE, REGISTRY

BATCH = 500
LAYERS = (784, 1024, 1024, 10)
STEPS = 10  # batches per epoch: an epoch is long enough to time, short enough to repeat
HIDDEN = ("relu", "sigmoid", "tanh")
IMPLEMENTATIONS = ("numpy", "fastact")


def can_be_hidden(act) -> bool:
    """Whether ``act`` can be the MLP's hidden activation: elementwise, no array parameter."""
    return act.kind == ELEMENTWISE and act.array_param is None


class MLP:
    """Two hidden layers of ``hidden`` (a registry name) and a softmax output, trained by
    SGD on a fixed random data set, with ``impl``'s activations."""

    def __init__(self, hidden: str, impl: str, steps: int | None = None, seed: int = 0):
        if impl not in IMPLEMENTATIONS:
            raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
        rng = np.random.default_rng(seed)
        steps = STEPS if steps is None else steps
        f32 = np.float32
        self.act = REGISTRY[hidden]
        if not can_be_hidden(self.act):
            raise ValueError(f"{hidden} cannot be a hidden layer's activation here")
        self.params = bb.params(self.act)  # the report's values (threshold's, leaky_relu's)
        self.impl = impl
        self.x = rng.standard_normal((steps, BATCH, LAYERS[0]), dtype=f32)
        labels = rng.integers(0, LAYERS[-1], (steps, BATCH))
        self.onehot = np.eye(LAYERS[-1], dtype=f32)[labels]
        self.weights = [
            rng.standard_normal((m, n), dtype=f32) * f32(np.sqrt(2 / m))
            for m, n in zip(LAYERS, LAYERS[1:], strict=False)
        ]
        self.biases = [np.zeros(n, f32) for n in LAYERS[1:]]
        self.lr = f32(0.01)
        # fastact writes into these: the loop allocates only in the matmuls.
        self._outs = [np.empty((BATCH, n), f32) for n in LAYERS[1:-1]]

    # ------------------------------------------------------------------ activations
    def _forward(self, i, h):
        """(activation, what its backward saves) of the pre-activation ``h``."""
        act, p = self.act, self.params
        if self.impl == "numpy":
            a = bb.BASELINES[act.name].numpy_forward(h, *p)
        elif act.saves == "output":
            a = act.forward_(h, *p)
        else:
            a = act.forward(h, *p, out=self._outs[i])
        return a, (a if act.saves == "output" else h)

    def _backward(self, g, saved):
        if self.impl == "numpy":
            return bb.BASELINES[self.act.name].numpy_backward(g, saved, *self.params)
        return self.act.backward_(g, saved, *self.params)

    def _softmax(self, z):
        softmax = REGISTRY["softmax"]
        if self.impl == "numpy":
            return bb.BASELINES["softmax"].numpy_forward(z, -1)
        return softmax.forward_(z)

    # ------------------------------------------------------------------ training
    def step(self, k: int) -> float:
        """One SGD step on batch ``k``; returns its cross-entropy loss."""
        w, b = self.weights, self.biases
        inputs, saved = [self.x[k]], []
        for i in range(len(w) - 1):
            a, s = self._forward(i, inputs[-1] @ w[i] + b[i])
            inputs.append(a)
            saved.append(s)
        p = self._softmax(inputs[-1] @ w[-1] + b[-1])
        y = self.onehot[k]
        loss = -float(np.log(np.maximum((p * y).sum(-1), 1e-30)).mean())
        g = (p - y) / np.float32(BATCH)  # softmax and cross-entropy, fused as users write it
        for i in reversed(range(len(w))):
            gw, gb = inputs[i].T @ g, g.sum(0)
            if i:
                g = self._backward(g @ w[i].T, saved[i - 1])
            w[i] -= self.lr * gw
            b[i] -= self.lr * gb
        return loss

    def epoch(self) -> float:
        """One pass over the data set; returns the mean loss."""
        return sum(self.step(k) for k in range(len(self.x))) / len(self.x)


# --------------------------------------------------------------------------- the report
def compare(hidden=HIDDEN, rounds: int = 7, progress=None) -> list[dict]:
    """Median epoch time of NumPy's and fastact's activations per hidden function, the two
    run back to back in a shuffled order each round (the machine is noisy; neighbours
    share its load), and the median of the per-round ratios."""
    import random
    import statistics
    import time

    rng = random.Random(0)
    rows = []
    for j, name in enumerate(hidden):
        models = {impl: MLP(name, impl) for impl in IMPLEMENTATIONS}
        for m in models.values():
            m.epoch()  # compiles or loads fastact's kernels; BLAS starts its threads
        times = {impl: [] for impl in IMPLEMENTATIONS}
        for r in range(rounds):
            if progress is not None:
                progress.update(j * rounds + r, f"training loop, {name} hidden layers")
            order = list(IMPLEMENTATIONS)
            rng.shuffle(order)
            for impl in order:
                start = time.perf_counter()
                models[impl].epoch()
                times[impl].append(time.perf_counter() - start)
        ratios = [n / f for n, f in zip(times["numpy"], times["fastact"], strict=True)]
        rows.append(
            {
                "hidden": name,
                "numpy_s": statistics.median(times["numpy"]),
                "fastact_s": statistics.median(times["fastact"]),
                "speedup_numpy": statistics.median(ratios),
            }
        )
    if progress is not None:
        progress.update(len(hidden) * rounds, "done")
    return rows


def markdown(rows) -> str:
    """The training-loop table in GitHub Markdown."""
    lines = [
        f"Training loop on {cpu_model()}: MLP {'-'.join(map(str, LAYERS))}, batch {BATCH}, "
        f"float32, {STEPS} SGD steps per epoch; NumPy's BLAS at its default threads.",
        "",
        "| hidden layers | NumPy activations | fastact activations | vs NumPy |",
        "|:--|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['hidden']} | {r['numpy_s'] * 1e3:.0f} ms | {r['fastact_s'] * 1e3:.0f} ms "
            f"| {r['speedup_numpy']:.2f}× |"
        )
    lines += [
        "",
        "- Epoch times are medians; NumPy and fastact run back to back in a new order every "
        "round. vs NumPy: the median of the rounds' NumPy / fastact epoch-time ratios "
        "(above 1: fastact is faster).",
        "- fastact: in-place forms (`out=` into a buffer where backward needs the input), "
        "default target; the softmax output and cross-entropy gradient `p - y` as users "
        "write them.",
    ]
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
