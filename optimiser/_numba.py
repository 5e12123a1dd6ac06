"""The one numba decorator of the project, with its defaults, and a cache that is safe.

cache=True pays compilation once per machine; error_model="numpy" lets division by
zero give inf/nan instead of raising (and keeps loops vectorisable); fastmath stays
off so results are bit-identical across runs and thread counts.

Numba's own cache keys a compiled function on its own source file only, but a kernel
carries, compiled into it, every jitted function it calls from other files (the RNG of
scenarios/rng.py inside the replay kernel of scenarios/kernels.py). Editing rng.py
would then leave the kernels' cache stale: old random numbers, a hidden or faked test
failure. So for the functions of this package the cache is stamped with one digest of
every module of the package that defines jitted functions, or constants they compile in
(kpis.py's KPI columns; such a module says so with CONST_MARKER) (`kernel_sources`): a
change to any of them recompiles every kernel once.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numba

PACKAGE = Path(__file__).resolve().parent
MARKER = "_numba import"  # how a module of the package gets `jit` / `pjit`
# how a module without jitted code says that kernels compile its constants in (kpis.py: the
# KPI column indices; scenarios/inputs.py: the fields of the kernel's named inputs, read at
# their compiled positions); it is part of the digest as if it defined kernels
CONST_MARKER = "numba: constants compiled into kernels"


def kernel_sources(package: Path = PACKAGE) -> list[Path]:
    """The package's modules that define jitted functions or constants compiled into them
    (and this one), sorted."""
    found = [p for p in package.rglob("*.py")
             if "__pycache__" not in p.parts and _compiled_in(p.read_text(encoding="utf-8",
                                                                            errors="replace"))]
    return sorted(set(found) | {package / "_numba.py"})


def _compiled_in(text: str) -> bool:
    return MARKER in text or CONST_MARKER in text


def sources_digest(paths: list[Path], root: Path = PACKAGE) -> str:
    """sha256 over the names (relative to root) and the bytes of paths."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(root)).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


@functools.cache
def _sources_once(package: Path) -> tuple[Path, ...]:
    return tuple(kernel_sources(package))


@functools.cache
def _digest_for(package: Path, stats: tuple) -> str:
    return sources_digest([Path(p) for p, _, _ in stats], package)


def kernel_digest(package: Path = PACKAGE) -> str:
    """The digest of kernel_sources(package) (the list found once per process), recomputed
    when one of those files changes size or mtime."""
    stats = []
    for p in _sources_once(package):
        st = p.stat()
        stats.append((str(p), st.st_mtime_ns, st.st_size))
    return _digest_for(package, tuple(stats))


def _install_locator() -> type | None:
    """Put a locator for this package's functions first in numba's list (None: numba's
    caching internals changed; its own per-file cache then applies)."""
    try:
        from numba.core import caching
        base = (caching._SourceFileBackedLocatorMixin, caching._CacheLocator)
        impl = caching.CacheImpl
    except (ImportError, AttributeError):  # pragma: no cover - other numba versions
        return None

    class PackageCacheLocator(*base):
        """In-tree __pycache__ (or NUMBA_CACHE_DIR when set) for functions of this
        package, stamped with kernel_digest() instead of the function's own file."""

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            if numba.config.CACHE_DIR:
                self._cache_path = os.path.join(numba.config.CACHE_DIR,
                                                self.get_suitable_cache_subpath(py_file))
            else:
                self._cache_path = os.path.join(os.path.dirname(py_file), "__pycache__")

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return kernel_digest()

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                Path(py_file).resolve().relative_to(PACKAGE)
            except (ValueError, OSError):
                return None  # not ours: numba's own locators decide
            return super().from_function(py_func, py_file)

    if not any(c.__name__ == "PackageCacheLocator" for c in impl._locator_classes):
        impl._locator_classes = [PackageCacheLocator, *impl._locator_classes]
    return PackageCacheLocator


LOCATOR = _install_locator()

jit = functools.partial(numba.njit, cache=True, error_model="numpy", nogil=True)
pjit = functools.partial(numba.njit, cache=True, error_model="numpy", nogil=True, parallel=True)
