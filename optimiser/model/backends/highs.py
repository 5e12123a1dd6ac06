"""HiGHS through highspy: the CSR arrays handed over with one passModel call.

This is the default backend: passModel is the cheapest way to get the LP into a
solver (no copy into a proto), and unlike the OR-Tools path it returns correct
duals and reduced costs.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ..._fdcapture import native_silenced, stdout_to_stderr
from ..status import map_status
from . import RawSolution

#: method "auto" (for the LPs it still solves cold: a binding budget, or a block whose
#: network solve failed): dual simplex, HiGHS's own default. Measured on the 100k-few-b
#: tier (96k variables, binding budget): dual simplex 5.3 s, IPM with crossover 15.4 s.
#: (On one 93k-variable no-budget block under heavy load IPM had won, 22 s vs 31-74 s;
#: such blocks now take the network path.) `--method ipm` remains available.

NAME = "highs"
DESCRIPTION = "HiGHS dual simplex via highspy (default); correct duals"
INSTALL_HINT = "pip install 'highspy>=1.7,<2'"
# capability flags (backends.Backend)
GIVES_DUALS = True
EXACT_VERTEX = True
ACCEPTS_BASIS = True


def available() -> bool:
    """Installed (backends.installed: found without importing it, once per process)."""
    from . import installed

    return installed("highspy")


def chosen_method(lp, options) -> str:
    return "ipm" if options.method == "ipm" else "simplex"


_scheduler_lock = threading.Lock()
_scheduler_threads: int | None = None  # what HiGHS's process-wide scheduler started with (0: its default)


def _threads_option(requested: int | None) -> int | None:
    """The `threads` option to set, or None to leave HiGHS's default.

    HiGHS starts one task scheduler per process at its first run, and a later run whose
    `threads` differs from it fails (status kNotset: "the only way to change the number of
    threads is to call resetGlobalScheduler", which is unsafe while other threads solve).
    So `threads` is honoured when it is the process's first request or equals it, and
    otherwise the run uses the scheduler as it is; a request for one thread still gets
    serial simplex (`parallel` off). A command-line solve is one process: its --threads
    always holds."""
    global _scheduler_threads
    with _scheduler_lock:
        if _scheduler_threads is None:
            _scheduler_threads = int(requested or 0)
        return int(requested) if requested and int(requested) == _scheduler_threads else None


def make_highs(lp, options):
    import highspy

    # the constructor prints a banner on fd 1 (pointing at a notices file the user does not
    # have): discarded unless the solver log was asked for, then it goes to stderr with it
    with (stdout_to_stderr() if options.verbose else native_silenced()):
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    if options.verbose:
        h.setOptionValue("log_to_console", True)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    threads = _threads_option(options.threads)
    if threads:
        h.setOptionValue("threads", threads)
    if options.threads == 1:  # one thread asked for: serial simplex whatever the scheduler
        h.setOptionValue("parallel", "off")
    method = chosen_method(lp, options)
    h.setOptionValue("solver", "ipm" if method == "ipm" else "simplex")
    if method == "ipm":
        h.setOptionValue("run_crossover", "on")
    if options.tolerance is not None:
        h.setOptionValue("primal_feasibility_tolerance", float(options.tolerance))
        h.setOptionValue("dual_feasibility_tolerance", float(options.tolerance))
    model = highspy.HighsLp()
    A = getattr(lp, "csr", None) or lp.A  # the light CSR: no scipy import on this path
    m, n = A.shape
    model.num_col_ = n
    model.num_row_ = m
    model.col_cost_ = lp.vars.cost
    model.col_lower_ = lp.vars.lb
    model.col_upper_ = lp.vars.ub
    model.row_lower_ = lp.row_lo
    model.row_upper_ = lp.row_hi
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = A.indptr
    model.a_matrix_.index_ = A.indices
    model.a_matrix_.value_ = A.data
    model.a_matrix_.num_col_ = n
    model.a_matrix_.num_row_ = m
    with stdout_to_stderr():
        h.passModel(model)
    return h


def solve(lp, options, start=None, basis=None):
    """start: a primal point (e.g. the network solve's); simplex then polishes it to an
    optimal vertex with exact duals (crossover from the point). basis: (col_status,
    row_status) as HighsBasisStatus codes (e.g. from the network's spanning tree);
    simplex starts from that vertex, so an optimal basis costs no iteration."""
    import highspy

    if start is not None or basis is not None:
        from dataclasses import replace

        options = replace(options, method="simplex")
    h = make_highs(lp, options)
    if basis is not None:
        set_basis(h, *basis)
    elif start is not None:
        hs = highspy.HighsSolution()
        hs.col_value = start
        hs.value_valid = True
        h.setSolution(hs)
    return run(h, lp, options, warm=start is not None or basis is not None)


_STATUS = None


def set_basis(h, col_status, row_status) -> None:
    import highspy

    global _STATUS
    if _STATUS is None:
        _STATUS = [highspy.HighsBasisStatus(k) for k in range(5)]
    b = highspy.HighsBasis()
    b.col_status = [_STATUS[k] for k in col_status.tolist()]
    b.row_status = [_STATUS[k] for k in row_status.tolist()]
    b.valid = True
    h.setBasis(b)


def get_basis(h) -> tuple[np.ndarray, np.ndarray]:
    b = h.getBasis()
    return (np.fromiter((int(k) for k in b.col_status), dtype=np.int8),
            np.fromiter((int(k) for k in b.row_status), dtype=np.int8))


def run(h, lp, options, warm: bool = False):
    t0 = time.perf_counter()
    with stdout_to_stderr():
        h.run()
    seconds = time.perf_counter() - t0
    ms = h.getModelStatus()
    name = ms.name if hasattr(ms, "name") else str(ms).split(".")[-1]
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    status = map_status("highs", name, has)
    if name == "kModelEmpty":  # no columns: optimal only if every (empty) row admits 0
        ok = bool(np.all(lp.row_lo <= 1e-9) and np.all(lp.row_hi >= -1e-9))
        status = map_status("highs", "kOptimal" if ok else "kInfeasible", ok)
        has = ok
    sol = RawSolution(status=status, backend_status=name, seconds=seconds,
                      info={"simplex_iterations": int(info.simplex_iteration_count),
                            "ipm_iterations": int(info.ipm_iteration_count),
                            "highs_method": "warm simplex" if warm
                            else chosen_method(lp, options)})
    if has or status.value == "optimal":
        read_solution(h, sol)
    return sol


def read_solution(h, sol: RawSolution) -> RawSolution:
    """The solved HiGHS model h's point, objective and (when valid) duals into sol."""
    s = h.getSolution()
    sol.values = np.asarray(s.col_value, dtype=np.float64)
    sol.objective = float(h.getInfo().objective_function_value)
    if s.dual_valid:
        sol.duals = np.asarray(s.row_dual, dtype=np.float64)
        sol.reduced_costs = np.asarray(s.col_dual, dtype=np.float64)
    return sol
