"""Planning for reliability: the least-cost plan whose readiness holds with a stated
probability under the scenario model, certified on scenarios it was not built on
(docs/RELIABILITY.md).

The names below are loaded on first use, so that reading the targets' defaults (the CLI
does, to write its help) does not import the scenario kernels and numba.
"""

from __future__ import annotations

import importlib

_WHERE = {"solve_reliable": "api", "ReliabilityPlan": "results", "Targets": "targets",
          "max_breaches": "certificate", "scenarios_needed": "certificate",
          "upper_bound": "certificate", "zero_breach_bound": "certificate"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
