"""Array parameters on the CUDA target: prelu and the fused bias, checked against the CPU.

The GPU reduces the parameter's gradient over the CPU's partition, in its order
(drivers/channel.py): from the same per-element values, the same bits. Exact functions
(prelu, relu) give the same values, so their gradients match the CPU's bit for bit; others
are within a few ULP per element. Tiny arrays in the simulator; the multi-block case is
a GPU test."""

import numpy as np
import pytest
from conftest import assert_same, assert_ulp

pytest.importorskip("numba_cuda")
from numba import cuda  # noqa: E402

import fastact  # noqa: E402
import fastact.drivers.cuda as fc  # noqa: E402

SIM = bool(cuda.config.ENABLE_CUDASIM)
HAVE_GPU = not SIM and cuda.is_available()
if SIM:
    pytestmark = [pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")]


@pytest.fixture(autouse=True)
def small_launches(monkeypatch, simulator_threads):
    monkeypatch.setattr(fc, "MAP_THREADS", 32 if SIM else 256)


def host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else np.asarray(a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, n", [((6, 5), 5), ((2, 3, 4), 3), ((12,), 1)])
def test_prelu_matches_the_cpu(shape, n, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::5] = 0.0
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-1, 1, n).astype(dtype)
    dx, dg, dw = cuda.to_device(x), cuda.to_device(g), cuda.to_device(w)
    assert_same(host(fastact.prelu(dx, dw)), fastact.prelu(x, w))
    gx, gw = fastact.prelu_backward(dg, dx, dw)
    want_gx, want_gw = fastact.prelu_backward(g, x, w, target="cpu")
    assert_same(host(gx), want_gx)
    assert_same(host(gw), want_gw)  # the CPU's partition and order: the same bits
    # in place, and a host weight with device arrays
    back, gw2 = fastact.prelu_backward_(dg, dx, w)
    assert back is dg
    assert_same(host(dg), want_gx)
    assert_same(host(gw2), want_gw)


@pytest.mark.parametrize("name", ["relu", "sigmoid"])
def test_bias_matches_the_cpu(name, rng):
    act = fastact.REGISTRY[name]
    x = rng.standard_normal((5, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    g = rng.standard_normal((5, 6)).astype(np.float32)
    y = act.forward(x, bias=b)
    assert_ulp(host(act.forward(cuda.to_device(x), bias=cuda.to_device(b))), y, 6)
    saved = y if act.saves == "output" else x
    gx, gb = act.backward(cuda.to_device(g), cuda.to_device(saved), bias=cuda.to_device(b))
    want_gx, want_gb = act.backward(g, saved, bias=b, target="cpu")
    assert_ulp(host(gx), want_gx, 6)
    if act.exact:
        assert_same(host(gb), want_gb)
    else:
        np.testing.assert_allclose(host(gb), want_gb, rtol=1e-5, atol=1e-6)
    dx = cuda.to_device(x)
    assert act.forward_(dx, bias=b) is dx
    assert_ulp(host(dx), y, 6)


def test_host_arrays_with_target_cuda(rng):
    x = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    g = rng.standard_normal((4, 3))
    assert_same(fastact.relu(x, bias=b, target="cuda"), fastact.relu(x, bias=b))
    gx, gb = fastact.relu_backward(g, x, bias=b, target="cuda")
    want = fastact.relu_backward(g, x, bias=b, target="cpu")
    assert_same(gx, want[0])
    assert_same(gb, want[1])
    xt = x.T  # a non-contiguous destination: written back
    got = fastact.prelu(xt, np.array([0.5, 0.25, 2.0, 1.0]), target="cuda")
    assert_same(got, fastact.prelu(xt, np.array([0.5, 0.25, 2.0, 1.0])))


def test_errors_on_the_gpu_write_nothing(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    dx = cuda.to_device(x)
    b = cuda.to_device(np.ones(2, np.float32))
    with pytest.raises(ValueError, match="relu_: argument 'bias'"):
        fastact.relu_(dx, bias=b)
    with pytest.raises(TypeError, match="softmax: argument 'bias'"):
        fastact.softmax(dx, bias=cuda.to_device(np.ones(3, np.float32)))
    with pytest.raises(ValueError, match="prelu_: argument 'weight'"):
        fastact.prelu_(dx, b)
    assert_same(host(dx), x)


@pytest.mark.skipif(not HAVE_GPU, reason="needs a real NVIDIA GPU")
@pytest.mark.parametrize("shape, n", [((4000, 300), 300), ((8, 4, 70_000), 4)])
def test_many_blocks_same_bits_as_the_cpu(shape, n, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(-1, 1, n).astype(np.float32)
    _, gw = fastact.prelu_backward(cuda.to_device(g), cuda.to_device(x), cuda.to_device(w))
    assert_same(host(gw), fastact.prelu_backward(g, x, w, target="parallel")[1])
    b = w if shape[-1] == n else rng.standard_normal(shape[-1]).astype(np.float32)
    _, gb = fastact.relu_backward(cuda.to_device(g), cuda.to_device(x), bias=cuda.to_device(b))
    assert_same(host(gb), fastact.relu_backward(g, x, bias=b, target="parallel")[1])
