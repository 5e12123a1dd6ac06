"""Memory an input implies, measured against the memory this machine has free.

Sizes are checked from declared counts (horizon, pairs, lanes; rows and
decompressed bytes from file metadata) before anything is allocated, so a small
file that implies terabytes is refused at once with the size it implies, not
after the allocation fails. The budget is the memory available now
(``MemAvailable`` of /proc/meminfo, else ``os.sysconf``), lowered by an address
space limit (``ulimit -v``) or a cgroup memory limit when those are tighter.
``OPTIMISER_MEMORY_BYTES`` overrides the measurement (tests, shared machines).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

__all__ = ["available_bytes", "fmt_bytes", "instance_bytes"]

# Bytes per LP variable, roughly: bounds and cost (24), about three nonzeros in CSR and
# in the solver's own copy (3 x 12 x 2), and the solution and duals handed back (16).
# Deliberately on the low side: an instance is refused only when it cannot fit.
LP_BYTES_PER_VARIABLE = 100


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def available_bytes() -> int:
    """Memory this process can still allocate, in bytes (a measurement, not a constant)."""
    override = os.environ.get("OPTIMISER_MEMORY_BYTES")
    if override:
        try:
            return max(int(float(override)), 0)
        except ValueError:
            pass
    free = _meminfo_available()
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = 1 << 62
    room = [free]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
        room.append(soft)
    cg = _cgroup_room()
    if cg is not None:
        room.append(cg)
    return int(min(room))


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; 7.28e12 -> '6.6 TiB'."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} bytes" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PiB"  # pragma: no cover


def instance_bytes(horizon: int, supplier_pairs: int, node_pairs: int, lanes: int
                   ) -> tuple[int, int]:
    """(dense instance arrays, rough LP) bytes an instance of these sizes implies.

    Dense arrays: capacity [P, T] and floor, demand, pipeline [I, T], float64.
    LP: one variable per lane and day, and stock, unmet and below-floor per pair and day.
    Python ints: no overflow however large the declared sizes.
    """
    T, P, I, L = int(horizon), int(supplier_pairs), int(node_pairs), int(lanes)
    dense = 8 * T * (P + 3 * I)
    lp = LP_BYTES_PER_VARIABLE * T * (L + 3 * I)
    return dense, lp
