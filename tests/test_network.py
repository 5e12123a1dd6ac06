"""The network path (model/network.py, model/basis.py): LEMON and OR-Tools agree on the
network optimum; the network's basis is an optimal LP basis; the plan equals the joint LP."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from optimiser import Instance
from optimiser.generate import generate_instance
from optimiser.model import network as net
from optimiser.model.build import build_lp
from optimiser.model.decompose import split_by_commodity
from optimiser.solve import solve


@pytest.fixture(scope="module")
def generated_small():
    meta, tables = generate_instance(suppliers=6, nodes=12, commodities=2, days=30, seed=7)
    return Instance.from_tables(meta, tables)


def _random_instance(seed: int, decimals: bool = False) -> Instance:
    """Hard floors, contracts, storage limits, pipeline, transshipment (depot lanes)."""
    meta, tables = generate_instance(suppliers=2 + seed % 4, nodes=5 + seed % 7,
                                     commodities=1 + seed % 3, days=10 + 2 * (seed % 9),
                                     seed=300 + seed)
    inst = Instance.from_tables(meta, tables)
    rng = np.random.default_rng(seed)
    hard = rng.random(inst.n_pairs) < 0.3
    cap_total = inst.capacity.sum(axis=1)
    inst = dataclasses.replace(
        inst, readiness_hard=hard,
        initial_stock=inst.initial_stock + np.where(hard, inst.floor.max(axis=1), 0.0),
        contract_min=np.where(rng.random(inst.n_supplier_pairs) < 0.3, 0.1 * cap_total, 0.0),
        contract_max=np.where(rng.random(inst.n_supplier_pairs) < 0.3, 0.5 * cap_total, np.inf),
        max_stock=np.where(rng.random(inst.n_pairs) < 0.3,
                           inst.initial_stock + inst.floor.max(axis=1) * 2 + 40, inst.max_stock),
        pipeline=inst.pipeline + (rng.random(inst.pipeline.shape) < 0.05) * 5.0,
        readiness_penalty=inst.readiness_penalty * rng.choice([0.0, 0.5, 3.0], inst.n_pairs))
    if decimals:
        def jitter(a):
            a = np.asarray(a, dtype=float)
            return np.where(np.isfinite(a), a * rng.uniform(0.9, 1.1, a.shape) + 0.0137, a)
        inst = dataclasses.replace(
            inst, demand=np.where(inst.demand > 0, jitter(inst.demand), 0.0),
            capacity=jitter(inst.capacity), unit_price=jitter(inst.unit_price),
            lane_cost=jitter(inst.lane_cost), holding_cost=jitter(inst.holding_cost),
            floor=np.where(inst.floor > 0, jitter(inst.floor), 0.0),
            initial_stock=jitter(inst.initial_stock))
    return inst


@pytest.mark.parametrize("seed", range(6))
def test_lemon_and_ortools_reach_the_same_network_optimum(seed):
    inst = _random_instance(seed)
    for block in split_by_commodity(inst) if len(inst.commodities) > 1 else [None]:
        b = block.instance if block is not None else inst
        lp = build_lp(b)
        network, _ = net.build_network(b, lp)
        try:
            f_ortools, _ = net.solve_network(network, "ortools")
        except RuntimeError:
            with pytest.raises(RuntimeError):
                net.solve_network(network, "lemon")
            continue
        f_lemon, pot = net.solve_network(network, "lemon")
        assert net.network_cost(network, f_lemon) == net.network_cost(network, f_ortools)
        # LEMON's flow is feasible in the original (unreversed) network, and the potentials
        # certify it: complementary slackness arc by arc
        assert (f_lemon >= 0).all() and (f_lemon <= network.caps).all()
        rc = network.costs + pot[network.tails] - pot[network.heads]
        assert not ((rc > 0) & (f_lemon > 0)).any() and not ((rc < 0) & (f_lemon < network.caps)).any()
        net_out = np.bincount(network.tails, weights=f_lemon, minlength=network.n_nodes)
        net_in = np.bincount(network.heads, weights=f_lemon, minlength=network.n_nodes)
        assert np.array_equal(net_out - net_in, network.supply.astype(float))


@pytest.mark.parametrize("seed", range(16))
def test_network_path_equals_joint_lp(seed):
    inst = _random_instance(seed, decimals=seed % 4 == 3)
    fast = solve(inst)
    joint = solve(inst, decompose="never", method="simplex")
    assert fast.status == joint.status
    if joint.status == "optimal":
        assert fast.objective == pytest.approx(joint.objective, rel=1e-9, abs=1e-9)
        assert fast.summary["check"]["ok"] and fast.summary["duals"]["kkt"]["ok"]


def _no_certificate(monkeypatch):
    """Make the network's certificate unavailable, so HiGHS polishes from the basis."""
    import optimiser.model.certificate as cert

    monkeypatch.setattr(cert, "certified", lambda *a, **k: (None, None))


@pytest.mark.parametrize("seed", range(12))
def test_network_certificate_replaces_highs_on_exact_data(seed):
    """Exactly scaled data: the network's point and its potentials' duals pass KKT, so no
    HiGHS solve; same objective as the joint LP, the duals agree with HiGHS's objective
    by strong duality, the plan passes the checker."""
    inst = _random_instance(seed)
    fast = solve(inst)
    joint = solve(inst, decompose="never", method="simplex")
    assert fast.status == joint.status
    if joint.status != "optimal":
        return
    assert fast.objective == pytest.approx(joint.objective, rel=1e-9, abs=1e-9)
    assert fast.summary["check"]["ok"] and fast.summary["duals"]["kkt"]["ok"]
    blocks = fast.summary["solver"].get("blocks") or [fast.summary["solver"]]
    for b in blocks:
        if b.get("exact_scaling") and b.get("network_status") == "OPTIMAL":
            assert b["highs_method"].startswith("network certificate"), b
            assert b["simplex_iterations"] == 0


def test_network_duals_satisfy_kkt_and_strong_duality():
    """The potentials' duals on their own: KKT on the block LP, and the dual objective
    equals the primal one (the check would catch a wrong sign or a wrong ground)."""
    from optimiser.model.certificate import network_duals
    from optimiser.model.duals import kkt_check

    checked = 0
    for seed in range(10):
        inst = _random_instance(seed)
        for block in split_by_commodity(inst):
            b = block.instance
            lp = build_lp(b)
            network, _ = net.build_network(b, lp)
            try:
                flow, pot = net.solve_network(network, "lemon")
            except RuntimeError:
                continue
            point = net.lp_point(b, lp, network, flow)
            y = network_duals(lp, network, flow, pot)
            rep = kkt_check(lp, point, y)
            assert rep.ok, (seed, rep)
            checked += 1
    assert checked >= 10


def test_decimal_data_are_never_certified_by_the_network():
    """Rounded networks are near-optimal only: HiGHS has the last word."""
    inst = _random_instance(3, decimals=True)
    plan = solve(inst)
    for b in plan.summary["solver"].get("blocks") or [plan.summary["solver"]]:
        assert not b.get("exact_scaling")
        assert not b.get("highs_method", "").startswith("network certificate")


def test_network_basis_is_optimal_for_exact_data(generated_small, monkeypatch):
    """Exactly scaled data: the tree is an optimal basis, HiGHS confirms it without pivoting."""
    _no_certificate(monkeypatch)
    plan = solve(generated_small, method="network")
    for b in plan.summary["solver"]["blocks"]:
        assert b["network_basis"].startswith("spanning tree")
        assert b["simplex_iterations"] <= 0.01 * b["variables"]
    ref = solve(generated_small, method="simplex", decompose="never")
    assert plan.objective == pytest.approx(ref.objective, rel=1e-9)


def test_negative_cost_slices_are_reversed_for_lemon():
    inst = _random_instance(1)
    inst = dataclasses.replace(inst, readiness_penalty=inst.holding_cost + 5.0)  # slice cost < 0
    lp = build_lp(inst)
    network, _ = net.build_network(inst, lp)
    assert (network.costs < 0).any()
    flow, _ = net.solve_network(network, "lemon")
    ref, _ = net.solve_network(network, "ortools")
    assert net.network_cost(network, flow) == net.network_cost(network, ref)


@pytest.mark.parametrize("engine", ["compiled", "pylmcf"])
@pytest.mark.parametrize("seed", range(6))
def test_zero_capacity_arcs_are_left_out_with_the_same_optimum(seed, engine, monkeypatch):
    """A fresh LEMON solve leaves out the arcs of capacity 0 (LEAVE_OUT_ZERO_ARCS): LEMON
    sees fewer arcs, those arcs carry nothing, the network optimum is the one of all arcs
    (and OR-Tools'), and the network's certificate still proves the LP optimal; with the
    compiled library (model/lemon_native.py) and with pylmcf alone."""
    import pylmcf

    from optimiser.model import lemon_native

    if engine == "pylmcf":
        monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    elif not lemon_native.available():
        pytest.skip("the compiled LEMON library is not built (make setup builds it)")
    inst = _random_instance(seed)
    b = split_by_commodity(inst)[0].instance
    lp = build_lp(b)
    network, _ = net.build_network(b, lp)
    zero = network.caps == 0
    assert zero.any()  # pair-days without a soft floor: an empty first stock slice
    seen = []
    real_graph, real_solve = pylmcf.Graph, lemon_native.solve
    monkeypatch.setattr(pylmcf, "Graph", lambda n, t, h: seen.append(len(t)) or real_graph(n, t, h))
    monkeypatch.setattr(lemon_native, "solve",
                        lambda n, t, *a, **k: seen.append(len(t)) or real_solve(n, t, *a, **k))
    try:
        flow, pot = net._solve_lemon_fresh(network)
    except RuntimeError:
        return  # an infeasible block: nothing to compare (the joint-LP tests cover it)
    assert seen == [network.n_arcs - int(zero.sum())]
    assert (flow[zero] == 0).all()
    assert ((flow >= 0) & (flow <= network.caps)).all()
    monkeypatch.setattr(net, "LEAVE_OUT_ZERO_ARCS", False)
    every, _ = net._solve_lemon_fresh(network)
    assert seen[-1] == network.n_arcs
    ref, _ = net.solve_network(network, "ortools")
    cost = net.network_cost(network, flow)
    assert cost == net.network_cost(network, every) == net.network_cost(network, ref)
    monkeypatch.setattr(net, "LEAVE_OUT_ZERO_ARCS", True)
    if network.exact:
        start, _ = net.network_start(b, lp)
        assert start.duals is not None and start.kkt.ok


def _star(n: int, seed: int = 0):
    from optimiser.tables import make_instance

    rng = np.random.default_rng(seed)
    sup = [{"supplier": f"S{i}", "commodity": "A", "unit_price": float(rng.integers(1, 50)),
            "daily_capacity": float(rng.integers(1, 20))} for i in range(n)]
    lanes = [{"origin": f"S{i}", "destination": "D", "commodity": "A",
              "lead_time_days": int(rng.integers(0, 2)), "cost_per_unit": float(rng.integers(0, 5))}
             for i in range(n)]
    return make_instance("star", 3, suppliers=sup,
                         nodes=[{"node": "D", "commodity": "A", "shortfall_penalty": 1000.0}],
                         lanes=lanes, demand=[{"node": "D", "commodity": "A", "day": t,
                                               "quantity": float(n * 3)} for t in range(3)])


def test_star_network_equals_simplex(monkeypatch):
    """Star-shaped: 2,000 suppliers into one node. The default routes it to dual simplex
    (a network simplex is quadratic there); forced through the network it agrees too."""
    inst = _star(2000)
    fast, ref = solve(inst), solve(inst, method="simplex")
    assert "star-shaped" in fast.summary["solver"]["network"]
    assert fast.status == ref.status == "optimal"
    assert fast.objective == pytest.approx(ref.objective, rel=1e-9)
    assert fast.summary["check"]["ok"] and fast.summary["duals"]["kkt"]["ok"]
    monkeypatch.setattr(net, "FAN_IN_LIMIT", 10_000)
    through = solve(inst)
    assert through.summary["solver"]["network_status"] == "OPTIMAL"
    assert through.objective == pytest.approx(ref.objective, rel=1e-9)
    assert through.summary["check"]["ok"] and through.summary["duals"]["kkt"]["ok"]


def test_time_limited_polish_keeps_the_network_point(generated_small, monkeypatch):
    """HiGHS stopped before confirming the network's answer: the plan is the network's
    point (feasible, checked), not `no_solution`."""
    from optimiser.model.backends import RawSolution, highs
    from optimiser.model.status import Status

    def stopped(lp, options, start=None, basis=None):
        return RawSolution(status=Status.NO_SOLUTION, backend_status="kTimeLimit")

    monkeypatch.setattr(highs, "solve", stopped)
    _no_certificate(monkeypatch)
    plan = solve(generated_small, time_limit=5.0)
    assert plan.status == "feasible"
    assert plan.summary["check"]["ok"]
    monkeypatch.undo()
    ref = solve(generated_small)
    assert plan.objective == pytest.approx(ref.objective, rel=1e-9)  # exact scaling: optimal


LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the forked network solve is used on Linux only")


@LINUX_ONLY
@pytest.mark.parametrize("seed", range(6))
def test_forked_lemon_equals_in_process(seed, monkeypatch):
    """LEMON in a forked child (blocks in threads run their network solves on all cores)
    hands back the same flow and potentials; an infeasible network raises as in-process.
    A session's graph (all arcs) reaches the same optimum as the fresh solve (which leaves
    out arcs of capacity 0), and the same flow as a fresh solve of all arcs."""
    inst = _random_instance(seed)
    for block in split_by_commodity(inst) if len(inst.commodities) > 1 else [None]:
        b = block.instance if block is not None else inst
        network, _ = net.build_network(b, build_lp(b))
        try:
            here = net._solve_lemon_fresh(network)
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=str(e)[:20]):
                net._solve_lemon_forked(network)
            continue
        there = net._solve_lemon_forked(network)
        assert np.array_equal(here[0], there[0]) and np.array_equal(here[1], there[1])
        kept = net.solve_lemon(network, keep={})  # a session's graph: never forked
        assert net.network_cost(network, kept[0]) == net.network_cost(network, here[0])
        # the first solve of a kept graph is the fresh solve of all arcs by the same
        # engine, flow for flow: the compiled library's, and pylmcf's without it
        monkeypatch.setattr(net, "LEAVE_OUT_ZERO_ARCS", False)
        assert np.array_equal(kept[0], net._solve_lemon_fresh(network)[0])
        monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
        kept = net.solve_lemon(network, keep={})
        assert np.array_equal(kept[0], net._solve_lemon_fresh(network)[0])
        monkeypatch.setattr(net, "LEAVE_OUT_ZERO_ARCS", True)
        monkeypatch.delenv("OPTIMISER_LEMON_LIB")


@LINUX_ONLY
def test_forked_solve_runs_while_waiting_in_the_parent_during_the_childs_solve(monkeypatch):
    """The work handed to a forked network solve (the LP's matrix, build_lp defers it) runs
    in this process while the child solves, once; the answer is the in-process one. (The
    fork is pylmcf's: the compiled library releases the interpreter lock instead.)"""
    import os
    import threading

    monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    inst = _random_instance(3)
    b = split_by_commodity(inst)[0].instance if len(inst.commodities) > 1 else inst
    lp = build_lp(b)
    network, _ = net.build_network(b, lp)  # needs bounds and right-hand sides only
    assert lp._csr is None
    ran = []
    prepare = net._prepare(lp)

    def while_waiting():
        ran.append(os.getpid())
        prepare()

    monkeypatch.setattr(net, "FORK_MIN_ARCS", 0)
    done = threading.Event()
    helper = threading.Thread(target=done.wait)  # another thread: the fork pays
    helper.start()
    try:
        flow, pot = net.solve_lemon(network, while_waiting=while_waiting)
    finally:
        done.set()
        helper.join()
    assert ran == [os.getpid()] and lp._csr is not None and lp.csr._rows is not None
    assert forks == [1]
    here = net._solve_lemon_fresh(network)
    assert np.array_equal(flow, here[0]) and np.array_equal(pot, here[1])
    ran.clear()
    net.solve_lemon(network, while_waiting=while_waiting)  # no other thread: in-process
    assert ran == [os.getpid()]


@LINUX_ONLY
def test_the_compiled_library_solves_blocks_in_threads_without_forking(monkeypatch):
    """With the compiled LEMON (its ctypes call releases the interpreter lock) a fresh solve
    beside other threads stays in this process: no fork, the same answer."""
    import os
    import threading

    from optimiser.model import lemon_native

    assert lemon_native.available(), "make setup builds the compiled LEMON library"
    inst = _random_instance(3)
    b = split_by_commodity(inst)[0].instance if len(inst.commodities) > 1 else inst
    network, _ = net.build_network(b, build_lp(b))
    monkeypatch.setattr(net, "FORK_MIN_ARCS", 0)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    done = threading.Event()
    helper = threading.Thread(target=done.wait)
    helper.start()
    try:
        flow, pot = net.solve_lemon(network)
    finally:
        done.set()
        helper.join()
    here = net._solve_lemon_fresh(network)
    assert np.array_equal(flow, here[0]) and np.array_equal(pot, here[1])


@LINUX_ONLY
@pytest.mark.parametrize("engine", ["pylmcf", "compiled"])
@pytest.mark.parametrize("seed", [1, 2, 4, 5, 7])
def test_solve_with_forked_network_solves_equals_joint_lp(seed, engine, monkeypatch):
    """Every block's network solve forked (threshold lowered; pylmcf) or in threads side by
    side (the compiled library, never forked): the same plan as one at a time in process
    and the joint LP's objective."""
    if engine == "pylmcf":
        monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    inst = _random_instance(seed, decimals=seed == 7)
    assert len(inst.commodities) > 1
    forked = []
    real = net._solve_lemon_forked
    monkeypatch.setattr(net, "_solve_lemon_forked",
                        lambda n, *a: forked.append(1) or real(n, *a))
    monkeypatch.setattr(net, "FORK_MIN_ARCS", 0)
    fast = solve(inst, threads=2)
    monkeypatch.setattr(net, "FORK_MIN_ARCS", 10**12)
    here = solve(inst, threads=2)
    joint = solve(inst, decompose="never", method="simplex")
    assert bool(forked) == (engine == "pylmcf")
    assert fast.status == here.status == joint.status
    if joint.status == "optimal":
        assert np.array_equal(fast.x, here.x) and fast.objective == here.objective
        assert fast.objective == pytest.approx(joint.objective, rel=1e-9, abs=1e-9)
        assert fast.summary["check"]["ok"] and fast.summary["duals"]["kkt"]["ok"]
