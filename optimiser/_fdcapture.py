"""Keep native libraries' chatter off stdout (SPEC section 6: the HiGHS banner).

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
