"""Shared path for backends behind OR-Tools' model builder: the LP handed over in bulk."""

from __future__ import annotations

import time

import numpy as np

from ..._fdcapture import stdout_to_stderr
from ..status import map_status
from . import RawSolution, SolverOptions

INSTALL_HINT = "pip install 'ortools>=9.15,<9.16'"


def available() -> bool:
    """Installed (backends.installed: found without importing it, once per process)."""
    from . import installed

    return installed("ortools")


def solve_with(solver_name: str, lp, options: SolverOptions, params: str) -> RawSolution:
    from ortools.linear_solver.python import model_builder_helper as mbh

    with stdout_to_stderr():  # the HiGHS banner goes to fd 1 even with output off
        model = mbh.ModelBuilderHelper()
        model.fill_model_from_sparse_data(lp.vars.lb, lp.vars.ub, lp.vars.cost, lp.row_lo,
                                          lp.row_hi, lp.A)
        solver = mbh.ModelSolverHelper(solver_name)
        if options.time_limit is not None:
            solver.set_time_limit_in_seconds(float(options.time_limit))
        if params:
            solver.set_solver_specific_parameters(params)
        solver.enable_output(bool(options.verbose))
        t0 = time.perf_counter()
        solver.solve(model)
        seconds = time.perf_counter() - t0
    name = solver.status().name
    has = bool(solver.has_solution())
    status = map_status("ortools", name, has)
    sol = RawSolution(status=status, backend_status=name, seconds=seconds)
    if has:
        sol.values = np.asarray(solver.variable_values(), dtype=np.float64)
        sol.objective = float(solver.objective_value())
        duals = np.asarray(solver.dual_values(), dtype=np.float64)
        if duals.shape == (lp.A.shape[0],):
            sol.duals = duals
        rc = np.asarray(solver.reduced_costs(), dtype=np.float64)
        if rc.shape == (lp.A.shape[1],):
            sol.reduced_costs = rc
    return sol
