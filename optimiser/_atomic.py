"""Atomic output directories: written beside the target, renamed into place when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError, UsageError


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, force: bool = False,
               protect: tuple[str | os.PathLike, ...] = ()) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `target`; on success it replaces `target`.

    An existing `target` is refused unless `force`. `protect` lists inputs that must
    never be overwritten (refused even with force). On any exception the temporary
    directory is removed and `target` is left as it was.
    """
    target = Path(target).absolute()
    for p in protect:
        p = Path(p).absolute()
        if target == p or p.is_relative_to(target):
            raise UsageError(f"output {target} would overwrite the input {p}; choose another path")
    if target.exists() and not force:
        raise OutputExistsError(f"{target} exists; pass --force to replace it")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; outputs get the usual permissions
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
