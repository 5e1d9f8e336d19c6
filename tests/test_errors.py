"""Bad input (SPEC §3): the right exception, a message naming the function and the
argument, and not one element written to any array the call was given."""

import warnings

import numpy as np
import pytest
from conftest import ALL, IN_PLACE, ROWWISE_ACTS, assert_same, ids, param_values
from numpy.exceptions import AxisError

import fastact
from fastact.dispatch import make_public
from fastact.registry import ELEMENTWISE, Activation, Param


def _arrays(n=6):
    x = np.linspace(-2, 2, n)
    return x, x * 0.5 + 0.1, np.full(n, 7.0)


def expect(exc, fname, arg, fn, *arrays_and_args, **kw):
    """Call fn, check exception and message, and that no ndarray argument changed."""
    arrays = [a for a in list(arrays_and_args) + list(kw.values()) if isinstance(a, np.ndarray)]
    before = [a.copy() for a in arrays]
    with pytest.raises(exc) as info:
        fn(*arrays_and_args, **kw)
    msg = str(info.value)
    assert f"fastact.{fname}" in msg, msg
    assert arg is None or f"'{arg}'" in msg, msg
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_bad_dtypes(act):
    p = param_values(act)
    x, s, out = _arrays()
    for bad in [
        x.astype(complex),
        np.array(["a", "b"]),
        np.array([1, None], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ]:
        expect(TypeError, act.name, "x", act.forward, bad, *p)
        expect(TypeError, act.name + "_backward", "grad", act.backward, bad, bad.copy(), *p)
        expect(
            TypeError, act.name + "_backward", "saved", act.backward, np.ones(bad.shape), bad, *p
        )
    expect(TypeError, act.name, "x", act.forward, x + 1j, *p, out=out)


@pytest.mark.parametrize("act", IN_PLACE, ids=ids)
def test_in_place_needs_a_writeable_floating_array(act):
    p = param_values(act)
    x, s, _ = _arrays()
    for name, fn, args in [("", act.forward_, ()), ("_backward", act.backward_, (s,))]:
        arg = "x" if name == "" else "grad"
        for bad in [np.arange(6), np.ones(6, bool), np.arange(6, dtype=np.uint8)]:
            expect(TypeError, act.name + name + "_", arg, fn, bad, *args, *p)
        expect(TypeError, act.name + name + "_", arg, fn, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], *args, *p)
        ro = x.copy()
        ro.flags.writeable = False
        expect(ValueError, act.name + name + "_", arg, fn, ro, *args, *p)


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_bad_out(act):
    p = param_values(act)
    x, s, out = _arrays()
    expect(ValueError, act.name, "out", act.forward, x, *p, out=np.zeros(5))
    expect(ValueError, act.name, "out", act.forward, x, *p, out=np.zeros((6, 1)))
    expect(TypeError, act.name, "out", act.forward, x, *p, out=np.zeros(6, np.int64))
    expect(TypeError, act.name, "out", act.forward, x, *p, out=[0.0] * 6)
    ro = out.copy()
    ro.flags.writeable = False
    expect(ValueError, act.name, "out", act.forward, x, *p, out=ro)
    g = act.forward(x, *p)  # of the forward result's shape
    expect(ValueError, act.name + "_backward", "out", act.backward, g, s, *p, out=np.zeros(7))


@pytest.mark.parametrize("act", IN_PLACE, ids=ids)  # grad of the input's shape (glu: test_glu)
def test_grad_and_saved_shapes_must_match(act):
    p = param_values(act)
    x, s, out = _arrays()
    expect(ValueError, act.name + "_backward", "saved", act.backward, x, s[:5], *p, out=out)
    expect(ValueError, act.name + "_backward_", "saved", act.backward_, x, s.reshape(2, 3), *p)


@pytest.mark.parametrize("act", ALL, ids=ids)
def test_bad_target_and_parameters(act):
    p = param_values(act)
    x, s, out = _arrays()
    expect(ValueError, act.name, "target", act.forward, x, *p, out=out, target="gpu")
    if "forward_" in act.form_kinds:
        expect(ValueError, act.name + "_", "target", act.forward_, x, *p, target="CPU")
    for i, param in enumerate(act.params):
        bad = list(p)
        # A choice parameter takes one of its strings (anything else: ValueError listing
        # them); a numeric one a number.
        bad[i] = 0.1 if param.is_choice else "0.1"
        expect(TypeError, act.name, param.name, act.forward, x, *bad, out=out)
        expect(TypeError, act.name + "_backward_", param.name, act.backward_, x, s, *bad)
        if param.is_choice:
            bad[i] = "bogus"
            for f in (act.forward, act.backward_):
                with pytest.raises(ValueError) as info:
                    f(*((x,) if f is act.forward else (x, s)), *bad)
                assert all(repr(c) in str(info.value) for c in param.choices), info.value
    expect(TypeError, act.name, None, act.forward, x, *p, 1.0, 2.0, 3.0)
    expect(TypeError, act.name, None, act.forward, x, *p, out=out, bogus=1)


@pytest.mark.parametrize("act", ROWWISE_ACTS, ids=ids)
def test_bad_axis(act):
    x = np.ones((2, 3))
    out = np.zeros((2, 3))
    for axis in [2, -3]:
        expect(AxisError, act.name, "axis", act.forward, x, axis=axis, out=out)
        expect(AxisError, act.name + "_backward_", "axis", act.backward_, out, x, axis=axis)
    expect(TypeError, act.name, "axis", act.forward, x, axis=1.0, out=out)
    expect(TypeError, act.name, "axis", act.forward, x, axis=(0, 1), out=out)
    expect(AxisError, act.name, "axis", act.forward, np.array(1.0), axis=1)
    with pytest.raises(AxisError, match="for a 0-d array"):
        act.forward(np.array(1.0), axis=1)


def test_parameter_check_hook_raises_value_error():
    # Tier-1 parameters accept any real; the hook (hardtanh's min_val > max_val, softplus'
    # beta == 0) is exercised on a throwaway record built like a registered one.
    relu = fastact.REGISTRY["leaky_relu"]
    act = Activation(
        name="checked",
        kind=ELEMENTWISE,
        forward_kernel=relu.forward_kernel,
        backward_kernel=relu.backward_kernel,
        saves="input",
        reference=relu.reference,
        reference_backward=relu.reference_backward,
        params=(Param("negative_slope", 0.1),),
        check=lambda s, dtype=None: (
            "argument 'negative_slope' must not be negative" if s < 0 else None
        ),
    )
    forms = make_public(act)
    x, _, out = _arrays()
    expect(ValueError, "checked", "negative_slope", forms["checked"], x, -1.0, out=out)
    expect(ValueError, "checked_", "negative_slope", forms["checked_"], x, -1.0)
    np.testing.assert_array_equal(forms["checked"](x, 0.5), relu.forward(x, 0.5))


def test_cuda_target_without_numba_cuda_gives_a_clear_error(monkeypatch):
    import sys

    import fastact.drivers

    monkeypatch.setitem(sys.modules, "fastact.drivers.cuda", None)  # import fails
    monkeypatch.delattr(fastact.drivers, "cuda", raising=False)
    x, _, out = _arrays()
    expect(RuntimeError, "sigmoid", None, fastact.sigmoid, x, out=out, target="cuda")
    with pytest.raises(RuntimeError, match="fastact\\[cuda\\]"):
        fastact.relu_(x, target="cuda")


# Parameter values that make no sense (SPEC §2.2), and the parameter each error names.
NONSENSE = {
    "hardtanh": ({"min_val": 2.0, "max_val": 1.0}, "min_val"),
    "softshrink": ({"lambd": -0.5}, "lambd"),
    "softplus": ({"beta": 0.0}, "beta"),
    "celu": ({"alpha": -0.0}, "alpha"),
    "hardtanh_nan": ({"min_val": np.nan, "max_val": 1.0}, "min_val"),  # PyTorch: all NaN
    # NaN or inf scale every result into NaN or inf (PyTorch: NaN at some x, limits at others)
    "softplus_inf": ({"beta": np.inf}, "beta"),
    "softplus_nan": ({"beta": np.nan}, "beta"),
    "elu_nan": ({"alpha": np.nan}, "alpha"),
    "elu_inf": ({"alpha": -np.inf}, "alpha"),
    "celu_inf": ({"alpha": np.inf}, "alpha"),
}


@pytest.mark.parametrize("key", NONSENSE)
def test_nonsense_parameters_raise_in_every_form(key):
    name = key.split("_")[0]
    act = fastact.REGISTRY[name]
    params, arg = NONSENSE[key]
    x, s, out = _arrays()
    expect(ValueError, name, arg, act.forward, x, **params)
    expect(ValueError, name, arg, act.forward, x, **params, out=out)
    expect(ValueError, name + "_", arg, act.forward_, x, **params)
    expect(ValueError, name + "_backward", arg, act.backward, x, s, **params)
    expect(ValueError, name + "_backward_", arg, act.backward_, x, s, **params)


def test_required_parameters_are_required():
    x = np.ones(3)
    with pytest.raises(
        TypeError, match=r"fastact\.threshold\(\) missing required argument 'threshold'"
    ):
        fastact.threshold(x)
    with pytest.raises(TypeError, match="missing required argument 'value'"):
        fastact.threshold(x, 0.5)
    np.testing.assert_array_equal(fastact.threshold(x, 1.0, -2.0), [-2.0, -2.0, -2.0])


# Values that make sense as given but not as the compute dtype rounds them: 1e-50 is 0 in
# float32, 1e-39 and 1e-320 are subnormals whose reciprocal (the kernels divide by beta and
# alpha) overflows.
@pytest.mark.parametrize(
    "name, params, dtype",
    [
        ("softplus", {"beta": 1e-50}, np.float32),
        ("celu", {"alpha": 1e-39}, np.float32),
        ("softplus", {"beta": 1e-320}, np.float64),
        ("elu", {"alpha": 1e39}, np.float32),  # inf once rounded
    ],
)
def test_parameters_are_checked_as_the_compute_dtype_rounds_them(name, params, dtype):
    act = fastact.REGISTRY[name]
    arg = next(iter(params))
    x, s, out = (a.astype(dtype) for a in _arrays())
    expect(ValueError, name, arg, act.forward, x, **params, out=out)
    expect(ValueError, name + "_", arg, act.forward_, x, **params)
    expect(ValueError, name + "_backward", arg, act.backward, x, s, **params)
    # float16 computes in float32: the same rounding, the same check
    expect(ValueError, name, arg, act.forward, x.astype(np.float16), **params)


def test_rounding_parameters_and_results_is_quiet():
    # SPEC §4: no floating-point warnings, whatever NumPy's error state; 1e300 rounds to
    # inf in float32 as in PyTorch, float16 results to inf and 0.
    x32 = np.array([-1.0, 2.0], np.float32)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        assert_same(fastact.threshold(x32, 0.0, 1e300), np.array([np.inf, 2.0], np.float32))
        assert_same(
            fastact.relu(x32, bias=np.array([1e300, 0.0])), np.array([np.inf, 2.0], np.float32)
        )
        assert_same(fastact.sigmoid(np.array([-20.0], np.float16)), np.zeros(1, np.float16))
        x16 = np.array([-60000.0, 1.0], np.float16)
        assert fastact.leaky_relu_(x16, 2.0) is x16
        assert_same(x16, np.array([-np.inf, 1.0], np.float16))
        g = np.full((2, 1), 3e38, np.float32)
        _, gb = fastact.relu_backward(g, np.ones_like(g), bias=np.zeros(1, np.float32))
        assert_same(gb, np.array([np.inf], np.float32))


def test_what_numpy_cannot_take_is_named():
    ragged = [[1.0, 2.0], [3.0]]
    x = np.ones(2)
    expect(ValueError, "relu", "x", fastact.relu, ragged)
    expect(ValueError, "relu_backward", "saved", fastact.relu_backward, x, ragged)
    expect(ValueError, "softmax", "where", fastact.softmax, np.ones((2, 2)), where=ragged)
    expect(OverflowError, "leaky_relu", "negative_slope", fastact.leaky_relu, x, 10**400)
    torch = pytest.importorskip("torch")
    t = torch.ones(3, requires_grad=True)
    expect(TypeError, "sigmoid", "x", fastact.sigmoid, t)
    expect(TypeError, "glu", "x", fastact.glu, torch.ones(4, requires_grad=True))


def test_a_cached_parameter_value_does_not_let_another_type_through():
    # The memo of converted parameters is keyed by value: 1.0 == 1+0j == True. A complex (or
    # a Decimal, not a numbers.Real) must raise even after an equal float was cached.
    x = np.linspace(-2, 2, 8)
    fastact.leaky_relu(x, 1.0)
    fastact.leaky_relu(x, 0.5)
    with pytest.raises(TypeError, match="leaky_relu.*'negative_slope'"):
        fastact.leaky_relu(x, 1 + 0j)
    with pytest.raises(TypeError, match="leaky_relu.*'negative_slope'"):
        fastact.leaky_relu(x, __import__("decimal").Decimal("0.5"))
