"""The warm-up command (SPEC §6): it fills the disk cache so that a new process's first
calls compile nothing."""

import json
import os
import subprocess
import sys

import pytest

import fastact
from fastact import warmup

FIRST_CALLS = r"""
import json
import numpy as np
import fastact
from fastact.drivers import cpu
x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(4, 16)
b = np.zeros(16, np.float32)
for target in ("cpu", "parallel"):
    fastact.relu_backward(x, fastact.relu(x, target=target), target=target)
    fastact.relu_backward(x, fastact.relu(x, bias=b, target=target), bias=b, target=target)
print(json.dumps({
    "hits": sum(d.stats.cache_hits.total() for d in cpu._drivers.values()),
    "misses": sum(d.stats.cache_misses.total() for d in cpu._drivers.values()),
}))
"""


def _python(args, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=True
    )


@pytest.mark.slow
def test_after_warmup_a_new_process_compiles_nothing(tmp_path):
    args = ["--only", "relu", "--dtypes", "float32", "--targets", "cpu,parallel", "--bias"]
    done = _python(["-m", "fastact.warmup", *args, "--jobs", "2"], tmp_path)
    assert "8 compiled, 0 already cached" in done.stdout, done.stdout
    assert "8/8" in done.stderr  # the progress bar
    first = json.loads(_python(["-c", FIRST_CALLS], tmp_path).stdout.splitlines()[-1])
    assert first == {"hits": 8, "misses": 0}  # the plain and the fused-bias drivers
    again = _python(["-m", "fastact.warmup", *args, "--jobs", "1"], tmp_path)
    assert "0 compiled, 8 already cached" in again.stdout, again.stdout


SIGNATURES = r"""
import json
import numpy as np
import fastact
from fastact.drivers import cpu
rng = np.random.default_rng(0)
for x in (rng.standard_normal((4, 16), np.float32), rng.standard_normal((2, 16, 3, 5), np.float32)):
    for w in (np.full(1, 0.25, np.float32), np.full(16, 0.25, np.float32)):
        fastact.prelu_backward(x, x, w, target="cpu")
        fastact.prelu(x, w, target="cpu")
    mask = np.tril(np.ones(x.shape[-2:], bool))
    y = fastact.softmax(x, where=mask, target="cpu")
    fastact.softmax_backward(x, y, where=mask, target="cpu")
print(json.dumps({
    "misses": sum(d.stats.cache_misses.total() for d in cpu._drivers.values()),
}))
"""


@pytest.mark.slow
def test_warmup_covers_per_channel_weights_and_masks(tmp_path):
    # prelu with one weight and with one per channel (2-D and 4-D inputs: both layouts of
    # its drivers), softmax with where=: a new process loads all of them.
    args = ["--only", "prelu,softmax", "--dtypes", "float32", "--targets", "cpu", "--jobs", "1"]
    _python(["-m", "fastact.warmup", *args], tmp_path)
    first = json.loads(_python(["-c", SIGNATURES], tmp_path).stdout.splitlines()[-1])
    assert first == {"misses": 0}


def test_the_plan_covers_the_registry_and_every_choice():
    tasks = warmup.plan(list(fastact.REGISTRY), ["cpu", "parallel"], bias=True)
    for act in fastact.REGISTRY.values():
        for variant in act.variants:
            for direction in ("forward", "backward"):
                assert (act.name, direction, variant, "parallel", False) in tasks
                assert ((act.name, direction, variant, "cpu", True) in tasks) == act.takes_bias
    plain = 4 * sum(len(a.variants) for a in fastact.REGISTRY.values())
    fused = 4 * sum(len(a.variants) for a in fastact.REGISTRY.values() if a.takes_bias)
    assert len(tasks) == len(set(tasks)) == plain + fused
    assert len(warmup.plan(list(fastact.REGISTRY), ["cpu", "parallel"])) == plain


def test_drivers_of_one_template_share_their_first_task():
    # The first task of each template compiles alone (the helpers' cache indexes have no lock).
    def t(name, fused=False):
        return warmup._template((name, "forward", None, "cpu", fused))

    assert t("relu") == t("sigmoid") != t("relu", fused=True)
    assert t("relu") != t("softmax")
    tasks = warmup.plan(list(fastact.REGISTRY), ["cpu", "parallel"], bias=True)
    assert len({warmup._template(task) for task in tasks}) < len(tasks) / 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "relu,nosuch"], "unknown function(s) nosuch"),
        (["--dtypes", "float16"], "unknown dtype(s) float16"),
        (["--targets", "gpu"], "unknown target(s) gpu"),
        (["--dtypes", ","], "no dtype(s) given"),
        (["--only", ""], "no function(s) given"),  # an unset shell variable: not "all"
        (["--targets", ""], "no target(s) given"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_arguments_are_named(args, message, capsys):
    with pytest.raises(SystemExit):
        warmup.main(args)
    assert message in capsys.readouterr().err


def test_repeated_names_are_warmed_once(monkeypatch, capsys):
    tasks = []
    monkeypatch.setattr(warmup, "compile_task", lambda task, dtypes: tasks.append(task) or (1, 0))
    assert warmup.main(
        [
            "--only",
            "relu,relu",
            "--dtypes",
            "float32,float32",
            "--targets",
            "cpu,cpu",
            "--jobs",
            "1",
        ]
    ) in (0, None)
    assert len(tasks) == len(warmup.plan(["relu"], ["cpu"])) and len(set(tasks)) == len(tasks)
