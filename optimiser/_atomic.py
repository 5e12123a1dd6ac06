"""Atomic output directories: written complete beside the target, committed by one rename.

    check_output(out, force, protect=(inputs...))   # early: before any expensive work
    with atomic_dir(out, force, protect=(inputs...)) as tmp:
        ...write every file of the output into tmp...  # summary.json included
    # committed here: `out` is either the old output or the new one, complete

Rules (docs/SAFETY.md has the reasoning):

- Paths are compared after resolving (`os.path.realpath`: `..` collapsed, symlinks
  followed) and by device and inode where they exist (bind mounts, other spellings).
  An output that is an input, contains an input or lies inside one is refused, with
  or without --force; so is an output that is the current directory or contains it.
- Without `force` an existing output is refused early; the commit itself is
  race-free: `renameat2(RENAME_NOREPLACE)` (or, without it, `mkdir` of the target as a
  claim) fails if another run created the output meanwhile.
- With `force` an existing output is swapped with the new one in one step,
  `renameat2(RENAME_EXCHANGE)`, and the old one (now in the temporary name) removed.
  Where the kernel or file system lacks renameat2 the fallback is two renames
  (old aside to `.OUT.old-PID-*`, new into place); a run killed between them leaves
  no `OUT`, and the next run writing `OUT` (or `check_output`) puts the old one back.
- Temporary names carry the writer's pid: `.OUT.tmp-PID-*`. Leftovers of runs whose
  pid is gone are removed by the next run writing `OUT` (a note on stderr); those of a
  live pid are left alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import OutputExistsError, UsageError

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
# errors of the environment, not of the program: a message and exit 2, never "internal error"
_ENV_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
               errno.ENOTDIR, errno.ENAMETOOLONG}


def _load_renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _load_renameat2()  # None: use the documented two-step fallback


def _step(name: str) -> None:
    """A named point of the commit ("written", "exchanged", "set-aside"); tests inject a kill here."""


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr, flush=True)


def resolve(p: str | os.PathLike) -> Path:
    """The absolute path with `..` collapsed and symlinks followed (the file a path names)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(p))))


def _ids(p: Path) -> list[tuple[int, int]]:
    """(device, inode) of p and of each of its existing ancestors."""
    out = []
    for q in (p, *p.parents):
        try:
            st = os.stat(q)
        except OSError:
            continue
        out.append((st.st_dev, st.st_ino))
    return out


def _id(p: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(p)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def overlap(target: str | os.PathLike, other: str | os.PathLike) -> str | None:
    """How `target` overlaps `other` after resolving: "is", "contains" or "lies inside"; None."""
    t, o = resolve(target), resolve(other)
    if t == o:
        return "is"
    if o.is_relative_to(t):
        return "contains"
    if t.is_relative_to(o):
        return "lies inside"
    tid, oid = _id(t), _id(o)
    if tid is not None and tid == oid:
        return "is"
    if tid is not None and tid in _ids(o):
        return "contains"
    if oid is not None and oid in _ids(t):
        return "lies inside"
    return None


def _refuse_overlaps(target: str | os.PathLike, t: Path, protect: Iterable) -> None:
    for p in protect:
        if p is None:
            continue
        how = overlap(t, p)
        if how is not None:
            what = {"is": "is the same", "contains": "contains it",
                    "lies inside": "lies inside it"}[how]
            raise UsageError(f"output {target} would overwrite the input {p}: it {what} "
                             f"(resolved: {t}); an input is never overwritten, with or without "
                             "{force}: choose another output path", force=True)
    try:
        cwd = resolve(os.getcwd())
    except OSError:  # the cwd was removed: nothing of it to protect
        return
    if cwd == t or cwd.is_relative_to(t):
        raise UsageError(f"output {target} ({t}) is the current directory or contains it; "
                         "choose a new directory for the output")


def _check_location(target: str | os.PathLike, t: Path) -> None:
    """The nearest existing ancestor of the output must be a writable directory."""
    a = t.parent
    while not os.path.lexists(a) and a != a.parent:
        a = a.parent
    if not a.is_dir():
        raise UsageError(f"cannot write output {target}: {a} is not a directory")
    if not os.access(a, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write output {target}: no permission to create files in {a} "
                         "(read-only or not yours); choose another location")


_LEFTOVER = re.compile(r"(?P<kind>tmp|old)-(?:(?P<pid>\d+)-)?.+")  # after ".NAME."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _remove(p: Path) -> None:
    if p.is_symlink() or not p.is_dir():
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    else:
        shutil.rmtree(p, ignore_errors=True)


def recover_leftovers(target: str | os.PathLike) -> list[str]:
    """Tidy what killed runs left beside `target`; returns the notes (also printed on stderr).

    `.NAME.tmp-PID-*` of a dead pid: removed (an incomplete output, or an old one already
    replaced). `.NAME.old-PID-*` of a dead pid (the two-step fallback was interrupted):
    renamed back to NAME when NAME is missing, else removed. Those of a live pid, and
    names without a pid (older versions), are reported and left alone.
    """
    t = resolve(target)
    notes: list[str] = []
    try:
        entries = list(os.scandir(t.parent))
    except OSError:
        return notes
    prefix = f".{t.name}."
    for e in entries:
        if not e.name.startswith(prefix):
            continue
        m = _LEFTOVER.fullmatch(e.name[len(prefix):])
        if not m:
            continue
        p = Path(e.path)
        pid = int(m["pid"]) if m["pid"] else None
        if pid is None:
            notes.append(f"{p} looks left by an interrupted run of an older version; "
                         "remove it if no run is writing there")
            continue
        if _alive(pid):
            continue  # a run in progress
        if m["kind"] == "old" and not os.path.lexists(t):
            try:
                os.rename(p, t)
                notes.append(f"restored {t} from {p.name}, left by a run (pid {pid}) "
                             "interrupted while replacing it")
            except OSError:
                pass
            continue
        _remove(p)
        notes.append(f"removed {p.name}, left by an interrupted run (pid {pid})")
    for n in notes:
        _note(n)
    return notes


def check_output(target: str | os.PathLike, force: bool = False,
                 protect: Iterable = ()) -> Path:
    """Refuse a bad output before any work; returns the resolved output path.

    UsageError: the output is (or contains, or lies inside) an input or the current
    directory, exists and is not a directory, or its location cannot be written.
    OutputExistsError: it exists and `force` is false.
    """
    t = resolve(target)
    _refuse_overlaps(target, t, protect)
    recover_leftovers(t)
    if os.path.lexists(t):
        if not force:
            raise OutputExistsError(f"{target} exists; pass {{force}} to replace it, "
                                    "or choose another output path", force=True)
        if not t.is_dir():
            raise UsageError(f"{target} exists and is not a directory; an output is a "
                             "directory: remove it or choose another path")
    _check_location(target, t)
    return t


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2(2); False when the kernel or the file system does not support it."""
    if _RENAMEAT2 is None:
        return False
    r = _RENAMEAT2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), flags)
    if r == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _place_new(tmp: Path, t: Path, target) -> None:
    """tmp -> t, failing if t exists (another run wrote it meanwhile)."""
    try:
        if _renameat2(tmp, t, RENAME_NOREPLACE):
            return
        os.mkdir(t)  # fallback: claim the name atomically, then replace the empty claim
    except FileExistsError:
        raise OutputExistsError(f"{target} was created by another run while this one was "
                                "writing; pass {force} to replace it", force=True) from None
    try:
        os.rename(tmp, t)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(t)
        raise


def _replace(tmp: Path, t: Path, target) -> None:
    """Swap tmp (complete) with the existing t; the old output ends up removed."""
    while True:
        try:
            exchanged = _renameat2(tmp, t, RENAME_EXCHANGE)
        except FileNotFoundError:  # t vanished meanwhile: a plain creation
            try:
                _place_new(tmp, t, target)
                return
            except OutputExistsError:
                continue  # and reappeared: exchange with it
        if exchanged:
            _step("exchanged")
            _remove(tmp)  # now holds the old output
            return
        break
    # two-step fallback: a kill between the renames is repaired by recover_leftovers
    if not os.path.lexists(t):
        _place_new(tmp, t, target)
        return
    old = t.with_name(f".{t.name}.old-{os.getpid()}-{secrets.token_hex(6)}")
    os.rename(t, old)
    _step("set-aside")
    try:
        os.rename(tmp, t)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(old, t)  # put the old output back
        raise
    _remove(old)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, force: bool = False,
               protect: tuple[str | os.PathLike | None, ...] = ()) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `target`; on success it replaces `target`.

    The checks of `check_output` run first (an existing `target` is refused unless
    `force`; inputs in `protect` are never overwritten, even with force). On any
    exception the temporary directory is removed and `target` is left as it was.
    Everything of the output, summary.json included, must be written inside the
    block: the commit is one rename and nothing is rewritten after it.
    """
    t = check_output(target, force, protect)
    try:
        t.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{t.name}.tmp-{os.getpid()}-", dir=t.parent))
    except OSError as e:
        raise UsageError(f"cannot write output {target}: {e.strerror} ({e.filename}); "
                         "choose another location") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; outputs get the usual permissions
    try:
        try:
            yield tmp
        except OSError as e:
            if e.errno in _ENV_ERRNOS:
                raise UsageError(f"cannot write output {target}: {e.strerror} "
                                 f"({e.filename or tmp}); free space or choose another "
                                 "location") from e
            raise
        _step("written")
        _refuse_overlaps(target, t, protect)  # again at the commit: cheap
        if force:
            _replace(tmp, t, target)
        else:
            _place_new(tmp, t, target)
    except BaseException:
        _remove(tmp)
        raise
