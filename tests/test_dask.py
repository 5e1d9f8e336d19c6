"""dask arrays (SPEC §5): lazy results computed block by block by the NumPy path, bit for
bit, on the threaded scheduler and on a two-process dask.distributed cluster."""

import numpy as np
import pytest
from conftest import ALL, ROWWISE_ACTS, assert_same, grad_for, ids, param_values, saved_for

da = pytest.importorskip("dask.array")


def _dask(x, chunks):
    return da.from_array(x, chunks=chunks)


def _expected(act, x, g, axis):
    kw = {"axis": axis} if act.takes_axis else {}
    p = param_values(act)
    s = saved_for(act, x, **kw)
    return act.forward(x, *p, **kw), s, act.backward(g, s, *p, **kw)


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_every_function_is_lazy_and_bitwise_equal(act, rng):
    x = (rng.standard_normal((60, 50)) * 4).astype(np.float32)
    axis = -1 if act.takes_axis else None
    g = grad_for(act, x, rng)  # of the forward result's shape
    want_y, s, want_dx = _expected(act, x, g, axis)
    kw = {"axis": axis} if act.takes_axis else {}
    p = param_values(act)
    y = act.forward(_dask(x, (25, 20)), *p, **kw)
    # grad and saved in different chunks: unified, not refused.
    dx = act.backward(_dask(g, (25, 20)), _dask(s, (30, 15)), *p, **kw)
    for lazy, want in ((y, want_y), (dx, want_dx)):
        assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
        assert_same(lazy.compute(scheduler="threads"), want)


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
@pytest.mark.parametrize("axis", [0, 1, None])
def test_softmax_family_rechunks_only_its_axis(act, axis, rng):
    x = rng.standard_normal((40, 30))
    y = act.forward(_dask(x, (10, 10)), axis=axis)
    if axis is not None:
        other = 1 - axis
        assert y.chunks[axis] == (x.shape[axis],) and y.chunks[other] == (10,) * (
            x.shape[other] // 10
        )
    assert_same(y.compute(), act.forward(x, axis=axis))


def test_errors_are_raised_at_the_call_and_in_place_is_refused():
    import fastact

    x = _dask(np.linspace(-1, 1, 12), 4)
    with pytest.raises(TypeError, match=r"fastact\.relu_: argument 'x' is a dask array"):
        fastact.relu_(x)
    with pytest.raises(TypeError, match=r"fastact\.relu_backward_: argument 'grad'"):
        fastact.relu_backward_(x, x)
    with pytest.raises(TypeError, match=r"fastact\.relu_backward_: argument 'saved'"):
        fastact.relu_backward_(np.ones(12), x)  # the argument that is a dask array
    with pytest.raises(TypeError, match=r"fastact\.relu: argument 'out'"):
        fastact.relu(x, out=np.empty(12))
    with pytest.raises(ValueError, match=r"fastact\.sigmoid_backward: argument 'saved'"):
        fastact.sigmoid_backward(x, x[:6])
    with pytest.raises(TypeError, match="'negative_slope'"):
        fastact.leaky_relu(x, "steep")
    with pytest.raises(TypeError, match="'x' has dtype complex128"):
        fastact.tanh(x + 1j)
    # Parameters are checked as the blocks' kernels take them: 1e-50 is 0 in float32.
    with pytest.raises(ValueError, match=r"fastact\.softplus: argument 'beta' must not be 0"):
        fastact.softplus(x.astype(np.float32), beta=1e-50)
    assert fastact.softplus(x, beta=1e-50) is not None  # a float64 beta of 1e-50 is fine


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_softmax_family_of_a_zero_d_array(act):
    x = np.float32(3.0)
    for axis in (0, -1, None):
        assert_same(act.forward(_dask(x, ()), axis=axis).compute(), act.forward(x, axis=axis))


def test_integer_blocks_compute_in_float64():
    import fastact

    y = fastact.sigmoid(_dask(np.arange(-5, 5), 3))
    assert y.dtype == np.float64
    assert_same(y.compute(), fastact.sigmoid(np.arange(-5, 5)))


@pytest.mark.slow
def test_distributed_cluster_of_two_processes(rng):
    distributed = pytest.importorskip("distributed")
    import fastact

    x = (rng.standard_normal((400, 64)) * 4).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lazy = {
            "sigmoid": fastact.sigmoid(_dask(x, (100, 64))),
            "leaky_relu_backward": fastact.leaky_relu_backward(
                _dask(g, (100, 64)), _dask(x, (50, 64)), 0.2
            ),
            "softmax": fastact.softmax(_dask(x, (100, 32)), axis=-1),
        }
        got = client.compute(lazy, sync=True)
        # Both workers took part: each compiled or loaded its own kernels.
        assert len(client.scheduler_info()["workers"]) == 2
    assert_same(got["sigmoid"], fastact.sigmoid(x))
    assert_same(got["leaky_relu_backward"], fastact.leaky_relu_backward(g, x, 0.2))
    assert_same(got["softmax"], fastact.softmax(x, axis=-1))


def test_masked_rows_with_a_broadcast_mask(rng):
    import fastact

    x = rng.standard_normal((3, 2, 16, 16)).astype(np.float32)
    causal = np.tril(np.ones((16, 16), bool))
    for mask in (causal, _dask(causal, (8, 16))):
        y = fastact.softmax(_dask(x, (1, 2, 8, 16)), where=mask)
        assert_same(y.compute(), fastact.softmax(x, where=causal))
    g = rng.standard_normal(x.shape).astype(np.float32)
    y = fastact.log_softmax(x, where=causal)
    dx = fastact.log_softmax_backward(
        _dask(g, (1, 1, 16, 16)), _dask(y, (3, 2, 4, 16)), where=causal
    )
    assert_same(dx.compute(), fastact.log_softmax_backward(g, y, where=causal))
    with pytest.raises(ValueError, match="'where'"):
        fastact.softmax(_dask(x, (1, 2, 8, 16)), where=np.ones((3, 16), bool))
