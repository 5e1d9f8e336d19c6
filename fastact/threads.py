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
