"""The compiled LEMON network simplex (optimiser/model/lemon_native.py, lemon_native.cpp):
built by `make setup`, the same optimum as pylmcf on the engine's networks and on random
ones, its potentials an optimality certificate (and pylmcf's canonical ones when asked),
LEMON's verdict on infeasible networks, and pylmcf whenever the library is absent."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.model import lemon_native
from optimiser.model import network as net
from optimiser.model.build import build_lp
from optimiser.model.decompose import split_by_commodity

from .test_network import _random_instance


def _pylmcf(n, t, h, c, k, s):
    import pylmcf

    g = pylmcf.Graph(n, t, h)
    g.set_node_supply(s)
    g.set_edge_capacities(np.ascontiguousarray(c))
    g.set_edge_costs(np.ascontiguousarray(k))
    g.solve()
    return np.asarray(g.result(), dtype=np.int64), np.asarray(g.potentials(), dtype=np.int64)


def _certifies(t, h, c, k, s, flow, pot) -> bool:
    """Balanced, within [0, c], and complementary slack: an arc of negative reduced cost
    full, of positive reduced cost empty (reduced cost k + pot[t] - pot[h]); GEQ supplies
    (a node may keep less than its supply only if ... none here: supplies balance)."""
    n = len(s)
    out = np.bincount(t, weights=flow, minlength=n) - np.bincount(h, weights=flow, minlength=n)
    rc = k + pot[t] - pot[h]
    return bool(np.array_equal(out.astype(np.int64), s) and (flow >= 0).all()
                and (flow <= c).all() and not ((rc < 0) & (flow < c)).any()
                and not ((rc > 0) & (flow > 0)).any())


def _engine_networks():
    for seed in range(8):
        inst = _random_instance(seed)
        for block in split_by_commodity(inst):
            network, _ = net.build_network(block.instance, build_lp(block.instance))
            t, h, c, k, s = net._lemon_arrays(network)
            order = np.lexsort((h, t))
            yield seed, network.n_nodes, t[order], h[order], c[order], k[order], s


def _random_network(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    m = int(rng.integers(n, 6 * n))
    t, h = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = t != h
    t, h = t[keep], h[keep]
    order = np.lexsort((h, t))
    t, h = t[order], h[order]
    c = rng.integers(0, 30, len(t))
    k = rng.integers(0, 100, len(t))
    s = np.zeros(n, dtype=np.int64)  # a feasible supply: a flow pushed along random arcs
    f = rng.integers(0, c + 1)
    np.add.at(s, t, f)
    np.add.at(s, h, -f)
    return n, t, h, c, k, s


def test_make_setup_builds_the_library():
    assert lemon_native.available(), (
        f"{lemon_native.LIBRARY} is missing: `make setup` builds it (scripts/build-lemon.sh)")
    assert "arc mixing off" in lemon_native.engine()


@pytest.mark.parametrize("canonical", [False, True])
def test_same_optimum_as_pylmcf_on_the_engines_networks(canonical):
    solved = 0
    for seed, n, t, h, c, k, s in _engine_networks():
        try:
            ref, ref_pot = _pylmcf(n, t, h, c, k, s)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="INFEASIBLE"):
                lemon_native.solve(n, t, h, c, k, s, canonical=canonical)
            continue
        flow, pot = lemon_native.solve(n, t, h, c, k, s, canonical=canonical)
        assert int(np.dot(k.astype(object), flow.astype(object))) == \
            int(np.dot(k.astype(object), ref.astype(object))), seed
        assert _certifies(t, h, c, k, s, flow, pot), seed
        if canonical:  # the dual optimum pylmcf names, whatever the optimal flow
            np.testing.assert_array_equal(pot, ref_pot)
        solved += 1
    assert solved >= 8


@pytest.mark.parametrize("seed", range(30))
def test_same_optimum_as_pylmcf_on_random_networks(seed):
    n, t, h, c, k, s = _random_network(seed)
    ref, _ = _pylmcf(n, t, h, c, k, s)
    for mixing in (False, True):
        flow, pot = lemon_native.solve(n, t, h, c, k, s, arc_mixing=mixing)
        assert int(np.dot(k, flow)) == int(np.dot(k, ref))
        assert _certifies(t, h, c, k, s, flow, pot)


def test_infeasible_and_bad_input():
    t, h, c, k = np.array([0]), np.array([1]), np.array([3]), np.array([1])
    with pytest.raises(RuntimeError, match="INFEASIBLE"):
        lemon_native.solve(2, t, h, c, k, np.array([5, -5]))
    with pytest.raises(ValueError, match="sorted"):  # arcs not sorted by (tail, head)
        lemon_native.solve(3, np.array([1, 0]), np.array([2, 1]), np.array([1, 1]),
                           np.array([1, 1]), np.array([1, 0, -1]))
    with pytest.raises(ValueError, match="out of range"):
        lemon_native.solve(2, np.array([0]), np.array([7]), c, k, np.array([0, 0]))
    for bad_cap, bad_cost in ((-1, 1), (3, -1), (3, 2**62)):  # pylmcf refuses these too
        with pytest.raises(ValueError, match="negative capacity or cost"):
            lemon_native.solve(2, t, h, np.array([bad_cap]), np.array([bad_cost]),
                               np.array([0, 0]))
    empty = np.array([], dtype=np.int64)
    flow, pot = lemon_native.solve(0, empty, empty, empty, empty, empty)  # as pylmcf
    assert len(flow) == 0 and len(pot) == 0


def test_without_the_library_fresh_solves_take_pylmcf(monkeypatch):
    seed, n, t, h, c, k, s = next(_engine_networks())
    inst = _random_instance(seed)
    block = split_by_commodity(inst)[0].instance
    network, _ = net.build_network(block, build_lp(block))
    flow, _ = net._solve_lemon_fresh(network)
    monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    assert not lemon_native.available()
    assert lemon_native.engine() == lemon_native.ENGINES[False]
    with pytest.raises(RuntimeError, match="not available"):
        lemon_native.solve(n, t, h, c, k, s)
    again, _ = net._solve_lemon_fresh(network)
    assert net.network_cost(network, again) == net.network_cost(network, flow)
    monkeypatch.setenv("OPTIMISER_LEMON_LIB", "/nonexistent/liboptimiser_lemon.so")
    assert not lemon_native.available()


def test_the_plan_says_which_lemon_solved(monkeypatch):
    from optimiser.solve import solve

    inst = _random_instance(2)
    plan = solve(inst)
    engines = {b.get("network_engine") for b in plan.summary["solver"]["blocks"]}
    assert engines == {lemon_native.ENGINES[True]}
    monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    again = solve(inst)
    assert {b.get("network_engine") for b in again.summary["solver"]["blocks"]} == \
        {lemon_native.ENGINES[False]}
    assert again.objective == pytest.approx(plan.objective, rel=1e-12)


# the kept graph (KeptGraph: a session's, restarted from its last tree) -----------------
def _changes(seed: int, steps: int = 6):
    """A random network and a chain of (capacities, costs or None, supplies) for it, each
    feasible: a new flow within the new capacities gives the supplies. Costs change every
    third step (a warm restart then reprices the tree)."""
    n, t, h, c, k, s = _random_network(seed)
    rng = np.random.default_rng(1000 + seed)
    out = [(c, k, s)]
    for i in range(steps):
        c = np.maximum(0, c + rng.integers(-5, 6, len(c)))
        f = rng.integers(0, c + 1)
        s = np.zeros(n, dtype=np.int64)
        np.add.at(s, t, f)
        np.add.at(s, h, -f)
        out.append((c, rng.integers(0, 100, len(c)) if i % 3 == 2 else None, s))
    return n, t, h, out


def _pylmcf_kept(n, t, h):
    import pylmcf

    g = pylmcf.Graph(n, t, h)
    g.set_warm_repair("dual_ratio")
    g.set_warm_repair_budget(0.0)
    return g


def _step(g, c, k, s):
    g.set_node_supply(s)
    g.set_edge_capacities(np.ascontiguousarray(c))
    if k is not None:
        g.set_edge_costs(np.ascontiguousarray(k))
    g.solve()
    return np.asarray(g.result(), dtype=np.int64)


@pytest.mark.parametrize("seed", range(20))
def test_kept_graph_with_mixing_on_is_pylmcfs_graph(seed):
    """With arc mixing on, the compiled kept graph runs pylmcf's own code path: over a
    chain of restarts the same flows, the same tree potentials, the same canonical
    potentials and the same warm/cold counts, bit for bit."""
    n, t, h, chain = _changes(seed)
    ours = lemon_native.KeptGraph(n, t, h, repair="dual_ratio", arc_mixing=True)
    theirs = _pylmcf_kept(n, t, h)
    for c, k, s in chain:
        assert np.array_equal(_step(ours, c, k, s), _step(theirs, c, k, s))
        assert np.array_equal(ours.raw_potentials(), theirs.raw_potentials())
        assert np.array_equal(ours.potentials(), theirs.potentials())
        for count in ("warm_start_count", "cold_start_count", "policy_cold_count"):
            assert getattr(ours, count)() == getattr(theirs, count)()


@pytest.mark.parametrize("seed", range(20))
def test_kept_graph_restarts_to_the_optimum(seed):
    """Arc mixing off (what a session keeps): every restart reaches a fresh solve's optimal
    cost, its tree potentials and its canonical ones both certify the flow, and no restart
    fell back to a cold start (LEMON's own counters, as a session reads them)."""
    n, t, h, chain = _changes(seed)
    g = lemon_native.KeptGraph(n, t, h)
    k = chain[0][1]
    for c, new_k, s in chain:
        k = k if new_k is None else new_k
        flow = _step(g, c, new_k, s)
        ref, _ = _pylmcf(n, t, h, c, k, s)
        assert int(np.dot(k, flow)) == int(np.dot(k, ref))
        assert _certifies(t, h, c, k, s, flow, g.raw_potentials())
        assert _certifies(t, h, c, k, s, flow, g.potentials())
    assert g.cold_start_count() == 0 and g.policy_cold_count() == 0


def test_kept_graph_after_an_infeasible_solve_and_bad_input():
    t, h = np.array([0, 1]), np.array([1, 2])
    g = lemon_native.KeptGraph(3, t, h)
    with pytest.raises(RuntimeError, match="solve"):  # nothing solved yet
        g.result()
    assert np.array_equal(_step(g, np.array([4, 4]), np.array([1, 2]), np.array([3, 0, -3])),
                          [3, 3])
    with pytest.raises(RuntimeError, match="INFEASIBLE"):  # more than the arcs carry
        _step(g, np.array([4, 4]), None, np.array([5, 0, -5]))
    with pytest.raises(RuntimeError, match="solve"):  # no solution read after a failure
        g.result()
    # no basis kept from the failed solve: the next one starts afresh, and is right
    assert np.array_equal(_step(g, np.array([4, 4]), None, np.array([2, 0, -2])), [2, 2])
    with pytest.raises(ValueError, match="negative capacity"):
        _step(g, np.array([-1, 4]), None, np.array([0, 0, 0]))
    with pytest.raises(ValueError, match="3 values"):
        g.set_node_supply(np.array([1, -1]))
    with pytest.raises(ValueError, match="sorted"):
        lemon_native.KeptGraph(3, np.array([1, 0]), np.array([2, 1]))
    with pytest.raises(ValueError, match="out of range"):
        lemon_native.KeptGraph(2, np.array([0]), np.array([7]))
    empty = lemon_native.KeptGraph(0, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    empty.solve()  # as pylmcf: an empty problem is optimal at cost 0
    assert len(empty.result()) == 0 and len(empty.potentials()) == 0


def test_kept_graphs_restart_side_by_side_in_threads():
    """Each graph's solves release the interpreter lock and share no state: restarted in
    two threads, the same flows as one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    def run(seed):
        n, t, h, chain = _changes(seed, steps=10)
        g = lemon_native.KeptGraph(n, t, h)
        return [_step(g, c, k, s) for c, k, s in chain]

    seeds = list(range(8))
    serial = [run(x) for x in seeds]
    with ThreadPoolExecutor(max_workers=2) as ex:
        threaded = list(ex.map(run, seeds))
    for a, b in zip(serial, threaded):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_without_the_library_a_session_keeps_pylmcfs_graph(monkeypatch):
    keep: dict = {}
    inst = _random_instance(1)
    block = split_by_commodity(inst)[0].instance
    network, _ = net.build_network(block, build_lp(block))
    ours, _ = net.solve_lemon(network, keep=keep)
    assert isinstance(keep["graph"], lemon_native.KeptGraph)
    monkeypatch.setenv("OPTIMISER_LEMON_LIB", "")
    pkeep: dict = {}
    theirs, _ = net.solve_lemon(network, keep=pkeep)
    assert type(pkeep["graph"]).__module__.startswith("pylmcf")
    assert net.network_cost(network, ours) == net.network_cost(network, theirs)
