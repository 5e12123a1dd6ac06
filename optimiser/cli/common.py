"""Shared CLI conventions: exit codes, JSON on stdout, logs on stderr, checked flag values.

Flag values are checked when the command line is parsed (argparse `type=`), so a
mistake is exit 2 with a message naming the flag before anything is loaded or solved.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

from ..execution import MAX_SEED  # noqa: F401  (seeds are 64-bit unsigned in the scenario streams)
from ..status import (  # noqa: F401  (the exit codes are declared once, in optimiser/status.py)
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    EXIT_USAGE,
)

MAX_THREADS = 4096  # more threads than any machine this runs on has cores: a typo
MAX_SECONDS = 10**9  # about 31 years: larger "limits" are typos


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def emit_json(doc: Any) -> None:
    """The one JSON document a --json command prints on stdout (strict JSON: NaN -> null)."""
    from .._json import dumps

    sys.stdout.write(dumps(doc))
    sys.stdout.flush()


# ---------------------------------------------------------------- errors
#: the API's keyword -> the dest of the flag that sets it, where the two names differ
KEYWORD_DEST = {"fmt": "format", "n_workers": "dask_workers", "address": "dask"}


def flag_spellings(parser: argparse.ArgumentParser | None, command: str | None = None
                   ) -> dict[str, str]:
    """dest -> its long option string, for `parser` and its subcommand `command`."""
    parsers = [] if parser is None else [parser]
    for action in (parser._actions if parser is not None else []):
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            parsers.append(action.choices[command])
    out: dict[str, str] = {}
    for p in parsers:
        for action in p._actions:
            if action.option_strings:
                out[action.dest] = max(action.option_strings, key=len)
    return out


def error_text(e: BaseException, parser: argparse.ArgumentParser | None = None,
               command: str | None = None) -> str:
    """The one way the command line words an error: the options a UsageError names are
    spelled as this command's flags (`--threads 5`), not as the API's keywords."""
    from ..errors import UsageError, show_value

    if not isinstance(e, UsageError):
        return str(e)
    flags = flag_spellings(parser, command)

    def spell(name: str, value: Any) -> str:
        dest = KEYWORD_DEST.get(name, name)
        flag = flags.get(dest) or "--" + dest.replace("_", "-")
        return flag if value is None or value is True else f"{flag} {show_value(value)}"

    return e.render(spell)


# ---------------------------------------------------------------- flag value types
def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r} (not a finite number)")
    return v


def _whole(text: str, what: str) -> int:
    try:
        return int(str(text).strip().replace("_", ""), 10)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def seconds(text: str) -> float:
    """A positive, finite number of seconds (time limits, timeouts)."""
    what = "a positive finite number of seconds, such as 60"
    v = _number(text, what)
    if not 0 < v <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"expected {what} (at most {MAX_SECONDS:g}), got {text!r}")
    return v


def tolerance(text: str) -> float:
    """A feasibility/optimality tolerance: finite, in (0, 1)."""
    what = "a tolerance in (0, 1), such as 1e-7"
    v = _number(text, what)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def money(text: str) -> float:
    """A finite amount >= 0 (a budget)."""
    what = "a finite amount >= 0, such as 2.5e6"
    v = _number(text, what)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def threads(text: str) -> int:
    """A thread or worker count in 1..MAX_THREADS."""
    what = f"a whole number from 1 to {MAX_THREADS}"
    v = _whole(text, what)
    if not 1 <= v <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def seed(text: str) -> int:
    """A random seed in 0..2**64-1."""
    what = "a whole number from 0 to 2**64-1 (18446744073709551615)"
    v = _whole(text, what)
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def whole(lo: int, hi: int | None = None, example: str = ""):
    """A whole-number type in lo..hi (hi None: no upper bound)."""
    what = f"a whole number >= {lo}" + (f" and <= {hi}" if hi is not None else "") + example

    def parse(text: str) -> int:
        v = _whole(text, what)
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    parse.__name__ = "whole"
    return parse


# ---------------------------------------------------------------- memory
def memory_available() -> int | None:
    """Bytes this process can still allocate: the one measurement of optimiser.memory
    (MemAvailable, lowered by ulimit -v or a cgroup limit; OPTIMISER_MEMORY_BYTES overrides)."""
    from ..memory import available_bytes

    return available_bytes()


def human_bytes(n: float) -> str:
    from ..memory import fmt_bytes

    return fmt_bytes(n)


def require_memory(nbytes: int, what: str, advice: str) -> None:
    """UsageError when `nbytes` exceeds the memory available now (checked before allocating)."""
    avail = memory_available()
    if avail is not None and nbytes > avail:
        from ..errors import UsageError

        raise UsageError(f"{what} needs about {human_bytes(nbytes)} of memory, more than the "
                         f"{human_bytes(avail)} available; {advice}")


# ---------------------------------------------------------------- progress
class Progress:
    """A plain progress bar on stderr, drawn only when stderr is a terminal or forced."""

    def __init__(self, total: int, label: str, enabled: bool | None = None):
        self.total = max(int(total), 1)
        self.label = label
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self._last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            rate = self.done / max(now - self.t0, 1e-9)
            sys.stderr.write(f"\r{self.label} [{bar:<30}] {frac:6.1%} {self.done}/{self.total} "
                             f"({rate:,.0f}/s)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
