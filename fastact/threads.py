"""Make Numba's ``tbb`` threading layer loadable where pip installed it.

fastact depends on the ``tbb`` wheel so that Numba's thread-safe, non-spinning ``tbb``
layer runs its parallel kernels. In a virtual environment the wheel puts ``libtbb.so.12``
in ``<venv>/lib``, which is not on the loader's path, and Numba's ``tbbpool`` extension
has no rpath to it (numba/numba#7148): Numba then silently picks ``omp``, whose spinning
threads fight BLAS's next to NumPy matmuls. Loading the wheel's library by its full path
first fixes that: the loader then resolves ``tbbpool``'s dependency on ``libtbb.so.12``
to the library already in the process (dependencies are matched by soname).

Numba picks its layer at the first parallel launch, not at import, so ``load_tbb()``
works when called at ``import fastact`` even if Numba was imported before. It costs one
``dlopen`` (TBB starts no thread until used) and compiles nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

# The name Numba's extension links against, per platform (numba/np/ufunc/parallel.py).
_SONAME = {"linux": "libtbb.so.12", "darwin": "libtbb.12.dylib", "win32": "tbb12.dll"}

loaded: str | None = None
"""The path of the tbb library ``load_tbb`` loaded, or ``None``."""


def _candidates(name: str):
    """Where pip puts the tbb wheel's library: ``<prefix>/lib`` (a venv, the base
    interpreter) first, as it costs one ``stat``; then wherever the ``tbb`` distribution's
    file list says (``pip install --user``, other schemes)."""
    yield Path(sys.prefix, "lib", name)
    from importlib import metadata

    try:
        dist = metadata.distribution("tbb")
    except metadata.PackageNotFoundError:
        return
    for f in dist.files or ():
        if f.name == name:
            yield Path(dist.locate_file(f))


def load_tbb() -> str | None:
    """Load the tbb wheel's library, unless Numba cannot use it any more or was told to
    use another layer. Returns the path loaded, or ``None``."""
    global loaded
    name = _SONAME.get(sys.platform)
    if loaded is not None or name is None:
        return loaded
    from numba.core import config
    from numba.np.ufunc import parallel

    if parallel._is_initialized or str(config.THREADING_LAYER).lower() in ("omp", "workqueue"):
        return None  # the layer is chosen, or the user chose one without tbb
    for path in _candidates(name):
        if path.is_file():
            try:
                ctypes.CDLL(os.fspath(path), mode=ctypes.RTLD_GLOBAL)
            except OSError:  # a broken or foreign library: Numba falls back as before
                continue
            loaded = os.fspath(path)
            break
    return loaded


# --------------------------------------------------------------------------- one or all
EXPLORE = 32  # re-time the mode not chosen every EXPLORE x (its time / the chosen one's) calls
FIRST = 3  # samples of each mode, alternating, before the faster one is chosen
_WEIGHT = 0.25  # of the newest sample in each mode's moving average


class Measured:
    """One thread or all, for one public form at one size class (a power of two), as its
    own calls above the parallel threshold measured them in this process.

    The threshold table says where all threads *can* pay (measured on an idle machine);
    whether they do depends on what else runs. Next to NumPy's BLAS, whose threads spin
    for a while after each matmul, or on cores other processes load, a parallel region
    waits for a worker that has no core: 1.5-2x slower than one thread at the median,
    with stalls of milliseconds. So each mode's time per element is averaged over its
    recent calls (``FIRST`` of each to begin with, alternating), the faster one runs, and
    now and then the other, so that a change (the matmuls stop, the machine quietens) is
    seen: every ``EXPLORE`` times (its time / the faster's) calls, which keeps what the
    re-timing costs under 1/``EXPLORE`` of the calls' time. The caller leaves out calls
    that compiled or loaded their driver. Results do not depend on the choice: serial and
    parallel drivers give the same bits.
    """

    __slots__ = ("per_element", "samples", "calls")

    def __init__(self):
        self.per_element = [None, None]  # seconds per element: [one thread, all threads]
        self.samples = [0, 0]
        self.calls = 0

    def choose(self) -> bool:
        """Whether the next call runs on all threads."""
        serial, parallel = self.samples
        if min(serial, parallel) < FIRST:
            return parallel <= serial
        self.calls += 1
        serial, parallel = self.per_element
        best = parallel <= serial
        if self.calls < EXPLORE * (max(serial, parallel) / min(serial, parallel)):
            return best
        self.calls = 0
        return not best

    def record(self, parallel: bool, seconds: float, size: int) -> None:
        # Noise only ever adds time (another process, page faults on a fresh output, a
        # cold cache): the first samples keep their minimum, and later ones count at most
        # twice the average, so one stall cannot turn the choice for EXPLORE calls.
        old = self.per_element[parallel]
        new = seconds / size
        if old is None or self.samples[parallel] < FIRST:
            self.per_element[parallel] = new if old is None else min(old, new)
        else:
            self.per_element[parallel] = old + (min(new, 2 * old) - old) * _WEIGHT
        self.samples[parallel] += 1


_measured: dict = {}


def measured(form, dtype, size: int) -> Measured:
    """The ``Measured`` record of ``form`` (any hashable: dispatch passes its call) in
    ``dtype`` at ``size``'s power of two."""
    key = (form, dtype, size.bit_length())
    m = _measured.get(key)
    if m is None:
        m = _measured.setdefault(key, Measured())
    return m
