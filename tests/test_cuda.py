"""The CUDA target (SPEC §5), checked against the CPU results.

Without a GPU this runs in Numba's CUDA simulator (conftest sets NUMBA_ENABLE_CUDASIM),
which costs ~3 µs per element and far more per barrier: arrays are tiny, block sizes
small, and the row-length thresholds lowered so that every row algorithm is reached.
Tests that need real device memory (CuPy, PyTorch, large sizes) are marked ``gpu``.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ELEMENTWISE_ACTS, ROWWISE_ACTS, assert_same, assert_ulp, ids, param_values
from numpy.exceptions import AxisError

pytest.importorskip("numba_cuda")  # the test extra installs it
from numba import cuda  # noqa: E402

import fastact.drivers.cuda as fc  # noqa: E402
from fastact import REGISTRY  # noqa: E402

SIM = bool(cuda.config.ENABLE_CUDASIM)
HAVE_GPU = not SIM and cuda.is_available()
gpu = pytest.mark.gpu
if SIM:
    # The simulator runs device code on NumPy scalars, which warn on inf - inf or
    # exp overflow where the GPU is silent (SPEC §4's special values are such inputs).
    pytestmark = [
        pytest.mark.filterwarnings("ignore:.*invalid value encountered:RuntimeWarning"),
        pytest.mark.filterwarnings("ignore:.*overflow encountered:RuntimeWarning"),
        pytest.mark.filterwarnings("ignore:.*divide by zero encountered:RuntimeWarning"),
    ]
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="needs a real NVIDIA GPU")

DTYPES = [np.float16, np.float32, np.float64]
# CPU and GPU use different exp/tanh implementations (libdevice on the GPU, plain Python
# math in the simulator): a few ULP apart; float16 results are rounded from float32.
ULP = {np.float16: 1, np.float32: 6, np.float64: 6}
FORMS = ["forward", "forward_", "backward", "backward_"]


@pytest.fixture(autouse=True)
def small_launches(monkeypatch, simulator_threads):
    """Small blocks: every simulated thread is a Python thread."""
    monkeypatch.setattr(fc, "MAP_THREADS", 32 if SIM else 256)
    monkeypatch.setattr(fc, "ROW_THREADS", 32 if SIM else 256)


def host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else np.asarray(a)


def _inputs(dtype, rng, n=24):
    with np.errstate(over="ignore"):
        special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1000.0, -1000.0, 1e-30, 20.0])
        x = np.concatenate([rng.uniform(-8, 8, n - special.size), special]).astype(dtype)
    return x.reshape(2, -1)


def _cpu(act, form, *arrays, axis=None, **kw):
    kw.update({} if axis is None else {"axis": axis})
    arrays = [a.copy() for a in arrays]
    return host(getattr(act, form)(*arrays, *param_values(act), target="cpu", **kw))


def _gpu(act, form, *arrays, axis=None, out=None, **kw):
    kw.update({} if axis is None else {"axis": axis})
    if out is not None:
        kw["out"] = out
    return getattr(act, form)(*arrays, *param_values(act), **kw)


def _check(act, got, want, dtype):
    if act.exact:
        assert_same(got, want)
    else:
        assert_ulp(got, want, ULP[dtype], act.name)


def _check_row_backward(got, want, g, y, axis, dtype, log=False):
    """The row backward y * (grad - dot) (log_softmax: grad - exp(y) * sum(grad)) cancels:
    bound the error by its terms' size, as the CPU and GPU sum in different orders. Rows
    with NaN or infinite y are NaN, or hold masked -inf (log_softmax): their terms are
    left out of the bound."""
    g, y = np.asarray(g, np.float64), np.asarray(y, np.float64)
    fin = np.isfinite(y)
    with np.errstate(invalid="ignore", over="ignore"):
        if log:
            e = np.where(fin, np.exp(np.minimum(y, 0)), 0)
            scale = np.abs(g) + e * np.sum(np.where(fin, np.abs(g), 0), axis=axis, keepdims=True)
        else:
            dot = np.sum(np.where(fin, np.abs(g * y), 0), axis=axis, keepdims=True)
            scale = np.where(fin, np.abs(y), 0) * (np.abs(g) + dot)
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    ok = np.isnan(want) & np.isnan(got)
    tol = 16 * np.finfo(np.float32 if dtype == np.float16 else dtype).eps * scale
    tol = tol + np.finfo(dtype).eps * np.abs(want)
    with np.errstate(invalid="ignore"):
        ok |= np.abs(got - want) <= tol
    assert ok.all(), (got[~ok], want[~ok])


def _saved(act, x):
    return _cpu(act, "forward", x) if act.saves == "output" else x


# ------------------------------------------------------------------ elementwise
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_elementwise_forms_match_cpu(act, form, dtype, rng):
    x = _inputs(dtype, rng)
    if form.startswith("forward"):
        args = [x]
    else:
        args = [rng.uniform(-2, 2, x.shape).astype(dtype), _saved(act, x)]
    want = _cpu(act, form, *args)
    dev = [cuda.to_device(a) for a in args]
    got = _gpu(act, form, *dev)
    if form.endswith("_"):
        assert got is dev[0]
    assert got.dtype == dtype and got.shape == x.shape
    _check(act, host(got), want, dtype)


# (name, view): views that work on NumPy and on device arrays alike. Real Numba device
# arrays transpose only in 2-D, by copying, so the transposed view is simulator-only.
LAYOUTS = [
    ("strided", lambda a: a[:, ::2, :]),
    ("negative", lambda a: a[::-1, :, ::-1]),
    ("1d-strided", lambda a: a[1, 1:, 0]),
] + ([("transposed", lambda a: a.transpose((2, 0, 1)))] if SIM else [])


@pytest.mark.parametrize("act", ELEMENTWISE_ACTS, ids=ids)
def test_elementwise_layouts(act, rng):
    base = rng.uniform(-4, 4, (2, 4, 3)).astype(np.float32)
    f = np.asfortranarray(base)
    for name, view in [("F", lambda a: a), *LAYOUTS]:
        b = f if name == "F" else base
        x = np.ascontiguousarray(view(b))
        want = _cpu(act, "forward", x)
        dev = cuda.to_device(b)
        _check(act, host(_gpu(act, "forward", view(dev))), want, np.float32)
        # into a strided float64 destination
        out = cuda.to_device(np.zeros(x.shape + (2,)))[..., 0]
        assert _gpu(act, "forward", view(dev), out=out) is out
        _check(act, host(out).astype(np.float32), want, np.float32)
        g = rng.uniform(-1, 1, x.shape).astype(np.float32)
        saved = _saved(act, x)
        gb = np.zeros_like(b)
        view(gb)[...] = g
        dg = cuda.to_device(gb)
        got = _gpu(act, "backward", view(dg), cuda.to_device(saved))
        _check(act, host(got), _cpu(act, "backward", g, saved), np.float32)
        # in place on the view: the rest of the array is untouched
        want_all = b.copy()
        view(want_all)[...] = want
        assert _gpu(act, "forward_", view(dev)) is not None
        _check(act, host(dev), want_all, np.float32)


def test_elementwise_overlapping_out(rng):
    act = ELEMENTWISE_ACTS[0]
    x = rng.uniform(-3, 3, 20)
    want = x.copy()
    want[1:] = _cpu(act, "forward", x[:-1])
    d = cuda.to_device(x)
    _gpu(act, "forward", d[:-1], out=d[1:])
    _check(act, host(d), want, np.float64)


def test_integer_and_mixed_dtypes(rng):
    act = ELEMENTWISE_ACTS[0]
    x = np.arange(-3, 4)
    got = _gpu(act, "forward", cuda.to_device(x))
    assert got.dtype == np.float64
    _check(act, host(got), _cpu(act, "forward", x), np.float64)
    g32 = rng.uniform(-1, 1, 7).astype(np.float32)
    s64 = _saved(act, x.astype(np.float64))
    got = _gpu(act, "backward", cuda.to_device(g32), cuda.to_device(s64))
    assert got.dtype == np.float64
    _check(act, host(got), _cpu(act, "backward", g32, s64), np.float64)


def test_zero_size_and_0d():
    act = ELEMENTWISE_ACTS[0]
    empty = cuda.to_device(np.zeros((0, 3), np.float32))
    assert _gpu(act, "forward", empty).shape == (0, 3)
    x = np.array(0.5, np.float32)
    got = _gpu(act, "forward", cuda.to_device(x))
    assert got.shape == ()
    _check(act, host(got), _cpu(act, "forward", x), np.float32)


# ------------------------------------------------------------------ softmax family
# Threshold settings that send a row of length n <= 9 down each algorithm.
PATHS = {"warp": (1024, 1024), "block": (1, 1024), "online": (1, 1)}


# Each family member down one algorithm here (every axis), and down every algorithm in
# test_row_paths_with_where: the simulator takes ~10 s per case.
@pytest.mark.parametrize(
    "act, path", list(zip(ROWWISE_ACTS, PATHS, strict=True)), ids=lambda v: getattr(v, "name", v)
)
def test_row_paths_and_axes(act, path, monkeypatch, rng):
    monkeypatch.setattr(fc, "WARP_ROW_MAX", PATHS[path][0])
    monkeypatch.setattr(fc, "BLOCK_ROW_MAX", PATHS[path][1])
    x = rng.normal(0, 3, (2, 3, 2)).astype(np.float32)
    x[0, 1, 0] = -np.inf  # a -inf in a row is a zero
    for axis in (-1, 1, None):  # axis 1 of 3: strided rows between outer and inner
        want = _cpu(act, "forward", x, axis=axis)
        got = _gpu(act, "forward", cuda.to_device(x), axis=axis)
        _check(act, host(got), want, np.float32)
        g = rng.normal(size=x.shape).astype(np.float32)
        want_b = _cpu(act, "backward", g, want, axis=axis)
        dg = cuda.to_device(g)
        assert _gpu(act, "backward_", dg, cuda.to_device(want), axis=axis) is dg
        _check_row_backward(host(dg), want_b, g, want, axis, np.float32, act.row_family[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_row_forms_dtypes_and_specials(act, dtype, rng):
    x = rng.normal(0, 2, (4, 5)).astype(dtype)
    x[1, 2] = np.nan  # NaN in, NaN row out
    x[2, 0] = np.inf  # +inf: NaN row, as in PyTorch
    x[3, :] = -np.inf  # only -inf: NaN row
    for form in FORMS:
        args = [x] if form.startswith("forward") else [rng.normal(size=x.shape).astype(dtype), x]
        if form.startswith("backward"):
            args[1] = _cpu(act, "forward", x)
        want = _cpu(act, form, *args)
        dev = [cuda.to_device(a) for a in args]
        got = _gpu(act, form, *dev)
        assert got.dtype == dtype
        if form.startswith("backward"):
            _check_row_backward(host(got), want, *args, -1, dtype, act.row_family[1])
        else:
            _check(act, host(got), want, dtype)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("act", [a for a in ROWWISE_ACTS if a.takes_where], ids=ids)
def test_row_paths_with_where(act, path, monkeypatch, rng):
    # A (T, n) mask against (B, T, n), a row with nothing unmasked; device and host masks.
    monkeypatch.setattr(fc, "WARP_ROW_MAX", PATHS[path][0])
    monkeypatch.setattr(fc, "BLOCK_ROW_MAX", PATHS[path][1])
    x = rng.normal(0, 3, (2, 3, 5)).astype(np.float32)
    mask = np.tril(np.ones((3, 5), bool))
    mask[1] = False
    want = _cpu(act, "forward", x, where=mask)
    got = _gpu(act, "forward", cuda.to_device(x), where=cuda.to_device(mask))
    _check(act, host(got), want, np.float32)
    d = cuda.to_device(x)
    assert _gpu(act, "forward_", d, where=mask) is d
    _check(act, host(d), want, np.float32)
    g = rng.normal(size=x.shape).astype(np.float32)
    want_b = _cpu(act, "backward", g, want, where=mask)
    dg = cuda.to_device(g)
    assert _gpu(act, "backward_", dg, cuda.to_device(want), where=mask) is dg
    assert (host(dg)[:, ~mask] == 0).all()
    _check_row_backward(host(dg), want_b, g, want, -1, np.float32, act.row_family[1])
    # axis=0 with a mask broadcast along the last axis, from NumPy input.
    m0 = rng.random((2, 3, 1)) < 0.6
    got = act.forward(x, axis=0, where=m0, target="cuda")
    _check(act, got, _cpu(act, "forward", x, axis=0, where=m0), np.float32)


@pytest.mark.parametrize("path", ["block", "online"])
def test_row_block_paths_multiwarp(path, monkeypatch, rng):
    """Two warps per block, rows longer than the block: cross-warp reductions and threads
    that own several elements (and, with 9-element rows, threads that own none)."""
    monkeypatch.setattr(fc, "ROW_THREADS", 64)
    monkeypatch.setattr(fc, "WARP_ROW_MAX", PATHS[path][0])
    monkeypatch.setattr(fc, "BLOCK_ROW_MAX", PATHS[path][1])
    for act in ROWWISE_ACTS:
        x = rng.normal(0, 4, (1, 70)).astype(np.float64)
        _check(
            act, host(_gpu(act, "forward", cuda.to_device(x))), _cpu(act, "forward", x), np.float64
        )
        g = rng.normal(size=x.shape)
        y = _cpu(act, "forward", x)
        got = _gpu(act, "backward", cuda.to_device(g), cuda.to_device(y))
        want = _cpu(act, "backward", g, y)
        _check_row_backward(host(got), want, g, y, -1, np.float64, act.row_family[1])


def test_row_warp_path_several_rows_per_block(monkeypatch, rng):
    monkeypatch.setattr(fc, "ROW_THREADS", 64)
    for act in ROWWISE_ACTS:
        x = rng.normal(0, 4, (3, 40)).astype(np.float32)  # 3 rows on 2 warps; 40 > 32 lanes
        _check(
            act, host(_gpu(act, "forward", cuda.to_device(x))), _cpu(act, "forward", x), np.float32
        )


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_row_noncontiguous_and_out(act, rng):
    base = rng.normal(0, 2, (3, 4)).astype(np.float32)
    dev = cuda.to_device(base).T  # non-contiguous: copied to a temporary
    want = _cpu(act, "forward", np.ascontiguousarray(base.T), axis=0)
    out = cuda.to_device(np.zeros((8, 3)))[::2]  # strided float64 destination
    assert _gpu(act, "forward", dev, axis=0, out=out) is out
    np.testing.assert_allclose(host(out), want, rtol=1e-6)
    d = cuda.to_device(base)
    assert _gpu(act, "forward_", d) is d  # in place: out is the input
    _check(act, host(d), _cpu(act, "forward", base), np.float32)


# ------------------------------------------------------------------ NumPy input
@pytest.mark.parametrize("act", [*ELEMENTWISE_ACTS[:1], *ROWWISE_ACTS], ids=ids)
def test_numpy_input_is_copied_to_the_device_and_back(act, rng):
    x = rng.normal(size=(2, 3)).astype(np.float32)
    want = _cpu(act, "forward", x)
    got = act.forward(x, *param_values(act), target="cuda")
    assert isinstance(got, np.ndarray)
    _check(act, got, want, np.float32)
    out = np.zeros((3, 2), np.float64).T
    assert act.forward(x, *param_values(act), out=out, target="cuda") is out
    _check(act, out.astype(np.float32), want, np.float32)
    y = x.copy()
    assert act.forward_(y, *param_values(act), target="cuda") is y
    _check(act, y, want, np.float32)


# ------------------------------------------------------------------ bad input
def _expect(exc, fname, arg, fn, *args, **kw):
    devs = [a for a in (*args, *kw.values()) if hasattr(a, "copy_to_host")]
    hosts = [a for a in (*args, *kw.values()) if isinstance(a, np.ndarray)]
    before = [host(a) for a in devs] + [a.copy() for a in hosts]
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    msg = str(info.value)
    assert f"fastact.{fname}" in msg, msg
    assert arg is None or f"'{arg}'" in msg, msg
    for a, b in zip([host(a) for a in devs] + hosts, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_input_names_function_and_argument():
    act = ELEMENTWISE_ACTS[0]
    n = act.name
    x = np.linspace(-1, 1, 6)
    d, d2, dout = (cuda.to_device(x) for _ in range(3))
    fwd, bwd, bwd_ = act.forward, act.backward, act.backward_
    _expect(TypeError, n, "out", fwd, d, out=np.zeros(6))  # device in, host out
    _expect(TypeError, n, "out", fwd, x, out=dout, target="cuda")  # host in, device out
    _expect(TypeError, n + "_backward", "saved", bwd, d, x)  # grad and saved apart
    _expect(TypeError, n + "_backward", "grad", bwd, x, d)
    _expect(ValueError, n + "_backward", "saved", bwd, d, cuda.to_device(x[:5]))
    _expect(ValueError, n + "_backward_", "saved", bwd_, d, cuda.to_device(x[:5]))
    _expect(ValueError, n, "out", fwd, d, out=cuda.to_device(np.zeros(5)))
    _expect(TypeError, n, "out", fwd, d, out=cuda.to_device(np.zeros(6, np.int32)))
    _expect(TypeError, n, "x", fwd, cuda.to_device(x.astype(complex)), out=d2)
    _expect(TypeError, n + "_", "x", act.forward_, cuda.to_device(np.arange(6)))
    for rows in ROWWISE_ACTS:
        _expect(AxisError, rows.name, "axis", rows.forward, d, axis=1, out=dout)
    ragged = [[1.0], [1.0, 2.0]]  # host input goes through the CPU path's conversion
    _expect(ValueError, n, "x", fwd, ragged, target="cuda")
    _expect(ValueError, n, "x", fwd, ragged, bias=np.zeros(1), target="cuda")
    _expect(ValueError, "glu", "x", REGISTRY["glu"].forward, ragged, target="cuda")


def test_without_numba_cuda_target_cuda_raises_clearly(monkeypatch):
    import fastact.drivers

    monkeypatch.setitem(sys.modules, "numba_cuda", None)  # `import numba_cuda` fails
    monkeypatch.delitem(sys.modules, "fastact.drivers.cuda")
    monkeypatch.delattr(fastact.drivers, "cuda")
    act = ELEMENTWISE_ACTS[0]
    x = np.ones(3)
    with pytest.raises(RuntimeError, match=rf"fastact\.{act.name}_?: .*fastact\[cuda\]"):
        act.forward(x, *param_values(act), target="cuda")
    with pytest.raises(RuntimeError, match="numba-cuda"):
        act.forward_(x, *param_values(act), target="cuda")
    np.testing.assert_array_equal(x, 1.0)


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a GPU is present")
def test_without_gpu_target_cuda_raises_clearly():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = (
        "import numpy as np, fastact\n"
        "try:\n"
        "    fastact.relu(np.ones(3), target='cuda')\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "fastact.relu: target='cuda' found no usable CUDA GPU" in r.stdout


# ------------------------------------------------------------------ composability
# numba-cuda warns about grids under 128 blocks on a real GPU (NumbaPerformanceWarning).
BLOCKS = 1 if SIM else 128


def _user_kernel(kernel):
    """A user's own @cuda.jit kernel calling a public scalar kernel."""

    @cuda.jit
    def user(x, out, params):
        i = cuda.grid(1)
        if i < x.size:
            out[i] = kernel(x[i], *params)

    return user


def _user_row_kernel(kernel):
    @cuda.jit
    def user(x, out):
        r = cuda.grid(1)
        if r < x.shape[0]:
            kernel(x[r], out[r])  # one thread per row: the CPU row kernel, as is

    return user


@pytest.mark.parametrize("act", [*ELEMENTWISE_ACTS, *ROWWISE_ACTS], ids=ids)
def test_public_kernels_in_users_cuda_jit(act, rng):
    x = rng.uniform(-4, 4, (2, 5))
    out = cuda.to_device(np.zeros_like(x))
    if act.kind == "rowwise":
        _user_row_kernel(act.forward_kernel)[BLOCKS, 32](cuda.to_device(x), out)
    else:
        values = zip(act.params, param_values(act), strict=True)
        params = tuple(np.float64(v) for p, v in values if not p.is_choice)
        kernel = act.kernel("forward", act.choice.default if act.choice else None)
        x = x.ravel()
        out = cuda.to_device(np.zeros_like(x))
        _user_kernel(kernel)[BLOCKS, 32](cuda.to_device(x), out, params)
    want = _cpu(act, "forward", x)
    assert_ulp(host(out), want, ULP[np.float64], act.name)


# ------------------------------------------------------------------ real GPU only
@gpu
@needs_gpu
@pytest.mark.parametrize("act", [*ELEMENTWISE_ACTS, *ROWWISE_ACTS], ids=ids)
def test_cupy_zero_copy_and_stream(act, rng):
    cp = pytest.importorskip("cupy")
    x = rng.normal(size=(64, 1000)).astype(np.float32)
    with cp.cuda.Stream(non_blocking=True):
        cx = cp.asarray(x)
        got = act.forward(cx, *param_values(act))
        assert isinstance(got, cp.ndarray)
        out = cp.empty_like(cx)
        assert act.forward(cx, *param_values(act), out=out) is out
        assert act.forward_(cx, *param_values(act)) is cx
        res = [cp.asnumpy(a) for a in (got, out, cx)]
    want = _cpu(act, "forward", x)
    for r in res:
        _check(act, r, want, np.float32)


@gpu
@needs_gpu
@pytest.mark.parametrize("act", [*ELEMENTWISE_ACTS, *ROWWISE_ACTS], ids=ids)
def test_torch_zero_copy_and_stream(act, rng):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    x = rng.normal(size=(64, 1000)).astype(np.float32)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        tx = torch.from_numpy(x).cuda()
        got = act.forward(tx, *param_values(act))
        assert isinstance(got, torch.Tensor) and got.device == tx.device
        out = torch.empty_like(tx)
        assert act.forward(tx, *param_values(act), out=out) is out
        g = torch.randn_like(tx)
        saved = got if act.saves == "output" else tx
        gb = act.backward(g, saved, *param_values(act))
        assert isinstance(gb, torch.Tensor)
        res = [a.cpu().numpy() for a in (got, out)]
        res_b = gb.cpu().numpy()
        g_h = g.cpu().numpy()
    want = _cpu(act, "forward", x)
    for r in res:
        _check(act, r, want, np.float32)
    _check(act, res_b, _cpu(act, "backward", g_h, _saved(act, x)), np.float32)


@gpu
@needs_gpu
@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
@pytest.mark.parametrize("shape", [(4096, 10), (64, 1000), (64, 20000), (2, 1_000_000)])
def test_large_rows_on_gpu(act, shape, rng):
    x = rng.normal(0, 3, shape).astype(np.float32)
    got = act.forward(cuda.to_device(x))
    _check(act, got.copy_to_host(), _cpu(act, "forward", x), np.float32)


@pytest.mark.parametrize("path", ["warp", "block"])
def test_log_softmax_dominant_element_keeps_its_accuracy(path, monkeypatch, rng):
    # -log(1 + tiny): the 1s are summed apart from the tiny exps, as on the CPU, so the
    # result keeps the tiny sum's relative accuracy (a plain sum and log lose it all).
    monkeypatch.setattr(fc, "WARP_ROW_MAX", PATHS[path][0])
    monkeypatch.setattr(fc, "BLOCK_ROW_MAX", PATHS[path][1])
    act = next(a for a in ROWWISE_ACTS if a.row_family == (1, True))
    x = rng.uniform(-43, -40, (2, 9))
    x[:, 0] = 0.0
    got = host(_gpu(act, "forward", cuda.to_device(x)))
    want = -np.log1p(np.exp(x[:, 1:]).sum(axis=1))  # ~1e-18: no cancellation left here
    assert_ulp(got[:, 0], want, 4, "dominant element")
