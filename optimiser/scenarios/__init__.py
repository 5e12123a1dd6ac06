"""Scenario evaluation (SPEC section 5): replay a plan against sampled futures.

    from optimiser.scenarios import evaluate
    ev = evaluate("instances/tiny", "PLAN", scenarios=10_000, seed=1, demand_sigma=0.3)

Public: `evaluate`, `Evaluation`, `ScenarioParams`, `evaluate_chunk`, `ChunkResult`,
`prepare`, `ReplayArrays`, `KPI_NAMES`. docs/SCENARIOS.md describes the model,
the random numbers and every choice the spec leaves open.
"""

from __future__ import annotations

import importlib

# Lazy: the CLI registers `evaluate` (which needs only .params) without paying for numba.
_WHERE = {"ReplayArrays": ".arrays", "prepare": ".arrays", "ChunkResult": ".evaluate",
          "Evaluation": ".evaluate", "evaluate": ".evaluate", "evaluate_chunk": ".evaluate",
          "summarise": ".evaluate", "KPI_NAMES": ".kernels", "PARAMETERS": ".params",
          "ScenarioParams": ".params"}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value  # also wins over the submodule of the same name (evaluate)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KPI_NAMES",
    "PARAMETERS",
    "ChunkResult",
    "Evaluation",
    "ReplayArrays",
    "ScenarioParams",
    "evaluate",
    "evaluate_chunk",
    "prepare",
    "summarise",
]
