"""GLOP (Google's primal/dual simplex) through OR-Tools' model builder."""

from __future__ import annotations

from ._ortools import INSTALL_HINT, available  # noqa: F401  (backend protocol)

NAME = "glop"
DESCRIPTION = "GLOP simplex (OR-Tools); single-threaded; exact vertex solutions and duals"
# capability flags (backends.Backend)
GIVES_DUALS = True
EXACT_VERTEX = True
ACCEPTS_BASIS = False


def solve(lp, options):
    from ._ortools import solve_with

    params = []
    if options.tolerance is not None:
        params += [f"primal_feasibility_tolerance: {options.tolerance:g}",
                   f"dual_feasibility_tolerance: {options.tolerance:g}"]
    return solve_with("glop", lp, options, " ".join(params))
