"""Drivers: the loops that run an activation's kernels over whole arrays, per target."""

import hashlib
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def source_fingerprint(*names: str) -> str:
    """A short hash of fastact source files or folders of them (relative to the package).

    Numba keys its disk cache on a function's own source file and closure, not on the
    kernels it calls from other files; drivers put this hash of those files in their
    qualname (the cache file's name), so editing any of them invalidates the cache.
    """
    h = hashlib.sha256()
    for name in names:
        path = _PACKAGE / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(_PACKAGE).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]
