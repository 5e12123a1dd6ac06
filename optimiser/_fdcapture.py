"""Keep native libraries' chatter off stdout (the HiGHS banner, docs/MODEL.md).

Python-level redirection does not catch C++ writes to file descriptor 1, so the
descriptor itself is pointed at stderr while native code runs. The redirection is
process-wide, so it is reference-counted under a lock: solver threads running at
once (decomposed blocks) share one redirection, and only the last one out
restores stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_saved: int | None = None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    global _depth, _saved
    try:
        fd = sys.stdout.fileno()
        err = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture, notebooks
        yield
        return
    with _lock:
        if _depth == 0:
            sys.stdout.flush()
            _saved = os.dup(fd)
            os.dup2(err, fd)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                sys.stdout.flush()
                _flush_c_stdio()  # C++ output still buffered must land on stderr, not stdout
                os.dup2(_saved, fd)
                os.close(_saved)
                _saved = None


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def native_silenced() -> Iterator[None]:
    """Discard what native code writes to fd 1 for a moment (the HiGHS constructor's
    banner, which names a notices file the user does not have). Held under the same lock as
    `stdout_to_stderr`, so it nests with it: whatever fd 1 points at (stdout, or stderr
    inside a redirection) is restored on exit. Keep the body short: Python writes to
    stdout from other threads during it would be lost too."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture, notebooks
        yield
        return
    with _lock:
        sys.stdout.flush()
        saved = os.dup(fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
        try:
            yield
        finally:
            _flush_c_stdio()
            os.dup2(saved, fd)
            os.close(saved)
