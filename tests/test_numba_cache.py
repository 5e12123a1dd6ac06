"""The kernels' on-disk cache follows every source they inline (optimiser/_numba.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from optimiser import _numba

ROOT = Path(__file__).resolve().parents[1]


def test_kernel_sources_are_the_modules_that_jit():
    names = {str(p.relative_to(_numba.PACKAGE)) for p in _numba.kernel_sources()}
    assert {"_numba.py", "scenarios/rng.py", "scenarios/kernels.py"} <= names
    # the KPI column indices are compiled into the replay kernel: a change to them must
    # recompile it, not leave a cached kernel writing the old columns
    assert "kpis.py" in names
    # so are the positions of the fields of the kernel's named inputs
    assert "scenarios/inputs.py" in names
    assert "cli/__init__.py" not in names and "check.py" not in names


def _toy_package(root: Path) -> Path:
    """optimiser/ with the real _numba.py, a 'rng' and a 'kernel' that inlines it."""
    pkg = root / "optimiser"
    (pkg / "scenarios").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    shutil.copy(ROOT / "optimiser" / "_numba.py", pkg / "_numba.py")
    (pkg / "scenarios" / "__init__.py").write_text("")
    (pkg / "scenarios" / "rng.py").write_text(
        "from .._numba import jit\n\n\n@jit\ndef draw(x):\n    return x * 3 + 1\n")
    (pkg / "scenarios" / "kernels.py").write_text(
        "from .._numba import jit\nfrom .rng import draw\n\n\n"
        "@jit\ndef kernel(n):\n    s = 0\n    for i in range(n):\n        s += draw(i)\n"
        "    return s\n")
    (pkg / "cli.py").write_text("X = 1\n")
    return pkg


def test_digest_changes_with_each_kernel_source_and_only_those(tmp_path):
    pkg = _toy_package(tmp_path)
    files = _numba.kernel_sources(pkg)
    assert [str(p.relative_to(pkg)) for p in files] == [
        "_numba.py", "scenarios/kernels.py", "scenarios/rng.py"]
    d0 = _numba.sources_digest(files, pkg)
    assert d0 == _numba.sources_digest(list(reversed(files)), pkg)  # order-free
    (pkg / "cli.py").write_text("X = 2\n")  # no jitted code: no recompilation
    assert _numba.sources_digest(_numba.kernel_sources(pkg), pkg) == d0
    rng = pkg / "scenarios" / "rng.py"
    rng.write_text(rng.read_text().replace("x * 3 + 1", "x * 3 + 2"))
    assert _numba.sources_digest(_numba.kernel_sources(pkg), pkg) != d0
    # kernel_digest notices an edit in a running process (size or mtime moves)
    before = _numba.kernel_digest(pkg)
    rng.write_text(rng.read_text().replace("x * 3 + 2", "x * 3 + 25"))
    assert _numba.kernel_digest(pkg) != before


def test_locator_applies_to_this_package_only():
    from numba.core import caching

    assert caching.CacheImpl._locator_classes[0] is _numba.LOCATOR
    from optimiser.scenarios import kernels

    py_func = kernels.fan_accumulate.py_func
    loc = _numba.LOCATOR.from_function(py_func, py_func.__code__.co_filename)
    assert loc is not None and loc.get_source_stamp() == _numba.kernel_digest()
    assert _numba.LOCATOR.from_function(os.getcwd, "/usr/lib/python3/os.py") is None


def test_editing_an_inlined_function_recompiles_the_kernel(tmp_path):
    """Numba alone would replay the stale kernel: 3*0+1 + 3*1+1 + 3*2+1 = 12 again."""
    pkg = _toy_package(tmp_path / "src")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "src"))
    env.pop("NUMBA_CACHE_DIR", None)  # the in-tree __pycache__, as users get it
    code = textwrap.dedent("""
        from optimiser.scenarios.kernels import kernel
        print(kernel(3), len(kernel.stats.cache_hits))
    """)

    def run():
        r = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        value, hits = r.stdout.split()
        return int(value), int(hits)

    assert run() == (12, 0)  # compiled and cached
    assert run() == (12, 1)  # from the cache
    rng = pkg / "scenarios" / "rng.py"
    rng.write_text(rng.read_text().replace("x * 3 + 1", "x * 3 + 2"))
    assert run() == (15, 0)  # recompiled: the edit shows
