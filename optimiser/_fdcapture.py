"""Keep native libraries' chatter off stdout (SPEC section 6: the HiGHS banner).

Python-level redirection does not catch C++ writes to file descriptor 1, so the
descriptor itself is pointed at stderr for the duration.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture, notebooks
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno(), fd)
        yield
    finally:
        sys.stdout.flush()
        _flush_c_stdio()  # C++ writes still buffered must land on stderr, not later on stdout
        os.dup2(saved, fd)
        os.close(saved)


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass
