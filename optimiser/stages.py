"""What a long-running command is doing now, so that the command line never waits silently.

The engine names its stages (`stage("solving 3 commodity blocks ...")`); a command that
talks to a person runs `report_stages(log)` around its work, which says a stage's name on
stderr once it has run for `after` seconds, and again every `every` seconds with the time
spent. Stages that end quickly are never shown. The engine pays one lock and one clock read
per stage; without a reporter nothing is printed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

_lock = threading.Lock()
_now: list = ["", 0.0, 0]  # name, start, serial


def stage(name: str) -> None:
    """Enter the stage `name` (replacing the one before)."""
    with _lock:
        _now[0], _now[1], _now[2] = name, time.perf_counter(), _now[2] + 1


def current() -> tuple[str, float, int]:
    with _lock:
        return _now[0], _now[1], _now[2]


@contextlib.contextmanager
def report_stages(log: Callable[[str], None], prefix: str = "", after: float = 2.0,
                  every: float = 15.0, poll: float = 0.25) -> Iterator[None]:
    """Say long stages on `log` while the body runs (a daemon thread; stopped on exit)."""
    stage("")
    done = threading.Event()

    def watch() -> None:
        said: dict[int, float] = {}
        while not done.wait(poll):
            name, start, serial = current()
            if not name:
                continue
            ran = time.perf_counter() - start
            last = said.get(serial)
            if (last is None and ran >= after) or (last is not None and ran - last >= every):
                said[serial] = ran
                log(f"{prefix}{name} ... {ran:.0f} s" if last is not None else f"{prefix}{name} ...")

    t = threading.Thread(target=watch, name="optimiser-stages", daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join(1.0)
        stage("")
