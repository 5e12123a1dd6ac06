"""optimiser: procurement and stockpile planning on Arrow data.

    import optimiser
    inst = optimiser.load_instance("instances/seed-155mm")
    plan = optimiser.solve(inst)              # LP via OR-Tools (HiGHS / GLOP / PDLP)
    ev = optimiser.evaluate(inst, plan, scenarios=10_000, seed=1, demand_sigma=0.3)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    InvalidInstanceError,
    InvalidPlanError,
    OptimiserError,
    OutputExistsError,
    Problem,
    SolverError,
    UsageError,
)
from .instance import Instance, as_instance, load_instance
from .tables import make_instance, table_from_rows

__all__ = [
    "__version__",
    "Instance",
    "InvalidInstanceError",
    "InvalidPlanError",
    "OptimiserError",
    "OutputExistsError",
    "Problem",
    "SolverError",
    "UsageError",
    "as_instance",
    "load_instance",
    "make_instance",
    "table_from_rows",
]
