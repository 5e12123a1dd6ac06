"""Shared CLI conventions (SPEC section 7): exit codes, JSON on stdout, logs on stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # usage error or invalid instance
EXIT_INFEASIBLE = 3  # infeasible, or a plan that fails check
EXIT_NO_SOLUTION = 4  # no solution within the limit


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def emit_json(doc: Any) -> None:
    """The one JSON document a --json command prints on stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=_default) + "\n")
    sys.stdout.flush()


def _default(o: Any) -> Any:
    from .._json import json_default

    try:
        return json_default(o)
    except TypeError:
        return str(o)  # a CLI document never fails on an odd value


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
