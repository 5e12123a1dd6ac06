"""The reliability LP on a binding budget (reliability/lp.py): one joint HiGHS model,
re-solved warm after each raise of the planning floors. Its costs are scaled by a power
of two (objective_scale: the penalty BIG and a binding budget made the 100k-few-b tier's
warm re-solve end kUnknown), a failed warm HiGHS run is solved again cold (counted and
logged), and the reliability loop on a budget instance returns a checked plan."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import optimiser
from optimiser.generate import generate_instance
from optimiser.instance import Instance
from optimiser.model.status import Status
from optimiser.reliability import lp as rlp
from optimiser.reliability.lp import COST_NORM, ReliabilityLP, big_penalty, objective_scale
from optimiser.scenarios.params import ScenarioParams
from optimiser.solve import solve

from .reliability_cases import lp_objective, lp_session, raise_floors


def _budget_case(seed: int, share: float = 0.6) -> Instance:
    """A generated instance whose budget is `share` of what the budget-free plan buys:
    it binds (the tiers' -b rule is 60% of the demand at the mean price)."""
    meta, tables = generate_instance(3, 5, 2, 12, seed=seed)
    inst = Instance.from_tables(meta, tables)
    free = solve(inst, solver="highs", threads=1)
    return dataclasses.replace(inst, budget=share * float(free.breakdown["procurement"]))


def test_objective_scale_brings_the_largest_cost_under_the_norm():
    for top in (0.5, COST_NORM, 1025.0, 1.7e6, 3e12):
        k = objective_scale(np.array([0.1, -top]))
        assert k <= 0
        assert abs(top) * 2.0 ** k <= COST_NORM
        assert k == 0 or abs(top) * 2.0 ** (k + 1) > COST_NORM  # no smaller than needed
    assert objective_scale(np.zeros(0)) == 0


@pytest.mark.parametrize("seed", [0, 3])
def test_warm_resolves_after_floor_raises_equal_cold_solves(seed):
    """The budget binds in the expected plan; on each of a sequence of raised planning
    floors the warm re-solve (HiGHS from its last basis, scaled costs) is optimal and its
    objective equals a cold solve of the same LP (presolve, no basis) to 1e-9, and the
    readiness rows' duals agree where the plans do."""
    inst = _budget_case(seed)
    warm, base, cand, P, hard = lp_session(inst, "network", workers=1)
    cold, *_ = lp_session(inst, "cold", workers=1)
    assert len(warm.blocks) == 1 and warm.blocks[0].grid == 0  # one joint HiGHS model
    spend = float(base.breakdown["procurement"])
    assert spend >= inst.budget * (1 - 1e-9)  # binding
    assert objective_scale(warm.blocks[0].lp.vars.cost) < 0  # BIG > COST_NORM
    assert big_penalty(inst) > COST_NORM
    rng = np.random.default_rng(seed)
    for k in range(4):
        res = warm.solve(P, hard)
        ref = cold.solve(P, hard)
        assert res.status == Status.OPTIMAL and ref.status == Status.OPTIMAL
        assert warm.solves[-1]["cold_fallbacks"] == 0
        a, b = lp_objective(warm), lp_objective(cold)
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (k, a, b)
        blk = warm.blocks[0]  # HiGHS saw scaled costs: the objective is back in LP units
        direct = float(blk.lp.vars.cost @ blk.sol.values)
        assert abs(a - direct) <= 1e-9 * max(1.0, abs(direct)), (a, direct)
        P = raise_floors(rng, P, res, cand, 200.0)
    assert warm.solves[-1]["warm"]


def test_failed_warm_run_is_solved_again_cold_counted_and_logged(monkeypatch):
    """The safety net: a warm HiGHS run that does not end optimal is run again from
    scratch; the answer is the cold solve's, the solve entry counts it, the log says so."""
    inst = _budget_case(1)
    msgs = []
    lp, _, cand, P, hard = lp_session(inst, "network", workers=1, log=msgs.append)
    ref, *_ = lp_session(inst, "cold", workers=1)
    res = lp.solve(P, hard)
    P = raise_floors(np.random.default_rng(2), P, res, cand, 200.0)
    real = ReliabilityLP._highs_run
    calls = []

    def failing_once(self, b, t):
        sol = real(self, b, t)
        calls.append(sol.backend_status)
        if len(calls) == 1:  # the warm run: report it as HiGHS's kUnknown would come
            sol.status, sol.backend_status, sol.values = Status.ERROR, "kUnknown", None
        return sol

    monkeypatch.setattr(ReliabilityLP, "_highs_run", failing_once)
    res = lp.solve(P, hard)
    monkeypatch.setattr(ReliabilityLP, "_highs_run", real)
    assert len(calls) == 2 and res.status == Status.OPTIMAL
    assert lp.solves[-1]["cold_fallbacks"] == 1
    assert any("cold re-solve after kUnknown" in h for h in lp.solves[-1]["how"])
    assert len(msgs) == 1 and "kUnknown" in msgs[0]
    ref.solve(P, hard)
    assert abs(lp_objective(lp) - lp_objective(ref)) <= 1e-9 * abs(lp_objective(ref))


def test_reliability_plan_on_a_binding_budget_passes_the_check():
    """solve(..., reliability=R) on a binding budget: no exception, an outcome of the
    table (certified, or not with its limits named), the plan passes the independent
    check, its spend within the budget, its shadow prices KKT-verified (HiGHS ran on
    scaled costs), the first LP solve primed, every solve optimal without fallback."""
    inst = _budget_case(2)
    plan = optimiser.solve(inst, reliability=0.8, train=300, certify=400, seed=1,
                           params=ScenarioParams(demand_sigma=0.2))
    s = plan.summary
    assert plan.status == "optimal"
    assert s["check"]["ok"], s["check"]
    assert s["breakdown"]["procurement"] <= inst.budget * (1 + 1e-6)
    rel = s["reliability"]
    assert isinstance(rel["certified"], bool)
    if not rel["certified"]:
        assert s["reliability_run"]["limits"] or "not certified" in s["message"]
    assert s["duals"]["kkt_ok"], s["duals"]  # the scaled solve's duals, KKT-verified
    solves = s["reliability_run"]["lp_solves"]
    assert all(x["cold_fallbacks"] == 0 for x in solves)
    assert solves[0]["how"][0].startswith("HiGHS cold at the expected plan's floors")
    assert rlp.objective_scale(np.array([big_penalty(inst)])) < 0


def test_a_block_without_an_exact_grid_is_primed_from_the_expected_plan_and_equals_cold():
    """Data with more decimals than the exact network path takes: the block is a HiGHS
    model; its first solve is primed from the expected plan's point at the floors that
    plan holds, then warm at P, and every solve's objective equals a cold solve's."""
    meta, tables = generate_instance(3, 5, 2, 12, seed=4)
    inst = Instance.from_tables(meta, tables)
    inst = dataclasses.replace(inst, demand=inst.demand * 1.0000123)  # 7+ decimals
    warm, base, cand, P, hard = lp_session(inst, "network", workers=1)
    cold, *_ = lp_session(inst, "cold", workers=1)
    rng = np.random.default_rng(4)
    for k in range(3):
        res = warm.solve(P, hard)
        ref = cold.solve(P, hard)
        assert res.status == Status.OPTIMAL and ref.status == Status.OPTIMAL
        assert all(b.grid == 0 for b in warm.blocks)  # no exact grid: HiGHS
        a, b = lp_objective(warm), lp_objective(cold)
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (k, a, b)
        if k == 0:
            assert all(h.startswith("HiGHS from the expected plan's point at the floors")
                       for h in warm.solves[0]["how"]), warm.solves[0]["how"]
        P = raise_floors(rng, P, res, cand, 50.0)
    assert warm.solves[-1]["how"] == ["HiGHS from its last basis"]
