"""GPU report: fastact's CUDA target against the device's copy bandwidth and torch.

Run on a machine with an NVIDIA GPU: ``python benchmarks/gpu_report.py [--quick]``.
Elementwise forward/backward at 2**28 float32 (2**24 with ``--quick``) as a fraction of
a device-to-device copy's bandwidth; softmax forward/backward at rows of 10, 1000 and
1e6 elements beside ``torch.softmax`` on the same GPU (when torch has CUDA). Without a
GPU it says so and exits 0. Not an asv benchmark: everything runs under ``main()``.
"""

from __future__ import annotations

import argparse
import sys
import time


def _gpu_or_reason():
    try:
        import numba_cuda  # noqa: F401
        from numba import cuda
    except ImportError:
        return None, "numba-cuda is not installed (pip install 'fastact[cuda]')"
    if cuda.config.ENABLE_CUDASIM:
        return None, "NUMBA_ENABLE_CUDASIM is set: the simulator is no place for timings"
    if not cuda.is_available():
        return None, "no CUDA GPU found"
    return cuda, None


def _timeit(cuda, fn, *args, min_time=0.2, **kwargs):
    """Best mean seconds per ``fn(*args, **kwargs)`` over a few synchronised batches."""
    fn(*args, **kwargs)
    cuda.synchronize()
    reps = 1
    while True:
        t = time.perf_counter()
        for _ in range(reps):
            fn(*args, **kwargs)
        cuda.synchronize()
        dt = time.perf_counter() - t
        if dt >= min_time / 5 or reps >= 1 << 16:
            break
        reps *= 4
    best = dt / reps
    for _ in range(4):
        t = time.perf_counter()
        for _ in range(reps):
            fn(*args, **kwargs)
        cuda.synchronize()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2**24 elements instead of 2**28")
    p.add_argument("--log2", type=int, help="log2 of the elementwise size (overrides --quick)")
    args = p.parse_args(argv)
    cuda, reason = _gpu_or_reason()
    if cuda is None:
        print(f"gpu_report: skipped, {reason}.")
        return 0

    import numpy as np

    import fastact
    from fastact.registry import ELEMENTWISE, ROWWISE

    try:
        import torch

        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None

    name = getattr(cuda.get_current_device(), "name", "?")
    print(f"device: {name.decode() if isinstance(name, bytes) else name}")
    n = 1 << (args.log2 or (24 if args.quick else 28))
    x = cuda.to_device(np.random.default_rng(0).normal(size=n).astype(np.float32))
    g = cuda.device_array_like(x)
    g.copy_to_device(x)
    out = cuda.device_array_like(x)
    copy_s = _timeit(cuda, out.copy_to_device, x)
    copy_bw = 2 * 4 * n / copy_s
    print(f"device-to-device copy: {copy_bw / 1e9:.0f} GB/s ({n} float32)")
    print(f"{'function':<14}{'form':<10}{'ms':>9}{'GB/s':>8}{'of copy':>9}")
    for act in fastact.REGISTRY.values():
        if act.kind != ELEMENTWISE:
            continue
        params = [
            cuda.to_device(np.full(1, 0.25, np.float32))  # prelu's weight: one slope
            if p.is_array
            else p.default
            if isinstance(p.default, float)
            else 1.0
            for p in act.params
        ]
        saved = out if act.saves == "output" else x
        act.forward(x, *params, out=out)
        runs = {
            "forward": (act.forward, (x, *params), 2),
            "backward": (act.backward, (g, saved, *params), 3),
        }
        for form, (fn, fn_args, arrays) in runs.items():
            s = _timeit(cuda, fn, *fn_args, out=out)
            bw = arrays * 4 * n / s
            print(f"{act.name:<14}{form:<10}{s * 1e3:9.3f}{bw / 1e9:8.0f}{bw / copy_bw:9.0%}")

    print(f"\n{'function':<14}{'rows x n':<16}{'form':<10}{'fastact ms':>11}{'torch ms':>10}")
    for act in fastact.REGISTRY.values():
        if act.kind != ROWWISE:
            continue
        for row in (10, 1000, 1_000_000):
            row = min(row, n // 4)  # only tiny --log2 dry runs cut rows short
            shape = ((n // 4) // row, row)
            size = shape[0] * shape[1]
            rx = x[:size].reshape(shape)
            ry = cuda.device_array(shape, np.float32)
            rg = g[:size].reshape(shape)
            rout = cuda.device_array(shape, np.float32)
            act.forward(rx, out=ry)
            fwd = _timeit(cuda, act.forward, rx, out=rout)
            bwd = _timeit(cuda, act.backward, rg, ry, out=rout)
            t_fwd = t_bwd = float("nan")
            if torch is not None and act.name in ("softmax", "log_softmax", "softmin"):
                tf = getattr(torch, act.name)
                tx = torch.as_tensor(rx, device="cuda")
                ty = tf(tx, -1)
                tg = torch.as_tensor(rg, device="cuda")
                t_fwd = _timeit(cuda, tf, tx, -1)
                back = torch.ops.aten._softmax_backward_data
                if act.name == "log_softmax":
                    back = torch.ops.aten._log_softmax_backward_data
                t_bwd = _timeit(cuda, back, tg, ty, -1, tx.dtype)
            label = f"{shape[0]} x {row}"
            print(f"{act.name:<14}{label:<16}{'forward':<10}{fwd * 1e3:11.3f}{t_fwd * 1e3:10.3f}")
            print(f"{act.name:<14}{label:<16}{'backward':<10}{bwd * 1e3:11.3f}{t_bwd * 1e3:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
