"""CPU targets (SPEC §5): one thread vs all threads, the automatic choice, thread safety."""

import threading

import numba
import numpy as np
import pytest
from conftest import ALL, ROWWISE_ACTS, assert_same, grad_for, ids, param_values, saved_for

import fastact
from fastact import dispatch, tuning


# (700, 9): short rows, in several blocks of rows and a partial one (softmax family).
@pytest.mark.parametrize(
    "act,shape",
    [(a, (300, 70)) for a in ALL] + [(a, (700, 9)) for a in ROWWISE_ACTS],
    ids=lambda v: "x".join(map(str, v)) if type(v) is tuple else ids(v),
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parallel_equals_serial(act, shape, dtype, rng):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    g = grad_for(act, x, rng)
    p = param_values(act)
    s = saved_for(act, x)
    assert_same(act.forward(x, *p, target="parallel"), act.forward(x, *p, target="cpu"))
    assert_same(act.backward(g, s, *p, target="parallel"), act.backward(g, s, *p, target="cpu"))


def test_automatic_target_follows_the_threshold_table(monkeypatch):
    seen = []
    real = dispatch._driver

    def spy(call, parallel, variant):
        seen.append(parallel)
        return real(call, parallel, variant)

    monkeypatch.setattr(dispatch, "_driver", spy)
    monkeypatch.setitem(tuning.PARALLEL_THRESHOLD, "relu", 1000)
    threads = numba.get_num_threads()

    def decided(x, **kw):
        fastact.relu(x, **kw)
        return seen[-1]

    assert decided(np.ones(999)) is False
    assert decided(np.ones(1000)) is (threads > 1)
    assert decided(np.ones(10), target="parallel") is True
    assert decided(np.ones(5000), target="cpu") is False
    try:
        numba.set_num_threads(1)  # one thread: nothing to gain from a parallel region
        assert decided(np.ones(5000)) is False
    finally:
        numba.set_num_threads(threads)


def test_every_function_has_a_measured_threshold():
    assert set(fastact.REGISTRY) <= set(tuning.PARALLEL_THRESHOLD)


def test_parallel_kernels_respect_set_num_threads():
    @numba.njit
    def threads_used():
        return numba.get_num_threads()

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        y = fastact.sigmoid(np.linspace(-5, 5, 100_000), target="parallel")
        assert threads_used() == 1
        assert_same(y, fastact.sigmoid(np.linspace(-5, 5, 100_000), target="cpu"))
    finally:
        numba.set_num_threads(before)


def test_threading_layer_is_thread_safe():
    fastact.relu(np.ones(10), target="parallel")
    assert numba.threading_layer() in ("tbb", "omp")


@pytest.mark.slow
def test_eight_python_threads_calling_parallel_kernels(rng):
    xs = [rng.standard_normal(300_000) * (i + 1) for i in range(8)]
    want = [
        (fastact.sigmoid(x, target="cpu"), fastact.softmax(x.reshape(300, -1), target="cpu"))
        for x in xs
    ]
    errors = []
    barrier = threading.Barrier(8)

    def work(i):
        try:
            barrier.wait()
            for _ in range(10):
                a = fastact.sigmoid(xs[i], target="parallel")
                b = fastact.softmax(xs[i].reshape(300, -1), target="parallel")
                assert np.array_equal(a, want[i][0]) and np.array_equal(b, want[i][1])
        except Exception as e:  # reported below: pytest does not see other threads
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
