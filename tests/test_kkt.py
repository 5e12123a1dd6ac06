"""The KKT check: right duals accepted, wrong ones rejected for the right reason."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

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


# ---------------------------------------------------------------- one condition at a time
# Hand-made LPs in the builder's form (cost, bounds, rows lo <= A v <= hi); the
# optimum and its duals are known by hand, then exactly one condition is broken.
INF = np.inf
TOL = 1e-6
CONDITIONS = ("primal_residual", "dual_sign", "complementarity", "gap")


def lp_of(c, A, lo, hi, lb, ub):
    f = lambda v: np.asarray(v, dtype=np.float64)  # noqa: E731
    return SimpleNamespace(vars=SimpleNamespace(cost=f(c), lb=f(lb), ub=f(ub)),
                           A=f(A), row_lo=f(lo), row_hi=f(hi))


# min x1 + 2 x2 + 0 x3  s.t.  x1 + x2 >= 1,  x3 <= 5;  0 <= x1, x2 <= 10, x3 >= 0.
# Optimum v = (1, 0, 0) with y = (1, 0): d = c - A^T y = (0, 1, 0); both objectives 1.
SMALL = lp_of(c=[1, 2, 0], A=[[1, 1, 0], [0, 0, 1]], lo=[1, -INF], hi=[INF, 5],
              lb=[0, 0, 0], ub=[10, 10, INF])


def failing(rep) -> set[str]:
    return {k for k in CONDITIONS if getattr(rep, k) > TOL}


def test_hand_optimum_passes_every_condition():
    rep = kkt_check(SMALL, np.array([1.0, 0, 0]), np.array([1.0, 0]))
    assert rep.ok and failing(rep) == set()
    assert rep.as_dict() == {"ok": True, "primal_residual": 0.0, "dual_sign": 0.0,
                             "complementarity": 0.0, "gap": 0.0}


def test_primal_residual_alone_rejects():
    # x3 = 6 breaks x3 <= 5; its multiplier is 0 and its cost 0: nothing else moves
    rep = kkt_check(SMALL, np.array([1.0, 0, 6]), np.array([1.0, 0]))
    assert not rep.ok and failing(rep) == {"primal_residual"}
    assert rep.primal_residual == pytest.approx(1 / 6)  # 1 over 1 + |5|
    # a first-order solver's looser primal tolerance accepts it, and only it
    assert kkt_check(SMALL, np.array([1.0, 0, 6]), np.array([1.0, 0]), primal_tol=0.2).ok
    assert not kkt_check(SMALL, np.array([1.0, 0, 6]), np.array([1.0, 0]), primal_tol=0.1).ok


@pytest.mark.parametrize("v, fragment", [
    ([1.0, 0, -0.5], "below a variable's lower bound"),
    ([1.0, 11.0, 0], "above a variable's upper bound"),
])
def test_primal_residual_counts_variable_bounds(v, fragment):
    # duals chosen so that nothing but the bound breaks (the gap follows the cost of v)
    lp = lp_of(c=[0, 0, 0], A=[[1, 1, 0], [0, 0, 1]], lo=[-INF, -INF], hi=[INF, INF],
               lb=[0, 0, 0], ub=[10, 10, INF])
    rep = kkt_check(lp, np.array(v), np.array([0.0, 0.0]))
    assert not rep.ok and failing(rep) == {"primal_residual"}, fragment
    assert rep.primal_residual == pytest.approx(0.5 if v[2] < 0 else 1 / 11)


def test_primal_residual_counts_a_row_below_its_lower_bound():
    lp = lp_of(c=[0, 0], A=[[1, 1]], lo=[3], hi=[INF], lb=[0, 0], ub=[INF, INF])
    rep = kkt_check(lp, np.array([1.0, 1.0]), np.array([0.0]))
    assert failing(rep) == {"primal_residual"}
    assert rep.primal_residual == pytest.approx(1 / 4)


def test_wrong_dual_sign_alone_rejects():
    # x3 = 5 sits at its row's upper bound; a positive multiplier there needs a lower
    # bound the row does not have (and leaves x3 a negative reduced cost with no upper)
    rep = kkt_check(SMALL, np.array([1.0, 0, 5]), np.array([1.0, 0.5]))
    assert not rep.ok and failing(rep) == {"dual_sign"}
    assert rep.dual_sign == pytest.approx(0.5 / 2)  # relative to max |c| = 2


def test_wrong_reduced_cost_sign_alone_rejects():
    # min -x s.t. nothing, 0 <= x (no upper bound): d = -1 leans on a missing upper bound
    lp = lp_of(c=[-1.0], A=np.zeros((1, 1)), lo=[-INF], hi=[INF], lb=[0.0], ub=[INF])
    rep = kkt_check(lp, np.array([0.0]), np.array([0.0]))
    assert not rep.ok and failing(rep) == {"dual_sign"}
    assert rep.dual_sign == pytest.approx(1.0)


def test_complementarity_alone_rejects():
    # Two rows x1 >= 1 and x2 >= 1, both multipliers positive. Row 1 is slack by 1e-3
    # (its multiplier should be 0); row 2 is short by 1e-5, within a first-order solver's
    # primal tolerance. Their products cancel in the gap, not in complementarity.
    lp = lp_of(c=[1.0, 100.0], A=[[1, 0], [0, 1]], lo=[1, 1], hi=[INF, INF],
               lb=[-INF, -INF], ub=[INF, INF])
    v = np.array([1.0 + 1e-3, 1.0 - 1e-5])
    y = np.array([1.0, 100.0])
    rep = kkt_check(lp, v, y, primal_tol=1e-4)
    assert rep.gap == pytest.approx(0.0, abs=1e-12)
    assert rep.primal_residual <= 1e-4 and rep.dual_sign == 0.0
    assert rep.complementarity == pytest.approx(1e-3 / (1.001 + 99.999))
    assert not rep.ok and failing(rep) - {"primal_residual"} == {"complementarity"}


def test_lp_without_rows_is_checked_on_its_bounds():
    lp = lp_of(c=[1.0, 2.0], A=np.zeros((0, 2)), lo=[], hi=[], lb=[0, 0], ub=[INF, 3])
    assert kkt_check(lp, np.array([0.0, 0.0]), np.zeros(0)).ok
    rep = kkt_check(lp, np.array([0.0, 4.0]), np.zeros(0))
    assert not rep.ok and rep.primal_residual == pytest.approx(1 / 4)


def test_gap_alone_rejects():
    # ten rows x_k >= 1 each with multiplier 1; every x_k above its bound by 5e-6: each
    # product stays under the tolerance, their sum (the duality gap) does not
    n = 10
    lp = lp_of(c=np.ones(n), A=np.eye(n), lo=np.ones(n), hi=np.full(n, INF),
               lb=np.full(n, -INF), ub=np.full(n, INF))
    v = np.ones(n) + 5e-6
    rep = kkt_check(lp, v, np.ones(n))
    assert not rep.ok and failing(rep) == {"gap"}
    assert rep.gap == pytest.approx(n * 5e-6 / float(v.sum()))
    assert rep.complementarity == pytest.approx(5e-6 / float(v.sum()))


def test_upper_bound_multipliers_count_in_the_dual_objective():
    # max x (min -x) s.t. x <= 4 as a row; y = -1 at the upper bound: both objectives -4
    lp = lp_of(c=[-1.0], A=[[1.0]], lo=[-INF], hi=[4.0], lb=[0.0], ub=[INF])
    assert kkt_check(lp, np.array([4.0]), np.array([-1.0])).ok
    # the same with the bound on the variable: d = -1 leans on ub = 4
    lp2 = lp_of(c=[-1.0], A=np.zeros((1, 1)), lo=[-INF], hi=[INF], lb=[0.0], ub=[4.0])
    rep = kkt_check(lp2, np.array([4.0]), np.array([0.0]))
    assert rep.ok and failing(rep) == set()
    # and x short of that bound: complementarity and gap both see the unit of slack
    rep = kkt_check(lp2, np.array([3.0]), np.array([0.0]))
    assert rep.complementarity == pytest.approx(1 / 3) and rep.gap == pytest.approx(1 / 3)


@pytest.mark.parametrize("case", ["supplier_capacity", "budget", "storage", "contract_min"])
def test_solver_duals_pass_and_each_broken_condition_is_caught(case):
    """On real LPs: the solver's duals pass; a shifted point, flipped duals, or duals
    scaled away from optimality are each rejected."""
    from optimiser.model.backends import SolverOptions, get_backend

    lp = build_lp(CASES[case][0]())
    sol = get_backend("glop").solve(lp, SolverOptions(solver="glop"))
    good = kkt_check(lp, sol.values, sol.duals)
    assert good.ok, good
    assert not kkt_check(lp, sol.values, -sol.duals).ok
    assert kkt_check(lp, sol.values, -sol.duals).dual_sign > TOL
    bad_gap = kkt_check(lp, sol.values, 0.5 * sol.duals)
    assert not bad_gap.ok


def test_lp_without_variables_is_trivially_optimal():
    lp = lp_of(c=np.zeros(0), A=np.zeros((0, 0)), lo=[], hi=[], lb=[], ub=[])
    rep = kkt_check(lp, np.zeros(0), np.zeros(0))
    assert rep.ok and rep.as_dict() == {"ok": True, "primal_residual": 0.0, "dual_sign": 0.0,
                                        "complementarity": 0.0, "gap": 0.0}


def test_conditions_exactly_at_the_tolerance_pass():
    # min x s.t. x >= 0 (a row), free x: x = 1e-6 with multiplier 1 leaves a slack of
    # exactly 1e-6 (complementarity 1e-6) and a gap of exactly 1e-6: both at the tolerance
    lp = lp_of(c=[1.0], A=[[1.0]], lo=[0.0], hi=[INF], lb=[-INF], ub=[INF])
    rep = kkt_check(lp, np.array([1e-6]), np.array([1.0]))
    assert rep.complementarity == 1e-6 and rep.gap == 1e-6
    assert rep.ok
