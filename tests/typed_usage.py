"""Type-checked by tests/test_types.py (mypy), never run: what a user's editor sees."""

from typing import Any, assert_type

import numpy as np
from numpy.typing import NDArray

import fastact

x32 = np.ones(8, np.float32)
x64 = np.ones(8)
g32 = np.ones(8, np.float32)

assert_type(fastact.sigmoid(x32), NDArray[np.float32])
assert_type(fastact.tanh(x64, target="parallel"), NDArray[np.float64])
assert_type(fastact.relu([1.0, -2.0]), NDArray[np.float64])
assert_type(fastact.relu([1, 2], out=x32), NDArray[np.float32])
assert_type(fastact.leaky_relu(x32, 0.2), NDArray[np.float32])
assert_type(fastact.leaky_relu_(x32, negative_slope=0.2), NDArray[np.float32])
assert_type(fastact.sigmoid_backward(g32, x32), NDArray[np.float32])
assert_type(fastact.softmax(x32, axis=None), NDArray[np.float32])
assert_type(fastact.softmax_backward_(g32, x32, 0), NDArray[np.float32])
assert_type(fastact.threshold(x64, 0.5, 0.0), NDArray[np.float64])
b32 = np.ones(8, np.float32)
Pair32 = tuple[NDArray[np.float32], NDArray[np.float32]]
assert_type(fastact.gelu(x32, bias=b32), NDArray[np.float32])
assert_type(fastact.gelu_backward(g32, x32, bias=b32), Pair32)
assert_type(fastact.gelu_backward_(g32, x32), NDArray[np.float32])
assert_type(fastact.relu_backward_(g32, x32, bias=b32), Pair32)
assert_type(fastact.prelu(x32, b32), NDArray[np.float32])
assert_type(fastact.prelu_backward(g32, x32, b32), Pair32)
assert_type(fastact.prelu_backward_(g32, x32, weight=b32), Pair32)
mask = np.tril(np.ones((8, 8), bool))
assert_type(fastact.log_softmax(np.ones((8, 8), np.float32), where=mask), NDArray[np.float32])
assert_type(fastact.glu(x32, axis=-1), NDArray[np.float32])
assert_type(fastact.glu_backward(g32[:4], x32), NDArray[np.float32])
# NumPy scalars as parameters and axis, as at run time.
assert_type(fastact.leaky_relu(x32, np.float32(0.1)), NDArray[np.float32])
assert_type(fastact.hardtanh(x32, np.float32(-2), 2), NDArray[np.float32])
assert_type(fastact.softmax(x32, np.int64(0)), NDArray[np.float32])
# The parameter's gradient has the inputs' dtype, not out's.
x64b = np.ones(8)
gw = fastact.prelu_backward(x64b, x64b, b32[:1], out=x32)[1]
assert_type(gw, NDArray[np.floating[Any]])
assert_type(fastact.relu_backward_(g32, x64b, bias=b32)[1], NDArray[np.floating[Any]])
act: fastact.Activation = fastact.REGISTRY["relu"]
names: tuple[str, ...] = act.param_names
n: int = fastact.parallel_threshold("relu")

# What the checker must refuse (each line names the error it expects):
fastact.sigmoid(x32, target="gpu")  # type: ignore[call-overload]
fastact.relu_([1.0, 2.0])  # type: ignore[arg-type]
fastact.leaky_relu(x32, slope=0.1)  # type: ignore[call-overload]
fastact.softmax(x32, bias=b32)  # type: ignore[call-overload]
fastact.prelu(x32, [0.25])  # type: ignore[call-overload]
fastact.glu_(x32)  # type: ignore[attr-defined]
fastact.glu(x32, axis=None)  # type: ignore[call-overload]
