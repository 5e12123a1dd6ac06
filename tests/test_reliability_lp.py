"""The reliability LP's exact network path (reliability/lp.py, reliability/netlp.py):
LEMON warm-restarted from its last tree plus the KKT network certificate, against HiGHS on
the same (snapped) floors; the snapping of floors, hard bounds and rationing caps; the
readiness duals the loop prices buffers with; determinism; the budget and fallback paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimiser.generate import generate_instance
from optimiser.instance import Instance
from optimiser.reliability.lp import ReliabilityLP
from optimiser.reliability.netlp import snap_down, snap_up
from optimiser.solve import _plan_from_arrays, solve
from optimiser.tables import make_instance

from .reliability_cases import lp_objective, lp_session, network, one_pair, raise_floors


def _random(seed: int, budget: float | None = None) -> Instance:
    meta, tables = generate_instance(3, 5, 2, 12, seed=seed, budget=budget)
    return Instance.from_tables(meta, tables)


def _instance_objective(inst: Instance, res) -> float:
    from optimiser.solve import BlockResult

    block = BlockResult(status=res.status, backend_status="", x=res.x, u=res.u,
                        solver_objective=None, size={}, timings={})
    return float(_plan_from_arrays(inst, block).objective)


CASES = [("network", lambda: network(8), 30.0), ("one-unit", lambda: one_pair(T=3, demand=1.0,
                                                                             floor=0.5), 0.4)]
CASES += [(f"generated-{k}", (lambda k=k: _random(k)), 200.0) for k in range(4)]


@pytest.mark.parametrize("name,make,scale", CASES, ids=[c[0] for c in CASES])
def test_network_path_equals_highs_after_warm_raises(name, make, scale):
    """On each floor of a sequence of raises (arbitrary decimals), the network path's LP
    objective equals HiGHS's warm dual simplex at the same snapped floors to 1e-9, it is
    answered by the certificate (no simplex iteration), and the plan's objective against
    the instance's own floors agrees too."""
    inst = make()
    net, _, cand, P, hard = lp_session(inst, "network")
    ref, *_ = lp_session(inst, "warm")
    rng = np.random.default_rng(7)
    for k in range(6):
        res = net.solve(P, hard)
        assert res.status.value == "optimal"
        assert all(b.how in ("network certificate", "unchanged (last solution kept)")
                   for b in net.blocks), [b.how for b in net.blocks]
        assert res.iterations == 0
        want = ref.solve(res.planning_floor, hard)
        a, b = lp_objective(net), lp_objective(ref)
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (k, a, b)
        ia, ib = _instance_objective(inst, res), _instance_objective(inst, want)
        assert abs(ia - ib) <= 1e-9 * max(1.0, abs(ib)), (k, ia, ib)
        # the plan holds the snapped floor wherever HiGHS does
        np.testing.assert_allclose(res.unreached > 1e-9, want.unreached > 1e-9)
        P = raise_floors(rng, P, res, cand, scale)


def test_snapping_never_lowers_a_floor_and_keeps_grid_values():
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.uniform(0, 1e6, 10_000), rng.uniform(0, 2, 1000),
                        np.round(rng.uniform(0, 1e4, 1000), 3), [0.0, 0.1, 0.3, 1e-9, 2.675]])
    for q in (1, 10, 100, 1000):
        up = snap_up(a, q)
        # never lower, but for floating noise: a value within 1e-9 relative above a grid
        # point is that point (far inside the 1e-6 breach tolerance)
        assert np.all(up >= a - 1e-9 * np.maximum(1.0 / q, a)), q
        assert np.all(up - a < 1.0 / q)  # by less than one grid step
        assert np.allclose(up * q, np.round(up * q), rtol=0, atol=1e-6)  # on the grid
        on = np.round(a * q) / q  # values on the grid stay exactly where they are
        np.testing.assert_array_equal(snap_up(on, q), on)
        down = snap_down(a, q)
        assert np.all(down <= a + 1e-9 * np.maximum(1.0 / q, a)) and np.all(a - down < 1.0 / q)
        np.testing.assert_array_equal(snap_down(on, q), on)


@pytest.mark.parametrize("make", [lambda: network(8), lambda: _random(1)])
def test_lp_floor_is_never_below_the_asked_floor_and_caps_never_above_baseline(make):
    inst = make()
    lp, base, cand, P, hard = lp_session(inst, "network")
    rng = np.random.default_rng(11)
    res = lp.solve(P, hard)
    for _ in range(3):
        P = raise_floors(rng, P, res, cand, 50.0)
        res = lp.solve(P, hard)
        rows = cand[:, None] & np.ones_like(P, bool)
        assert np.all(res.planning_floor[rows] >= P[rows])
        assert np.all(res.planning_floor[rows] - P[rows] < 1e-3 + 1e-12)
        # the plan holds what it reports as held
        held = res.unreached <= 1e-9
        assert np.all(res.s[held & rows] >= res.planning_floor[held & rows] - 1e-9)
    for b in lp.blocks:
        v = b.lp.vars
        cap = base.u[b.pairs].ravel()[v.u_flat]
        demand = b.sub.demand.ravel()[v.u_flat]
        assert np.all(v.ub[v.u_start:v.r_start] <= cap + 1e-7 * np.maximum(1.0, demand))
    assert np.all(res.u <= base.u + 1e-7 * np.maximum(1.0, inst.demand))


def test_readiness_duals_bracket_the_finite_difference():
    """LPResult.dual is the marginal cost of one more unit of planning floor: between the
    left and right slopes of the LP's optimal value in that floor (it is convex), measured
    by re-solving at the floor +- one grid step (exact: both lie on the grid); and equal to
    HiGHS's dual where the slopes agree."""
    inst = network(8)
    lp, _, cand, P, hard = lp_session(inst, "network")
    ref, *_ = lp_session(inst, "warm")
    rng = np.random.default_rng(5)
    res = lp.solve(P, hard)
    P = raise_floors(rng, P, res, cand, 40.0)
    res = lp.solve(P, hard)
    v0, dual, P0 = lp_objective(lp), res.dual.copy(), res.planning_floor.copy()
    ref.solve(P0, hard)
    hdual = np.zeros_like(dual)
    for b in ref.blocks:
        hdual[b.row_pair, b.row_day] = np.abs(b.sol.duals[b.rows])
    step = 1e-3
    checked = agreed = 0
    for i, t in zip(*np.nonzero(cand[:, None] & (P0 > 0))):
        slopes = []
        for sign in (-1, 1):
            fresh, *_ = lp_session(inst, "network")
            Q = P0.copy()
            Q[i, t] += sign * step
            fresh.solve(Q, hard)
            slopes.append(sign * (lp_objective(fresh) - v0) / step)
        left, right = slopes
        tol = 1e-6 * max(1.0, abs(dual[i, t]))
        assert left - tol <= dual[i, t] <= right + tol, (i, t, left, dual[i, t], right)
        checked += 1
        if right - left <= tol:
            assert abs(hdual[i, t] - dual[i, t]) <= tol
            agreed += 1
    assert checked >= 10 and agreed >= 1


def _loop_run(inst, workers: int, seed: int = 4):
    """Four solves of the loop's kind (each raising floors where the last plan stands),
    the session closed after them: (x, u, s, dual of each solve; the blocks' workers)."""
    lp, _, cand, P, hard = lp_session(inst, "network", workers=workers)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(4):
        res = lp.solve(P, hard)
        out.append((res.x.copy(), res.u.copy(), res.s.copy(), res.dual.copy()))
        P = raise_floors(rng, P, res, cand, 100.0)
    lp.close()
    return out, [b.worker for b in lp.blocks]


def _same_bits(*runs) -> None:
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)


def test_same_floors_same_bits_at_one_and_two_workers_and_run_to_run():
    inst = _random(2)
    _same_bits(*(_loop_run(inst, workers, seed=9)[0] for workers in (1, 2, 2)))


def test_forked_lemon_equals_in_process_lemon(monkeypatch):
    """LEMON in a forked child (the plain solve's fresh blocks) and in process give the
    same flow and potentials on the reliability network; the loop's kept graph reaches
    the same optimum, and with pylmcf alone (no compiled library) the kept graph and the
    forked fresh solve give the same flow and potentials."""
    from optimiser.model import network as nw

    inst = _random(3)
    lp, _, cand, P, hard = lp_session(inst, "network")
    lp.solve(P, hard)
    for b in lp.blocks:
        net, _ = nw.build_network(b.sub, b.lp, b.keep["scale"])
        fa, pa_ = nw._solve_lemon_forked(net)
        fh, ph = nw._solve_lemon_fresh(net)
        np.testing.assert_array_equal(fa, fh)
        np.testing.assert_array_equal(pa_, ph)
        fb, pb = nw.solve_lemon(net, keep={})
        assert nw.network_cost(net, fa) == nw.network_cost(net, fb)
        monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
        fa, pa_ = nw._solve_lemon_forked(net)
        fb, pb = nw.solve_lemon(net, keep={})
        monkeypatch.delenv("OPTIMISER_LEMON_LIB")
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(pa_, pb)


def test_budget_stays_on_highs_warm():
    inst = _random(4)
    base = solve(inst)
    inst = dataclasses.replace(inst, budget=1.05 * float(base.breakdown["procurement"]))
    lp, _, cand, P, hard = lp_session(inst, "network")
    assert len(lp.blocks) == 1 and lp.blocks[0].grid == 0
    ref, *_ = lp_session(inst, "warm")
    rng = np.random.default_rng(1)
    for _ in range(3):
        res = lp.solve(P, hard)
        assert res.status.value == "optimal"
        assert all(b.how != "network certificate" for b in lp.blocks)
        np.testing.assert_array_equal(res.planning_floor, P)  # nothing snapped
        ref.solve(P, hard)
        assert lp_objective(lp) == lp_objective(ref)
        P = raise_floors(rng, P, res, cand, 100.0)


def test_snapped_hard_bounds_that_cannot_hold_fall_back_to_highs_as_given():
    """Two depots sharing 0.001 of supply, each asked to hold 0.0005 hard: snapped up to
    the grid they would need 0.002, so the network is infeasible; HiGHS solves the block
    at the bounds as given (optimal, each depot holding its 0.0005)."""
    rows = {"suppliers": [{"supplier": "S", "commodity": "A", "unit_price": 1.0,
                           "daily_capacity": 0.001}],
            "nodes": [{"node": n, "commodity": "A", "floor": 0.0, "initial_stock": 0.0,
                       "holding_cost": 0.01} for n in ("D1", "D2")],
            "lanes": [{"origin": "S", "destination": n, "commodity": "A", "lead_time_days": 0}
                      for n in ("D1", "D2")],
            "demand": []}
    inst = make_instance("shared", 1, **rows)
    cand = np.ones(inst.n_pairs, bool)
    lp = ReliabilityLP(inst, cand, np.zeros((2, 1)), method="network")
    hard = np.full((2, 1), 0.0005)
    res = lp.solve(np.zeros((2, 1)), hard)
    assert lp.blocks[0].grid == 1000
    assert res.status.value == "optimal"
    assert lp.blocks[0].how.startswith("HiGHS")
    np.testing.assert_allclose(res.s, hard, rtol=1e-9)


def test_kept_graphs_restart_in_threads_as_one_after_the_other():
    """The compiled library's kept graphs release the interpreter lock: blocks solved
    concurrently restart side by side in threads (no worker process) and give the same
    bits as one block after the other, warm restarts included."""
    from optimiser.model import lemon_native

    assert lemon_native.available()
    inst = _random(5)
    serial, _ = _loop_run(inst, 1)
    threaded, workers = _loop_run(inst, 2)
    assert workers == [None] * len(workers) and len(workers) > 1
    _same_bits(serial, threaded)


def test_lemon_in_worker_processes_equals_in_process(monkeypatch):
    """Without the compiled library (pylmcf holds the interpreter lock), blocks solved
    concurrently keep their LEMON graph in a forked worker each: the same calls in the
    same order, so the same bits as the graphs kept in process, warm restarts included;
    the workers end with the session."""
    import optimiser.reliability.netlp as netlp

    monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    inst = _random(5)
    runs = []
    for min_vars in (10**9, 0):
        monkeypatch.setattr(netlp, "WORKER_MIN_VARS", min_vars)
        out, workers = _loop_run(inst, 2)
        assert all((w is None) == (min_vars > 0) for w in workers)
        assert all(w is None or not w.proc.is_alive() for w in workers)
        runs.append(out)
    _same_bits(*runs)


def test_a_block_the_raise_missed_keeps_its_solution():
    inst = network(8)
    lp, _, cand, P, hard = lp_session(inst, "network")
    ref, *_ = lp_session(inst, "warm")
    res = lp.solve(P, hard)
    k0 = inst.nc_commodity == 0
    P2 = np.where((cand & k0)[:, None], np.maximum(P, res.s + 7.25), P)
    res2 = lp.solve(P2, hard)
    hows = {int(inst.nc_commodity[b.pairs[0]]): b.how for b in lp.blocks}
    assert hows == {0: "network certificate", 1: "unchanged (last solution kept)"}
    ref.solve(res2.planning_floor, hard)
    assert abs(lp_objective(lp) - lp_objective(ref)) <= 1e-9 * abs(lp_objective(ref))
    np.testing.assert_array_equal(res2.s[~k0], res.s[~k0])
