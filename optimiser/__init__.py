"""optimiser: procurement and stockpile planning on Arrow data.

    import optimiser
    inst = optimiser.load_instance("instances/seed-155mm")
    plan = optimiser.solve(inst)              # LP via OR-Tools (HiGHS / GLOP / PDLP)
    ev = optimiser.evaluate(inst, plan, scenarios=10_000, seed=1, demand_sigma=0.3)
"""

from __future__ import annotations

__version__ = "0.1.0"

# eager: the functions must shadow their submodules' names (optimiser.solve, .check)
from .check import CheckReport, check_plan, check_plan_dir  # noqa: E402
from .errors import (
    InvalidInstanceError,
    InvalidPlanError,
    OptimiserError,
    OutputExistsError,
    Problem,
    SolverError,
    UsageError,
)
from .generate import generate_instance
from .instance import Instance, as_instance, load_instance
from .plan import Plan, read_plan
from .simulate import simulate  # noqa: E402  (light package: its engine is imported on call)
from .solve import solve  # noqa: E402
from .sweep import sweep  # noqa: E402  (shadows the submodule's name, as solve does)
from .tables import make_instance, table_from_rows


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
