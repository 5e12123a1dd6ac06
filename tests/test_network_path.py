"""The network-simplex warm start: exact on hand cases and random instances."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.model import build_lp
from optimiser.solve import solve

from .lp_cases import CASES


def test_network_warm_start_is_exact(generated_small, monkeypatch):
    import optimiser.model.certificate as cert
    from optimiser.model.network import network_point

    # without the network's own certificate (tests/test_network.py), HiGHS polishes
    monkeypatch.setattr(cert, "certified", lambda *a, **k: (None, None))
    ref = solve(generated_small, method="simplex", decompose="never")
    plan = solve(generated_small, method="network")
    assert plan.objective == pytest.approx(ref.objective, rel=1e-9)
    assert plan.summary["check"]["ok"] and plan.summary["duals"]["kkt"]["ok"]
    blocks = plan.summary["solver"]["blocks"]
    assert all(b["network_status"] == "OPTIMAL" and b["highs_method"] == "warm simplex"
               for b in blocks)
    # the network point alone is already optimal when the data scale exactly
    lp = build_lp(generated_small)
    point, info = network_point(generated_small, lp)
    assert info["exact_scaling"]
    assert float(lp.vars.cost @ point) == pytest.approx(ref.objective, rel=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_network_path_on_hand_cases(case):
    make, objective, _ = CASES[case]
    plan = solve(make(), method="network")
    assert plan.objective == pytest.approx(objective, rel=1e-9, abs=1e-9)


def test_network_not_used_with_budget():
    from .lp_cases import two_suppliers

    plan = solve(two_suppliers(s1={"daily_capacity": 10.0}, budget=8.0, demand=10.0),
                 method="network")  # the budget binds: joint LP, no network structure
    assert "network_status" not in plan.summary["solver"]
    assert plan.summary["solver"]["highs_method"] == "simplex"
    assert plan.objective == pytest.approx(208.0)


@pytest.mark.parametrize("seed", range(8))
def test_network_path_matches_joint_lp_on_random_instances(seed):
    """Random generated instances, some floors made hard: network+polish == joint simplex."""
    import dataclasses

    from optimiser import Instance
    from optimiser.generate import generate_instance

    meta, tables = generate_instance(suppliers=3 + seed % 3, nodes=6 + seed, commodities=1 + seed % 3,
                                     days=12 + 3 * seed, seed=100 + seed)
    inst = Instance.from_tables(meta, tables)
    rng = np.random.default_rng(seed)
    hard = rng.random(inst.n_pairs) < 0.3
    inst = dataclasses.replace(inst, readiness_hard=hard,
                               initial_stock=inst.initial_stock + np.where(hard, inst.floor.max(axis=1), 0.0))
    fast = solve(inst)
    joint = solve(inst, decompose="never", method="simplex")
    assert fast.status == joint.status
    if joint.status == "optimal":
        assert fast.objective == pytest.approx(joint.objective, rel=1e-9)
        assert fast.summary["check"]["ok"] and fast.summary["duals"]["kkt"]["ok"]


def test_network_coarsens_cost_scale_instead_of_giving_up(generated_small, monkeypatch):
    import optimiser.model.network as net

    lp = build_lp(generated_small)
    exact, info = net.network_point(generated_small, lp)
    assert info["cost_scale"] > 1
    monkeypatch.setattr(net, "_INT_LIMIT", 2**30)  # pretend int64 were much smaller
    point, info2 = net.network_point(generated_small, lp)
    assert point is not None and info2["cost_scale"] < info["cost_scale"]
    assert not info2["exact_scaling"]
    ref = float(lp.vars.cost @ exact)
    assert float(lp.vars.cost @ point) == pytest.approx(ref, rel=1e-3)  # near-optimal start
    plan = solve(generated_small)  # the polish makes it exact either way
    assert plan.objective == pytest.approx(ref, rel=1e-9)
