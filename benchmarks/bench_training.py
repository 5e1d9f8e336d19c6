"""A NumPy MLP training loop with NumPy's activations or fastact's (fastact.bench_training).

One epoch (10 SGD steps of batch 500 through 784-1024-1024-10, float32) per sample; BLAS
at its default threads, so fastact's parallel regions meet BLAS's threads as in a user's
loop. Compare ``numpy`` with ``fastact`` per hidden function.
"""

from fastact.bench_training import HIDDEN, IMPLEMENTATIONS, MLP


class TrainingLoop:
    params = (HIDDEN, IMPLEMENTATIONS)
    param_names = ["hidden", "implementation"]
    rounds = 2
    repeat = (3, 7, 30.0)
    timeout = 300

    def setup(self, hidden, impl):
        self.model = MLP(hidden, impl)
        self.model.epoch()  # kernels compiled or loaded; BLAS threads up

    def time_epoch(self, hidden, impl):
        self.model.epoch()
