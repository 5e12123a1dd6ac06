"""optimiser: procurement and stockpile planning on Arrow data.

    import optimiser
    inst = optimiser.load_instance("instances/seed-155mm")
    plan = optimiser.solve(inst)              # LP via OR-Tools (HiGHS / GLOP / PDLP)
    ev = optimiser.evaluate(inst, plan, scenarios=10_000, seed=1, demand_sigma=0.3)
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
import sys
import types

from .errors import (
    InvalidInstanceError,
    InvalidPlanError,
    OptimiserError,
    OutputExistsError,
    Problem,
    SolverError,
    UsageError,
)

# Everything else is imported on first use (`import optimiser` stays light: no pyarrow,
# scipy, numba, ortools, pandas at start-up): public name -> the module that defines it.
_LAZY = {
    "CheckReport": ".check", "check_plan": ".check", "check_plan_dir": ".check",
    "generate_instance": ".generate",
    "Instance": ".instance", "as_instance": ".instance", "load_instance": ".instance",
    "Plan": ".plan", "read_plan": ".plan",
    "simulate": ".simulate", "solve": ".solve", "sweep": ".sweep",
    "make_instance": ".tables", "table_from_rows": ".tables",
}
# Functions named like the submodule that defines them: `optimiser.solve` is the function
# whatever was imported first, also after `import optimiser.solve.…` binds the submodule.
_SHADOWED = ("simulate", "solve", "sweep")


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):  # a submodule not imported yet (optimiser.plan, ...)
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # the import system binds each submodule on its package once it is loaded; the
        # shadowed names keep (or get) the function of that submodule
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def evaluate(instance, plan, **kwargs):
    """Replay a plan under sampled scenarios; see optimiser.scenarios.evaluate."""
    from .scenarios.evaluate import evaluate as _evaluate  # the function, by its full path

    return _evaluate(instance, plan, **kwargs)


__all__ = [
    "__version__",
    "Instance",
    "Plan",
    "InvalidInstanceError",
    "InvalidPlanError",
    "OptimiserError",
    "OutputExistsError",
    "Problem",
    "SolverError",
    "UsageError",
    "CheckReport",
    "as_instance",
    "check_plan",
    "check_plan_dir",
    "evaluate",
    "generate_instance",
    "load_instance",
    "make_instance",
    "read_plan",
    "solve",
    "simulate",
    "sweep",
    "table_from_rows",
]
