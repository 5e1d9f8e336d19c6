"""The benchmark report and the asv suite: coverage guards, baselines, a tiny report run."""

import json
from pathlib import Path

import numpy as np
import pytest

import fastact
from fastact import bench, bench_baselines
from fastact.registry import ELEMENTWISE, REQUIRED, Activation, Param

ROOT = Path(__file__).resolve().parent.parent


def _fake(name="fake", kind=ELEMENTWISE, params=()):
    return Activation(
        name=name,
        kind=kind,
        forward_kernel=None,
        backward_kernel=None,
        saves="input",
        reference=lambda x, *p: x,
        reference_backward=lambda g, x, *p: g,
        params=params,
    )


def test_baselines_cover_the_registry():
    bench_baselines.check_coverage()
    assert set(fastact.REGISTRY) <= set(bench_baselines.BASELINES)


def test_guard_names_a_function_without_baseline():
    registry = dict(fastact.REGISTRY, fake=_fake())
    with pytest.raises(ImportError, match="fake: no entry"):
        bench_baselines.check_coverage(registry)


def test_guard_names_an_unknown_kind_and_a_missing_parameter_value():
    baselines = dict(bench_baselines.BASELINES, odd=bench_baselines.BASELINES["relu"])
    baselines["thr"] = bench_baselines.BASELINES["relu"]
    odd = _fake("odd")
    odd.kind = "pairwise"  # a kind of the future (glu, prelu, ...)
    registry = {"odd": odd, "thr": _fake("thr", params=(Param("threshold", REQUIRED),))}
    with pytest.raises(ImportError) as e:
        bench_baselines.check_coverage(registry, baselines)
    assert "odd: kind 'pairwise'" in str(e.value)
    assert "thr: parameter 'threshold'" in str(e.value)


@pytest.mark.parametrize("name", list(fastact.REGISTRY))
@pytest.mark.parametrize("form", bench_baselines.FORMS)
def test_baselines_compute_the_same_thing(name, form):
    """The NumPy and PyTorch baselines agree with the reference: like is compared with
    like. (fastact's own forms are tested elsewhere; compiling them all here is slow.)"""
    act = fastact.REGISTRY[name]
    backward = form.startswith("backward")
    p = bench_baselines.params(act)
    shape = (6, 50)
    ref_in = bench_baselines.make_inputs(act, "backward" if backward else "forward", "f8", shape)
    ref = (act.reference_backward if backward else act.reference)(*ref_in, *p)
    for impl in ("numpy", "torch"):
        arrays = tuple(a.copy() for a in ref_in)
        try:
            fn = bench_baselines.candidate(act, form, impl, arrays)
        except NotImplementedError:
            continue
        result, want = fn(), ref
        if act.array_param is not None and backward:  # (grad_input, grad_param)
            np.testing.assert_allclose(np.asarray(result[1]), ref[1], rtol=1e-6, err_msg=impl)
            result, want = result[0], ref[0]
        result = arrays[0] if form.endswith("_") else np.asarray(result)
        # Loose: the naive NumPy expressions cancel where the references do not.
        np.testing.assert_allclose(result, want, rtol=1e-6, atol=1e-12, err_msg=impl)


@pytest.mark.parametrize("name", ["relu", "sigmoid"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_bias_peers_compute_the_same_thing(name, direction):
    act = fastact.REGISTRY[name]
    g, *rest = arrays = bench_baselines.bias_inputs(act, direction, "f8", (6, 50))
    b = arrays[-1]
    if direction == "forward":
        want = act.reference(g + b)
    else:
        want = act.reference_backward(g, rest[0])
        want = (want, want.sum(axis=0))
    for impl in ("numpy", "torch", "fastact-separate"):
        try:
            fn = bench_baselines.bias_candidate(act, direction, impl, arrays)
        except NotImplementedError:
            continue
        got = fn()
        if direction == "backward":
            np.testing.assert_allclose(np.asarray(got[-1]), want[1], rtol=1e-9, err_msg=impl)
            if impl != "fastact-separate":
                np.testing.assert_allclose(np.asarray(got[0]), want[0], rtol=1e-9)
        else:
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, err_msg=impl)


def test_report_runs_quick_on_tiny_sizes(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = bench.main(["--quick", "--only", "relu", "--sizes", "100,1000", "--json", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "8/8" in captured.err  # the progress bar, on stderr
    table = [line for line in captured.out.splitlines() if line.startswith("| relu")]
    assert len(table) == 8  # 2 directions x 2 dtypes x 2 sizes
    assert "| relu | backward | float64 | 1e3 |" in captured.out
    data = json.loads(out.read_text())
    assert len(data["rows"]) == 8
    row = data["rows"][0]
    assert row["fastact_s"] > 0 and row["numpy_s"] > 0 and row["copy_fraction"] > 0
    assert data["meta"]["numba_threads"] >= 1


def test_report_runs_a_function_without_in_place_forms(tmp_path, capsys):
    # glu: its result has half the input's length, out= and the copy floor follow.
    out = tmp_path / "report.json"
    assert bench.main(["--quick", "--only", "glu", "--sizes", "1000", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 4 and all(r["fastact_s"] > 0 and r["copy_s"] > 0 for r in rows)


def test_asv_skips_forms_a_function_does_not_have(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    suite = pytest.importorskip("benchmarks.bench_activations")
    label = bench_baselines.label(fastact.REGISTRY["glu"])
    with pytest.raises(NotImplementedError):
        suite.Halves().setup(label, "forward_", "float32", 1_000, "fastact-cpu")
    with pytest.raises(NotImplementedError):
        suite.Small().setup(label, "forward", "float32", 1, "fastact-cpu")  # odd length
    suite.Halves().setup(label, "backward", "float32", 1_000, "fastact-cpu")
    # The GPU benchmark too (the simulator stands in for a GPU here).
    monkeypatch.setattr(suite, "_cuda_ready", lambda: True)
    for form in ("forward_", "backward_"):
        with pytest.raises(NotImplementedError, match="no .* form"):
            suite.Cuda().setup(label, form, "float32", "1e3")


def test_report_rejects_unknown_function(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--only", "nonesuch"])
    assert "nonesuch" in capsys.readouterr().err


def test_asv_suite_covers_every_function_and_form(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    suite = pytest.importorskip("benchmarks.bench_activations")
    for act in fastact.REGISTRY.values():
        timed = suite.Elementwise.params[0] + suite.Rowwise.params[0] + suite.Halves.params[0]
        assert bench_baselines.label(act) in timed
    suite._check_suite()
    extra = dict(fastact.REGISTRY, fake=_fake())
    monkeypatch.setattr(suite.fastact, "REGISTRY", extra)
    with pytest.raises(ImportError, match="fake, fake_, fake_backward, fake_backward_"):
        suite._check_suite()


def test_asv_timed_setup_gives_in_place_forms_fresh_input(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    suite = pytest.importorskip("benchmarks.bench_activations")
    args = ("sigmoid()", "forward_", "float64", 1_000, "fastact-cpu")
    bench_obj = suite.Elementwise()
    bench_obj.setup(*args)
    first = suite._pristine[next(iter(suite._pristine))][0].copy()
    bench_obj.time_call(*args)
    bench_obj.setup(*args)  # what asv does before every timed call
    np.testing.assert_array_equal(suite._pristine[next(iter(suite._pristine))][0], first)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    rows = [
        {"function": f, "form": d, "size": s, "speedup_numpy": 2.0, "speedup_torch": None}
        for f in ("relu", "softmax")
        for d in ("forward", "backward")
        for s in ("1e3", "1e5")
    ]
    path = tmp_path / "speedups.png"
    bench.plot(rows, str(path), has_torch=True)
    assert path.read_bytes()[:4] == b"\x89PNG"
