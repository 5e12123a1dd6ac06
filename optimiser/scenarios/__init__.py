"""Scenario evaluation: replay a plan against sampled futures (docs/SCENARIOS.md).

    from optimiser.scenarios import evaluate
    ev = evaluate("instances/tiny", "PLAN", scenarios=10_000, seed=1, demand_sigma=0.3)

Public: `evaluate`, `Evaluation`, `ScenarioParams`, `evaluate_chunk`, `ChunkResult`,
`prepare`, `ReplayArrays`, `KPI_NAMES`. docs/SCENARIOS.md describes the model,
the random numbers and every choice left open.
"""

from __future__ import annotations

import importlib
import sys
import types

# Lazy: the CLI registers `evaluate` (which needs only .params) without paying for numba.
_WHERE = {"ReplayArrays": ".arrays", "prepare": ".arrays", "ChunkResult": ".evaluate",
          "Evaluation": ".evaluate", "evaluate": ".evaluate", "evaluate_chunk": ".evaluate",
          "summarise": ".evaluate", "KPI_NAMES": ".kernels", "PARAMETERS": ".params",
          "ScenarioParams": ".params"}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """The package object: the name `evaluate` always means the function.

    Importing a submodule makes Python bind it as an attribute of its package
    (`optimiser.scenarios.evaluate = <module>`), whatever the order of imports. Here that
    binding is turned into the function of the same name, so `from optimiser.scenarios
    import evaluate` is callable however the submodule came to be imported first. The
    module itself stays in sys.modules["optimiser.scenarios.evaluate"].
    """

    def __setattr__(self, name: str, value) -> None:
        if (isinstance(value, types.ModuleType) and name in _WHERE
                and value.__name__ == f"{__name__}.{name}" and hasattr(value, name)):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
