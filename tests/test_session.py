"""Warm re-solve sessions (optimiser.model.session): after every kind of change a warm
re-solve gives the objective of a cold solve of the changed LP, and of optimiser.solve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimiser import Instance
from optimiser.generate import generate_instance
from optimiser.model.session import Session
from optimiser.solve import solve


def _instance(seed: int, budget: bool = False) -> Instance:
    meta, tables = generate_instance(suppliers=3 + seed % 3, nodes=6 + seed, commodities=1 + seed % 3,
                                     days=12 + 3 * seed, seed=200 + seed)
    inst = Instance.from_tables(meta, tables)
    rng = np.random.default_rng(seed)
    hard = rng.random(inst.n_pairs) < 0.3
    cmin = np.where(rng.random(inst.n_supplier_pairs) < 0.3, inst.capacity.sum(axis=1) * 0.05, 0.0)
    inst = dataclasses.replace(
        inst, readiness_hard=hard, contract_min=cmin,
        initial_stock=inst.initial_stock + np.where(hard, inst.floor.max(axis=1), 0.0),
        max_stock=np.where(rng.random(inst.n_pairs) < 0.3,
                           inst.initial_stock + inst.floor.max(axis=1) * 3 + 50, inst.max_stock),
        pipeline=inst.pipeline + (rng.random(inst.pipeline.shape) < 0.05) * 7.0)
    if budget:
        inst = dataclasses.replace(inst, budget=float(0.6 * inst.demand.sum()
                                                      * inst.unit_price.mean()))
    return inst


def _changes(inst: Instance, rng):
    """(name, function applying the change to a session) for every kind a session supports."""
    return [
        ("demand", lambda s: s.update(demand=s.instance.demand
                                      * (1 + 0.2 * (rng.random(inst.demand.shape) < 0.2)))),
        ("floor", lambda s: s.update(floor=s.instance.floor * 1.15)),
        ("floors made hard", lambda s: s.update(
            readiness_hard=np.ones(inst.n_pairs, dtype=bool),
            initial_stock=s.instance.initial_stock + s.instance.floor.max(axis=1))),
        ("unmet upper bounds", lambda s: s.set_unmet_max(s.instance.demand * 0.9)),
        ("stock lower bounds", lambda s: s.set_stock_min(np.minimum(
            s.instance.floor * 0.5, s.instance.max_stock[:, None]))),
        ("capacity", lambda s: s.update(capacity=s.instance.capacity * 0.8)),
        ("initial stock and pipeline", lambda s: s.update(
            initial_stock=s.instance.initial_stock * 1.3, pipeline=s.instance.pipeline * 0.5)),
        ("prices", lambda s: s.update(unit_price=s.instance.unit_price * 1.1)),
    ]


def _highs_status(s: Session) -> str:
    from optimiser.model.backends import SolverOptions, highs
    from optimiser.model.session_network import _bounded_lp

    lp = _bounded_lp(s.instance, {"unmet_max": s.unmet_max, "stock_min": s.stock_min})
    return highs.solve(lp, SolverOptions()).status.value


def _warm_and_cold(s: Session, change):
    """Apply `change` to session s and re-solve it warm; and a fresh session's solve of the
    changed LP (the same extra bounds). (warm plan, cold plan)"""
    change(s)
    warm = s.solve()
    cold = Session(s.instance, deterministic=True)
    cold.set_unmet_max(s.unmet_max)
    cold.set_stock_min(s.stock_min)
    return warm, cold.solve()


def _assert_warm(s: Session, name: str) -> None:
    """Every block restarted from what the session kept (LEMON from its last tree, counted
    by LEMON itself; HiGHS from its last basis; an unchanged block's result). Floors made
    hard everywhere or every capacity cut may instead be solved fresh (many arcs above
    their new capacity: measured slower warm), or LEMON's repair may give up; the
    session says which."""
    blocks = s.stats.get("blocks")
    if blocks is None:  # the joint (budget) model
        assert s.stats["warm"], name
        return
    if name not in ("floors made hard", "capacity"):
        assert s.stats["warm"] and all(b["warm"] for b in blocks), (name, blocks)
        return
    for b in blocks:  # warm, or cold for a reason the session reports
        assert (b["warm"] or b.get("network_rebuilt", "").startswith("restart predicted costly")
                or b.get("network_cold_fallback")), (name, b)


@pytest.mark.parametrize("engine", ["compiled", "pylmcf"])
@pytest.mark.parametrize("seed", range(6))
def test_warm_equals_cold_after_every_change(seed, engine, monkeypatch):
    """With the compiled library's kept graphs, and with pylmcf's (no library)."""
    if engine == "pylmcf":
        monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    inst = _instance(seed)
    s = Session(inst, deterministic=True)
    first = s.solve()
    ref = solve(inst)
    assert first.status == ref.status
    if ref.status == "optimal":
        assert first.objective == pytest.approx(ref.objective, rel=1e-9)
    rng = np.random.default_rng(seed)
    for name, change in _changes(inst, rng):
        warm, c = _warm_and_cold(s, change)
        assert warm.status == c.status, name
        if c.status == "optimal":  # (an infeasible block is proven by its network at once)
            _assert_warm(s, name)
        elif c.status == "infeasible":  # the network's verdict is HiGHS's on the LP
            assert _highs_status(s) == "infeasible", name
        if c.status == "optimal":
            assert warm.objective == pytest.approx(c.objective, rel=1e-9, abs=1e-9), name
            assert warm.summary["check"]["ok"], name
            assert warm.summary["duals"]["kkt"]["ok"], name
            assert (warm.u <= s.instance.demand + 1e-9).all()
            if s.unmet_max is not None:
                assert (warm.u <= s.unmet_max + 1e-6).all(), name
        if s.unmet_max is None and s.stock_min is None and c.status == "optimal":
            assert c.objective == pytest.approx(solve(s.instance).objective, rel=1e-9), name


@pytest.mark.parametrize("seed", range(2))
def test_warm_with_a_budget_equals_cold(seed):
    inst = _instance(seed, budget=True)
    s = Session(inst, deterministic=True)
    assert s.solve().objective == pytest.approx(solve(inst).objective, rel=1e-9)
    s.update(demand=inst.demand * 1.1, budget=inst.budget * 1.05)
    warm = s.solve()
    assert s.stats["warm"]
    ref = solve(s.instance)
    assert warm.status == ref.status
    if ref.status == "optimal":
        assert warm.objective == pytest.approx(ref.objective, rel=1e-9)


def test_deterministic_sessions_are_bit_identical():
    inst = _instance(3)
    plans = []
    for _ in range(2):
        s = Session(inst, deterministic=True)
        s.solve()
        s.update(demand=inst.demand * 1.07)
        s.set_unmet_max(inst.demand * 0.95)
        plans.append(s.solve())
    a, b = plans
    assert np.array_equal(a.x, b.x) and np.array_equal(a.u, b.u) and a.objective == b.objective


def test_blocks_restarted_in_threads_equal_one_after_the_other(monkeypatch):
    """The compiled kept graphs release the interpreter lock, so a session restarts its
    blocks side by side in threads: the same plans, bit for bit, as one block after the
    other, over a chain of changes."""
    from optimiser.execution import serial_map
    from optimiser.model import lemon_native, session_network

    assert lemon_native.available()
    inst = _instance(5)  # three commodities
    assert len(session_network.blocks_of(inst)) > 1
    runs = []
    for threaded in (True, False):
        if not threaded:
            monkeypatch.setattr(session_network, "_block_map", lambda session, n: serial_map)
        else:
            assert session_network._block_map(Session(inst), 2) is not serial_map
        s = Session(inst, deterministic=True)
        plans = [s.solve()]
        for _, change in _changes(inst, np.random.default_rng(3)):
            change(s)
            plans.append(s.solve())
        runs.append(plans)
    for a, b in zip(*runs):
        assert a.status == b.status
        assert np.array_equal(a.x, b.x) and np.array_equal(a.u, b.u)
        assert a.objective == b.objective or a.status != "optimal"


def test_update_refuses_unknown_fields_and_wrong_shapes():
    inst = _instance(0)
    s = Session(inst)
    with pytest.raises(ValueError, match="horizon"):
        s.update(horizon=3)
    with pytest.raises(ValueError, match="demand: shape"):
        s.update(demand=np.zeros(3))
    with pytest.raises(ValueError, match="unmet_max: shape"):
        s.set_unmet_max(np.zeros(2))


def test_warm_restarts_are_really_warm_and_skip_highs():
    """No budget, integral data: the re-solve restarts LEMON from its kept tree (LEMON's
    counters say no cold start) and the KKT-verified network answer needs no HiGHS."""
    inst = _instance(2)
    s = Session(inst, deterministic=True)
    s.solve()
    s.update(demand=inst.demand * np.where(np.arange(inst.horizon) == 3, 2.0, 1.0))
    plan = s.solve()
    assert s.stats["network_warm"]
    hows = [b["how"] for b in s.stats["blocks"]]
    assert any(h == "network certificate (warm)" for h in hows), hows
    assert s.stats["simplex_iterations"] == 0
    assert plan.objective == pytest.approx(solve(s.instance).objective, rel=1e-9)
    assert plan.summary["check"]["ok"] and plan.summary["duals"]["kkt"]["ok"]


def test_a_change_to_one_commodity_re_solves_that_block_only():
    inst = _instance(1)  # two commodities
    assert len(inst.commodities) > 1
    s = Session(inst, deterministic=True)
    s.solve()
    first = inst.nc_commodity == 0
    s.update(floor=np.where(first[:, None], inst.floor * 1.5, inst.floor))
    plan = s.solve()
    kept = [b for b in s.stats["blocks"] if b["how"].startswith("unchanged")]
    assert len(kept) == len(inst.commodities) - 1
    assert plan.objective == pytest.approx(solve(s.instance).objective, rel=1e-9)


def test_one_floor_made_hard_stays_warm():
    """Hard floors on one pair move few stock arcs: LEMON restarts from its tree (the
    rebuild is for floors made hard almost everywhere)."""
    inst = _instance(4)
    s = Session(inst, deterministic=True)
    s.solve()
    i = int(np.flatnonzero(~inst.readiness_hard & (inst.floor.max(axis=1) > 0))[0])
    hard = inst.readiness_hard.copy()
    hard[i] = True
    init = inst.initial_stock.copy()
    init[i] += inst.floor[i].max()
    s.update(readiness_hard=hard, initial_stock=init)
    plan = s.solve()
    assert s.stats["warm"] and s.stats["network_warm"]
    assert not any(b.get("network_rebuilt") for b in s.stats["blocks"])
    assert plan.objective == pytest.approx(solve(s.instance).objective, rel=1e-9)


def test_costly_restarts_are_rebuilt_and_still_exact(monkeypatch):
    """A change that leaves many arcs above their new capacity (every capacity cut) or
    much flow to move is solved on a fresh graph (on large networks; forced here on a
    small one), reported, and equal to a cold solve."""
    import optimiser.model.network as net

    monkeypatch.setattr(net, "WARM_MIN_NODES", 0)
    inst = _instance(5)
    for change in ({"capacity": inst.capacity * 0.8}, {"initial_stock": inst.initial_stock * 2}):
        s = Session(inst, deterministic=True)
        s.solve()
        s.update(**change)
        plan = s.solve()
        rebuilt = [b for b in s.stats["blocks"] if b.get("network_rebuilt")]
        assert rebuilt and all(not b["warm"] for b in rebuilt), change
        ref = Session(s.instance, deterministic=True).solve()
        assert plan.status == ref.status == "optimal"
        assert plan.objective == pytest.approx(ref.objective, rel=1e-9)
        assert plan.objective == pytest.approx(solve(s.instance).objective, rel=1e-9)
        assert plan.summary["check"]["ok"] and plan.summary["duals"]["kkt"]["ok"]


def _same_report(a: dict, b: dict) -> None:
    assert a["ok"] == b["ok"] and a["errors"] == b["errors"]
    assert a["violations"].keys() == b["violations"].keys()
    for k, v in a["violations"].items():
        w = b["violations"][k]
        assert v["count"] == w["count"], k
        assert v["max"] == pytest.approx(w["max"], rel=1e-9, abs=1e-12), k
        if v["max"] > a["tolerance"] and k != "objective":
            assert v["where"] == w["where"], k
    assert a["objective"] == pytest.approx(b["objective"], rel=1e-12)
    assert a["breakdown"] == pytest.approx(b["breakdown"], rel=1e-12)


@pytest.mark.parametrize("broken", [False, True])
def test_the_block_by_block_check_is_the_whole_plan_check(broken):
    """Without a budget a session checks each commodity block's plan on its own and
    merges the reports: the same report as the checker's on the whole plan, for a good
    plan and for one that breaks capacities, stock limits and the objective."""
    from optimiser.check import check_plan
    from optimiser.model.session_network import blocks_of, check_blocks
    from optimiser.solve import _merge, _plan_from_arrays

    inst = _instance(1)  # two commodities
    s = Session(inst, deterministic=True)
    plan = s.solve()
    blocks = blocks_of(s.instance)
    assert len(blocks) > 1
    if broken:  # one block's flows scaled up: the merged plan violates its limits
        st = s._states[0]
        st.result = dataclasses.replace(st.result, x=st.result.x * 3.0, u=st.result.u * 0.0)
        st.check = None
        plan = _plan_from_arrays(s.instance, _merge(s.instance, blocks,
                                                    [t.result for t in s._states]))
        plan.summary["objective"] *= 1.01  # and a wrong reported objective
    by_block = check_blocks(s, blocks, plan).as_dict()
    whole = check_plan(s.instance, plan).as_dict()
    _same_report(by_block, whole)
    assert whole["ok"] is (not broken)
    if not broken:
        _same_report(plan.summary["check"], whole)


def test_a_one_block_change_gives_every_block_a_fresh_solves_result():
    """Floors changed on one commodity: the re-solve keeps the other blocks' results and
    re-solves the changed one; every block's flows, unmet, objective, shadow prices and
    check equal a fresh session's on the changed instance (unchanged blocks bit for bit)."""
    from optimiser.check import check_plan
    from optimiser.model.session_network import blocks_of

    inst = _instance(1)
    s = Session(inst, deterministic=True)
    s.solve()
    changed = inst.nc_commodity == 1
    s.update(floor=np.where(changed[:, None], inst.floor * 1.4, inst.floor))
    warm = s.solve()
    fresh_s = Session(s.instance, deterministic=True)
    fresh = fresh_s.solve()
    assert warm.objective == pytest.approx(fresh.objective, rel=1e-9)
    assert [b["how"].startswith("unchanged") for b in s.stats["blocks"]] == \
        [b.commodity != 1 for b in blocks_of(s.instance)]
    for w, f in zip(s._states, fresh_s._states):
        assert w.result.solver_objective == pytest.approx(f.result.solver_objective,
                                                          rel=1e-9, abs=1e-9)
        assert w.result.status == f.result.status
    for b, w, f in zip(blocks_of(s.instance), s._states, fresh_s._states):
        if b.commodity != 1:
            np.testing.assert_array_equal(w.result.x, f.result.x)
            np.testing.assert_array_equal(w.result.u, f.result.u)
            assert w.result.shadow.equals(f.result.shadow)
        assert w.check[0].ok and f.check[0].ok
    _same_report(warm.summary["check"], check_plan(s.instance, warm).as_dict())
    assert fresh.summary["check"]["ok"] and warm.summary["check"]["ok"]
    assert warm.summary["check"]["objective"] == pytest.approx(
        fresh.summary["check"]["objective"], rel=1e-9)


def test_a_block_is_checked_again_when_its_data_change_even_if_its_plan_does_not():
    """An unchanged block keeps its check report; a block whose data changed is checked
    again against its new data, even when its plan came out the same."""
    inst = _instance(1)
    s = Session(inst, deterministic=True)
    s.solve()
    before = [st.check for st in s._states]
    first = inst.nc_commodity == 0
    s.update(max_stock=np.where(first, inst.max_stock * 2 + 1e6, inst.max_stock))
    plan = s.solve()
    assert plan.summary["check"]["ok"]
    kept = [b["how"].startswith("unchanged") for b in s.stats["blocks"]]
    assert any(kept) and not all(kept)
    for st, old, k in zip(s._states, before, kept):
        assert (st.check is old) is k


def test_shadow_prices_are_built_when_read_and_stay_those_of_their_plan():
    """A re-solve leaves the shadow-price table to be built when read: read after the
    session has moved on (or after pickling), it is the table of that plan's own
    KKT-verified duals, the one an identical session reading it at once gets."""
    import pickle

    inst = _instance(1)
    ch = inst.demand * (1 + 0.3 * (np.random.default_rng(3).random(inst.demand.shape) < 0.2))
    now, later = Session(inst, deterministic=True), Session(inst, deterministic=True)
    tables, plans = [], []
    for change in ({}, {"demand": ch}, {"floor": inst.floor * 1.2}):
        now.update(**change)
        later.update(**change)
        p = now.solve()
        tables.append(p.shadow_prices)
        plans.append(later.solve())
        assert p.summary["duals"]["source"] == "network" and p.summary["duals"]["kkt"]["ok"]
    assert any(t.num_rows for t in tables)
    pickled = pickle.loads(pickle.dumps(plans[1]))
    assert pickled.shadow_prices.equals(tables[1])
    for p, t in zip(plans, tables):
        assert p.shadow_prices.equals(t)
        assert (np.asarray(t.column("value")) > 0).all()


def test_the_tree_potentials_give_way_to_canonical_ones_far_from_the_root():
    """network._raw_potentials (a Session's graph): the tree's own potentials, unless a
    node hangs from LEMON's artificial root (potentials near 2^62): then canonical."""
    from optimiser.model.network import _raw_potentials

    class Graph:
        def __init__(self, raw):
            self.raw, self.asked = raw, False

        def raw_potentials(self):
            return np.array(self.raw, dtype=np.int64)

        def potentials(self):
            self.asked = True
            return np.array([0, 5, 7], dtype=np.int64)

    g = Graph([3, -4, 9])
    np.testing.assert_array_equal(_raw_potentials(g), [3, -4, 9])
    assert not g.asked
    g = Graph([3, -(2**62), 9])
    np.testing.assert_array_equal(_raw_potentials(g), [0, 5, 7])
    assert g.asked


def _with_decimals(inst: Instance, seed: int) -> Instance:
    """Quantities and prices with arbitrary decimals: no exact integer scaling, so HiGHS
    finishes every block (from the rounded network's basis at the first solve)."""
    rng = np.random.default_rng(seed)

    def jitter(a):
        a = np.asarray(a, dtype=float)
        return np.where(np.isfinite(a), a * rng.uniform(0.9, 1.1, a.shape) + 0.0137, a)

    return dataclasses.replace(
        inst, demand=np.where(inst.demand > 0, jitter(inst.demand), 0.0),
        capacity=jitter(inst.capacity), unit_price=jitter(inst.unit_price),
        lane_cost=jitter(inst.lane_cost), holding_cost=jitter(inst.holding_cost),
        floor=np.where(inst.floor > 0, jitter(inst.floor), 0.0))


@pytest.mark.parametrize("seed", range(3))
def test_decimal_data_re_solve_from_highs_last_basis_and_equal_cold(seed):
    inst = _with_decimals(_instance(seed), seed)
    s = Session(inst, deterministic=True)
    first = s.solve()
    assert first.status == "optimal"
    assert not any(st.exact for st in s._states)  # HiGHS finished every block
    rng = np.random.default_rng(seed)
    for name, change in _changes(inst, rng):
        warm, c = _warm_and_cold(s, change)
        assert warm.status == c.status, name
        if c.status != "optimal":
            continue
        assert warm.objective == pytest.approx(c.objective, rel=1e-9, abs=1e-9), name
        assert warm.summary["check"]["ok"] and warm.summary["duals"]["kkt"]["ok"], name
        hows = {b["how"] for b in s.stats["blocks"]}
        assert hows <= {"HiGHS from its last basis (warm)", "unchanged (last result kept)",
                        "HiGHS from the network's basis (warm)",
                        "HiGHS from the network's basis (cold)"}, (name, hows)
        if name == "demand":  # a small change of right-hand sides: a few dual pivots
            assert "HiGHS from its last basis (warm)" in hows, (name, s.stats["blocks"])


def test_decimal_data_go_the_networks_way_when_the_highs_budget_runs_out(monkeypatch):
    import optimiser.model.session as session_mod
    import optimiser.model.session_network as sn

    inst = _with_decimals(_instance(2), 2)
    s = Session(inst, deterministic=True)
    s.solve()
    monkeypatch.setattr(session_mod, "WARM_ITERATIONS", 1)
    monkeypatch.setattr(sn, "HIGHS_FIRST_FRACTION", 0.0)
    s.update(demand=inst.demand * 1.3, capacity=inst.capacity * 0.9)
    warm = s.solve()
    blocks = s.stats["blocks"]
    assert all(b.get("warm_highs") == "kIterationLimit" for b in blocks), blocks
    assert all(b["how"].startswith("HiGHS from the network's basis") for b in blocks), blocks
    c = Session(s.instance, deterministic=True).solve()
    assert warm.objective == pytest.approx(c.objective, rel=1e-9)
    assert warm.summary["check"]["ok"] and warm.summary["duals"]["kkt"]["ok"]
