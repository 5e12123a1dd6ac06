"""Small text files given on the command line (--params, sweep variants), read safely.

A FIFO, a device such as /dev/zero, a directory or a socket is refused before reading
(opening never blocks: O_NONBLOCK); the size is capped before reading (the cap is the
size of any sensible parameter or variants file, many times over); the text must be UTF-8.
Parsing TOML or JSON nested too deeply for the parser is refused with a message.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from .errors import UsageError

MAX_TEXT_BYTES = 16 * 1024 * 1024  # 16 MiB


def read_text(path: str | os.PathLike, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of the regular file `path`; UsageError naming `what` otherwise."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
                    "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "not a regular file")
            raise UsageError(f"{what} {path} is {kind}; give a regular TOML or JSON file")
        if st.st_size > limit:
            raise UsageError(f"{what} {path} is {st.st_size:,} bytes, more than the "
                             f"{limit:,} bytes allowed; is it the right file?")
        chunks, n = [], 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            n += len(b)
            if n > limit:  # grew while being read
                raise UsageError(f"{what} {path} is more than the {limit:,} bytes allowed")
            chunks.append(b)
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{what} {path} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None


def parse(text: str, path: str | os.PathLike, what: str, as_json: bool) -> Any:
    """TOML (or JSON when `as_json`) of `text`; UsageError on a syntax error or deep nesting."""
    try:
        return json.loads(text) if as_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"cannot parse {what} {path}: {e}") from None
    except RecursionError:
        raise UsageError(f"cannot parse {what} {path}: nested too deeply (tables or lists "
                         "within lists thousands of levels deep); a parameter or variants "
                         "file is a few levels deep") from None
    except ValueError as e:  # JSON numbers with too many digits, and the like
        raise UsageError(f"cannot parse {what} {path}: {e}") from None
