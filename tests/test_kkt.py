"""The KKT check: right duals accepted, wrong ones rejected for the right reason."""

from __future__ import annotations

from optimiser.model import build_lp
from optimiser.model.duals import kkt_check

from .lp_cases import CASES


def test_kkt_rejects_wrong_duals():
    """The HiGHS-through-OR-Tools failure mode: row activities handed back as duals."""
    from optimiser.model.backends import SolverOptions, get_backend

    lp = build_lp(CASES["supplier_capacity"][0]())
    sol = get_backend("glop").solve(lp, SolverOptions(solver="glop"))
    assert kkt_check(lp, sol.values, sol.duals).ok
    assert not kkt_check(lp, sol.values, lp.A @ sol.values).ok
