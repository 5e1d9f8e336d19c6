"""The training-loop benchmark: both implementations train the same model; the report runs."""

import numpy as np
import pytest

from fastact import bench, bench_training
from fastact.bench_training import MLP


# leaky_relu, threshold: hidden layers with parameters (the report's values)
@pytest.mark.parametrize("hidden", [*bench_training.HIDDEN, "leaky_relu", "threshold"])
def test_numpy_and_fastact_activations_train_the_same_model(hidden):
    a, b = MLP(hidden, "numpy", steps=2), MLP(hidden, "fastact", steps=2)
    for _ in range(2):
        assert a.epoch() == pytest.approx(b.epoch(), rel=1e-4)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-3, atol=1e-5)


def test_the_report_prints_the_training_loop(monkeypatch, capsys):
    monkeypatch.setattr(bench_training, "STEPS", 1)
    assert bench.main(["--training-loop", "--quick", "--only", "relu,softmax"]) == 0
    out = capsys.readouterr().out
    assert "layer)" in out and "Training loop on" in out
    assert "| relu |" in out and "| softmax |" not in out  # only elementwise hidden layers


@pytest.mark.parametrize("args", [["--only", "glu,softmax"], ["--threads", "0"]])
def test_the_report_refuses_what_it_cannot_run(args, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--training-loop", "--quick", *args])
    err = capsys.readouterr().err
    assert "--training-loop takes elementwise functions without array" in err or "--threads" in err
