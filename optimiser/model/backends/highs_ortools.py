"""HiGHS through OR-Tools' model builder.

Its dual values are wrong on this path (measured: they are row activities,
and no reduced costs come back), so the engine never reports them: duals for a
plan solved this way are re-derived with highspy when it is installed (the KKT
check decides), else the plan carries no shadow prices.
"""

from __future__ import annotations

from ._ortools import INSTALL_HINT, available  # noqa: F401  (backend protocol)

NAME = "highs-ortools"
DESCRIPTION = "HiGHS via OR-Tools' model builder (duals unreliable on this path)"
# capability flags (backends.Backend)
GIVES_DUALS = False
EXACT_VERTEX = True
ACCEPTS_BASIS = False


def solve(lp, options):
    from ._ortools import solve_with

    params = []
    if options.threads:
        params.append(f"threads={int(options.threads)}")
    if options.tolerance is not None:
        params += [f"primal_feasibility_tolerance={options.tolerance:g}",
                   f"dual_feasibility_tolerance={options.tolerance:g}"]
    sol = solve_with("highs", lp, options, "\n".join(params))
    sol.duals = None  # known wrong (row activities); see module docstring
    sol.reduced_costs = None
    return sol
