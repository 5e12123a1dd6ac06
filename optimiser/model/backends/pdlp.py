"""PDLP (first-order primal-dual hybrid gradient) through OR-Tools' model builder.

Approximate: the solution is optimal to eps_optimal (relative 1e-8 by default
here, tighter than OR-Tools' 1e-6 default, so objectives agree with simplex to
~1e-7); multi-threaded.
"""

from __future__ import annotations

from ._ortools import INSTALL_HINT, available  # noqa: F401  (backend protocol)

NAME = "pdlp"
DESCRIPTION = "PDLP first-order LP (OR-Tools); multi-threaded; optimal to a tolerance"
# capability flags (backends.Backend)
GIVES_DUALS = True
EXACT_VERTEX = False
ACCEPTS_BASIS = False

DEFAULT_EPS = 1e-8


def solve(lp, options):
    from ._ortools import solve_with

    eps = options.tolerance if options.tolerance is not None else DEFAULT_EPS
    params = [f"termination_criteria {{ simple_optimality_criteria {{ eps_optimal_absolute: {eps:g}"
              f" eps_optimal_relative: {eps:g} }} }}",
              "use_feasibility_polishing: true",
              "handle_some_primal_gradients_on_finite_bounds_as_residuals: false"]
    if options.threads:
        params.append(f"num_threads: {int(options.threads)}")
    return solve_with("pdlp", lp, options, " ".join(params))
