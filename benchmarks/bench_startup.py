"""Start-up costs, each measured in a new process: import, cold first call, warm first call.

Cold: an empty Numba cache, so the first call compiles. Warm: a cache that an earlier
process filled, so the first call only loads (SPEC §6: milliseconds, not a compile).
"""

import atexit
import shutil
import subprocess
import sys
import tempfile

import fastact
from fastact import bench_baselines as bb

_LABELS = [bb.label(a) for a in fastact.REGISTRY.values()]
_NAMES = {bb.label(a): a.name for a in fastact.REGISTRY.values()}


def timeraw_import_fastact():
    """``import fastact`` in a fresh interpreter (Numba and NumPy included)."""
    return "import fastact"


timeraw_import_fastact.repeat = (3, 10, 20.0)


def _first_call(name, direction, cache_dir=None):
    """(stmt, setup) for timeraw: point Numba at ``cache_dir`` (None: a new empty one),
    import, build the inputs; the statement is the first call."""
    if cache_dir is None:
        cache = """
import atexit, shutil, tempfile
cache = tempfile.mkdtemp(prefix="fastact-asv-cold-")
atexit.register(shutil.rmtree, cache, True)
"""
    else:
        cache = f"cache = {cache_dir!r}\n"
    setup = f"""{cache}
import os
os.environ["NUMBA_CACHE_DIR"] = cache
import numpy as np
import fastact
from fastact import bench_baselines as bb
act = fastact.REGISTRY[{name!r}]
arrays = bb.make_inputs(act, {direction!r}, np.float32, (1000,))
p = bb.params(act)
fn = act.{direction}
"""
    return "fn(*arrays, *p)", setup


class FirstCall:
    """First call of a function (1000 float32, default target) in a new process."""

    params = (_LABELS, ("forward", "backward"), ("cold", "warm"))
    param_names = ["function", "direction", "cache"]
    rounds = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0
    timeout = 300

    _warm_dirs: dict = {}

    def setup(self, function, direction, cache):
        if cache == "cold":
            return
        key = (function, direction)
        if key not in self._warm_dirs:
            path = tempfile.mkdtemp(prefix="fastact-asv-warm-")
            atexit.register(shutil.rmtree, path, True)
            stmt, setup = _first_call(_NAMES[function], direction, path)
            subprocess.run([sys.executable, "-c", setup + stmt], check=True)
            self._warm_dirs[key] = path

    def timeraw_first_call(self, function, direction, cache):
        path = self._warm_dirs[function, direction] if cache == "warm" else None
        return _first_call(_NAMES[function], direction, path)
