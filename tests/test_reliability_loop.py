"""The reliability loop end to end through the API: least cost against a closed form, a
multi-day plan checked by an independent plain-numpy simulation, unreachable targets,
the frontier, disjoint scenario ranges and determinism at 1 and 2 threads."""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np
import pytest
from scipy.stats import norm

import optimiser
from optimiser.reliability import max_breaches
from optimiser.scenarios.params import ScenarioParams

from .reliability_cases import network, one_pair

SUMMARY_KEYS = {"scope", "target", "service", "confidence", "train_scenarios",
                "certify_scenarios", "seeds", "params", "iterations", "attempts",
                "baseline_objective", "extra_cost", "certified", "joint_upper_bound", "worst"}
TABLE_COLUMNS = ["node", "commodity", "target", "kind", "train_breaches", "train_scenarios",
                 "certify_breaches", "certify_scenarios", "upper_bound", "certified",
                 "max_buffer"]


def test_one_pair_one_day_is_within_5_percent_of_the_closed_form():
    # stock s0 before consumption, floor f, demand d*m with m mean-one lognormal:
    # breach iff s0 - d*m < f  <=>  m > (s0 - f)/d, so P(breach) = p needs
    # s0 = f + d * q_m(1 - p). The certificate (M = 10,000, C = 0.95) accepts at most k*
    # breaches, so the least purchase it can certify is f + d * q_m(1 - k*/M) (initial 0).
    sigma, d, f = 0.3, 1000.0, 100.0
    plan = optimiser.solve(one_pair(), reliability=0.95,
                           params=ScenarioParams(demand_sigma=sigma))
    rel = plan.summary["reliability"]
    assert rel["certified"] is True and plan.status == "optimal"
    k = max_breaches(10_000, 0.95, 0.95)
    q = math.exp(sigma * norm.ppf(1 - k / 10_000) - sigma ** 2 / 2)
    closed = f + d * q
    bought = float(plan.x.sum())
    assert abs(bought - closed) / closed <= 0.05, (bought, closed)
    # and never less than the bare quantile at the target itself
    assert bought >= f + d * math.exp(sigma * norm.ppf(0.95) - sigma ** 2 / 2) - 1e-6
    # objective against the instance floor: price 1 per unit + holding on end stock
    assert plan.objective == pytest.approx(bought + 0.01 * float(plan.s.sum()), rel=1e-9)
    assert rel["extra_cost"] == pytest.approx(plan.objective - rel["baseline_objective"])
    assert set(rel) == SUMMARY_KEYS
    t = plan.reliability
    assert t.column_names == TABLE_COLUMNS
    row = t.to_pylist()[0]
    assert row["kind"] == "readiness" and row["certified"] and row["certify_scenarios"] == 10_000
    assert row["max_buffer"] == pytest.approx(float(plan.s[0, 0]) - f, rel=1e-9)
    stock = plan.stock
    assert "planning_floor" in stock.column_names
    assert stock.column("planning_floor")[0].as_py() == pytest.approx(float(plan.s[0, 0]))


def _simulate(x, T, d, f, init, sigma, phi, n=400_000, seed=12345, lead=1):
    """Plain numpy, written from the scenario model: own RNG, own loop over days."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    stock = np.full(n, init)
    breach = np.zeros(n, bool)
    for t in range(T):
        if t > 0:
            z = phi * z + math.sqrt(1 - phi * phi) * rng.standard_normal(n)
        m = np.exp(sigma * z - sigma ** 2 / 2)
        if t - lead >= 0:
            stock = stock + x[t - lead]
        target = d * m
        stock = stock - np.minimum(stock, target)
        breach |= stock < f - 1e-6 * max(1.0, f)
    return breach.mean()


def test_multi_day_plan_holds_under_an_independent_simulation():
    T, d, f, init, sigma, phi = 6, 100.0, 100.0, 300.0, 0.4, 0.5
    inst = one_pair(T=T, demand=d, floor=f, initial=init, lead=1)
    plan = optimiser.solve(inst, reliability=0.9,
                           params=ScenarioParams(demand_sigma=sigma, demand_phi=phi))
    assert plan.summary["reliability"]["certified"] is True
    p = _simulate(plan.x[0], T, d, f, init, sigma, phi)
    se = math.sqrt(p * (1 - p) / 400_000)
    assert p <= 0.10 + 3 * se, p  # the certified plan holds its target
    assert p >= 0.05, p  # and does not buy far more safety than asked (least cost)
    # the engine's own certification count agrees with the independent estimate
    row = plan.reliability.to_pylist()[0]
    k, m = row["certify_breaches"], row["certify_scenarios"]
    assert abs(k / m - p) <= 4 * math.sqrt(p * (1 - p) / m) + 3 * se


def test_unreachable_target_names_the_pair_and_the_storage_limit():
    # end-of-day stock may not exceed 120, floor 100: a buffer of 20 against sd-50 demand
    inst = one_pair(T=3, demand=100.0, floor=100.0, initial=100.0, max_stock=120.0)
    plan = optimiser.solve(inst, reliability=0.95, params=ScenarioParams(demand_sigma=0.5),
                           train=500, certify=1000)
    rel = plan.summary["reliability"]
    assert plan.status == "optimal" and rel["certified"] is False
    limits = plan.summary["reliability_run"]["limits"]
    assert [(x["node"], x["commodity"]) for x in limits] == [("D", "A")]
    assert "storage" in limits[0]["limit"]
    assert 0.0 <= limits[0]["best_reliability"] < 0.95
    assert "D/A" in plan.summary["message"]
    assert float(plan.s.max()) <= 120.0 + 1e-6  # the most reliable plan found is still a plan
    # which LEMON ran (the same engine gives the same bits; docs/RELIABILITY.md)
    from optimiser.model import lemon_native

    assert plan.summary["solver"]["network_engine"] == lemon_native.engine()


def test_frontier_floors_nested_cost_monotone_ranges_disjoint():
    plan = optimiser.solve(network(), reliability=0.9, frontier=(0.8, 0.9, 0.95),
                           params=ScenarioParams(demand_sigma=0.3, delay_prob=0.2,
                                                 delay_max_days=2),
                           train=1000, certify=2000, seed=7)
    fr = plan.frontier.to_pylist()
    assert [r["reliability"] for r in fr] == [0.8, 0.9, 0.95]
    obj = [r["objective"] for r in fr]
    for a, b in zip(obj, obj[1:]):
        assert b >= a - 1e-9 * abs(a)
    assert all(r["extra_cost"] == pytest.approx(r["objective"] - fr[0]["objective"]
                                                + fr[0]["extra_cost"]) for r in fr)
    floors = [plan.frontier_floors[r] for r in (0.8, 0.9, 0.95)]
    for lo, hi in zip(floors, floors[1:]):
        assert np.all(hi >= lo - 1e-9 * np.maximum(1.0, lo))
    main = next(r for r in fr if r["reliability"] == 0.9)
    assert main["objective"] == pytest.approx(plan.objective)
    # the plan written holds the floors its frontier point held, and its stock is above them
    held = plan.frontier_floors[0.9]
    protected = (network().floor > 0).any(axis=1)
    assert np.array_equal(plan.planning_floor[protected], held[protected])
    assert np.all(plan.s[protected] >= held[protected] - 1e-6 * np.maximum(1.0, held[protected]))
    # every certification range of every target, and the training range, are disjoint
    rel = plan.summary["reliability"]
    ranges = [(0, rel["seeds"]["train"]["count"])]
    for t in plan.summary["reliability_run"]["targets"]:
        ranges += [(c["first"], c["first"] + c["count"]) for c in t["certify"]]
        assert all(c["seed"] == 7 for c in t["certify"])
    ranges.sort()
    for (_, a1), (b0, _) in zip(ranges, ranges[1:]):
        assert a1 <= b0
    assert rel["seeds"]["certify"] == plan.summary["reliability_run"]["targets"][1]["certify"]


def test_replaying_only_what_the_targets_depend_on_changes_no_result(monkeypatch):
    """Depots protected, the fronts they feed not: the loop replays the depots only (the
    fronts' demand is never drawn) and finds the plan, certificate and fan of a loop that
    replays everything."""
    from optimiser.reliability import loop as rloop
    from optimiser.tables import make_instance

    from .reliability_cases import network_rows

    rows = network_rows(T=10)
    for n in rows["nodes"]:
        if n["node"] == "FRONT":
            n["floor"] = 0.0
    inst = make_instance("depots", 10, **rows)
    kw = dict(reliability=0.9, train=600, certify=1000, seed=4,
              params=ScenarioParams(demand_sigma=0.4, delay_prob=0.2, delay_max_days=2,
                                    loss_prob=0.05))
    part = optimiser.solve(inst, **kw)
    run = part.summary["reliability_run"]
    assert run["replayed_pairs"] == 2 < inst.n_pairs
    monkeypatch.setattr(rloop, "upstream", lambda inst, pairs: np.ones(inst.n_pairs, bool))
    whole = optimiser.solve(inst, **kw)
    assert whole.summary["reliability_run"]["replayed_pairs"] == inst.n_pairs
    assert run["replayed_cells"] < whole.summary["reliability_run"]["replayed_cells"]
    assert part.x.tobytes() == whole.x.tobytes()
    assert part.planning_floor.tobytes() == whole.planning_floor.tobytes()
    assert part.reliability.equals(whole.reliability)
    assert part.fan.equals(whole.fan) and part.fan.num_rows > 0
    assert part.summary["reliability"] == whole.summary["reliability"]
    assert part.summary["reliability"]["iterations"] >= 1
    assert (part.planning_floor > inst.floor + 1e-9).any()  # buffers were bought


def test_same_seed_same_plan_at_one_and_two_threads():
    out = []
    old = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            p = optimiser.solve(network(), reliability=0.9, train=600, certify=1000, seed=3,
                                params=ScenarioParams(demand_sigma=0.3, loss_prob=0.05))
            out.append(p)
    finally:
        numba.set_num_threads(old)
    a, b = out
    assert a.x.tobytes() == b.x.tobytes()
    assert a.u.tobytes() == b.u.tobytes()
    assert a.planning_floor.tobytes() == b.planning_floor.tobytes()
    assert a.reliability.equals(b.reliability)
    assert a.fan.equals(b.fan) and a.fan.num_rows > 0  # the certification fan too
    ra, rb = a.summary["reliability"], b.summary["reliability"]
    assert ra == rb


def test_service_target_adds_service_rows_and_joint_scope_a_joint_row():
    plan = optimiser.solve(network(), reliability=0.9, service=0.9, scope="joint",
                           params=ScenarioParams(demand_sigma=0.3), train=600, certify=1000)
    t = plan.reliability.to_pylist()
    kinds = [r["kind"] for r in t]
    assert kinds.count("readiness") == 4 and kinds.count("service") == 2
    assert kinds[-1] == "joint" and t[-1]["node"] is None and t[-1]["commodity"] is None
    rel = plan.summary["reliability"]
    assert rel["scope"] == "joint" and rel["service"] == 0.9
    assert t[-1]["upper_bound"] == pytest.approx(rel["joint_upper_bound"])
    if rel["certified"]:
        assert t[-1]["upper_bound"] <= 0.1
        assert all(r["upper_bound"] <= 0.1 for r in t if r["kind"] == "service")


def test_service_without_reliability_is_a_usage_error():
    from optimiser.errors import UsageError

    with pytest.raises(UsageError, match="reliability"):
        optimiser.solve(one_pair(), service=0.9)


@pytest.mark.parametrize("params, whole_days", [
    # P(no loss in 9 shipments) = 0.97^9 = 0.76 < 0.9: a buffer is needed; two losses have
    # probability 0.028 < 0.1, so one day's shipment more is enough -- and the least
    (ScenarioParams(loss_prob=0.03), 1),
    # P(an outage starts in 10 days) = 1 - 0.98^10 = 0.18 > 0.1, and an outage of 2 days
    # stops two shipments: two days' shipments more, no less and no more
    (ScenarioParams(outage_prob=0.02, outage_days=2), 2),
])
def test_supply_noise_buys_the_least_whole_shipments_that_certify(params, whole_days):
    T, d, f = 10, 100.0, 100.0
    inst = one_pair(T=T, demand=d, floor=f, initial=f + d, lead=1)
    base = optimiser.solve(inst)
    plan = optimiser.solve(inst, reliability=0.9, params=params, train=2000, certify=3000,
                           seed=1)
    rel = plan.summary["reliability"]
    assert rel["certified"] is True
    extra = float(plan.x.sum() - base.x.sum())
    assert extra == pytest.approx(whole_days * d, rel=1e-9), extra
    # the extra cost is the purchase plus holding the buffer, nothing else
    assert rel["extra_cost"] == pytest.approx(
        extra * 1.0 + 0.01 * float(plan.s.sum() - base.s.sum()), rel=1e-9)


def test_growing_training_sample_ends_with_a_plan_that_meets_the_targets_on_all_n():
    from optimiser.reliability.loop import train_target
    from optimiser.reliability.training import prefixes, sample_sizes
    from optimiser.scenarios.arrays import prepare
    from optimiser.scenarios.evaluate import pair_indicators

    assert sample_sizes(2000) == [250, 500, 1000, 2000]
    assert sample_sizes(600) == [300, 600] and sample_sizes(400) == [400]
    assert prefixes(2000, 512) == [512, 1024, 2000] and prefixes(1000, 512) == [512, 1000]
    inst = one_pair(T=6, demand=100.0, floor=100.0, initial=300.0, lead=1)
    params = ScenarioParams(demand_sigma=0.4, demand_phi=0.5)
    N, M = 1000, 2000
    plan = optimiser.solve(inst, reliability=0.9, params=params, train=N, certify=M, seed=5)
    assert plan.summary["reliability"]["certified"] is True
    run = plan.summary["reliability_run"]["targets"][0]
    sizes = run["training_replays"]
    assert sizes[0] == 512 and sizes[-1] == N  # grown from a prefix (one chunk), judged on N
    assert sizes == sorted(sizes[:sizes.index(N)]) + sizes[sizes.index(N):]
    replayed = run["training_replayed"]  # never more than the sample each pass judged
    assert len(replayed) == len(sizes) and all(0 < r <= s for r, s in zip(replayed, sizes))
    # the final plan, replayed independently by the scenario kernel's own per-pair flags
    # on training scenarios 0..N-1, meets every pair's training target
    protected = np.flatnonzero((inst.floor > 0).any(axis=1))
    breach, _ = pair_indicators(prepare(inst, plan.x, plan.u), params, 5, 0, N)
    counts = breach[:, protected].sum(axis=0)
    allowed = math.floor(train_target(max_breaches(M, 0.9, 0.95), M, N) * N + 1e-9)
    assert counts.max() <= allowed, (counts, allowed)
    t = plan.reliability.to_pylist()
    assert [r["train_breaches"] for r in t] == counts.tolist()
    assert all(r["train_scenarios"] == N for r in t)


def test_a_failing_certificate_is_reported_on_all_m_scenarios():
    # storage caps the buffer: the target fails; certification stops early once the pair
    # is broken beyond what M accepts, but the reported attempt is replayed in full
    from optimiser.scenarios.arrays import prepare
    from optimiser.scenarios.evaluate import pair_indicators

    inst = one_pair(T=3, demand=100.0, floor=100.0, initial=100.0, max_stock=120.0)
    params = ScenarioParams(demand_sigma=0.5)
    plan = optimiser.solve(inst, reliability=0.95, params=params, train=500, certify=5000)
    rel = plan.summary["reliability"]
    assert rel["certified"] is False
    last = rel["seeds"]["certify"][-1]
    assert last["count"] == 5000
    row = plan.reliability.to_pylist()[0]
    assert row["certify_scenarios"] == 5000
    breach, _ = pair_indicators(prepare(inst, plan.x, plan.u), params, 0, last["first"], 5000)
    assert row["certify_breaches"] == int(breach[:, 0].sum())


def test_certification_stops_early_once_broken_and_completes_the_same_range():
    from optimiser.reliability.loop import CERTIFY_WAVE, Loop
    from optimiser.reliability.replay import make_events
    from optimiser.reliability.targets import Targets
    from optimiser.reliability.training import Train
    from optimiser.scenarios.arrays import prepare
    from optimiser.scenarios.evaluate import pair_indicators

    inst = one_pair(T=3, demand=100.0, floor=100.0, initial=100.0)
    params = ScenarioParams(demand_sigma=0.5)
    base = optimiser.solve(inst)  # sits on its floor: about every other scenario breaks it
    M = 10_000
    loop = Loop(inst, Targets(reliability=0.95, train=500, certify=M), params, base.u,
                start=(base.x, base.s, base.u), baseline_s=base.s)
    arrays = prepare(inst, base.x, base.u)
    tr = Train(arrays=arrays, ev=make_events(inst, loop.ready, loop.service, base.u),
                br=None, bs=None, pr=None, ps=None, kept=None)
    kmax = max_breaches(M, 0.95, 0.95)
    cert = loop._certify(tr, 500, M, kmax, -1, False)
    assert cert.m == CERTIFY_WAVE and int(cert.k_r[0]) > kmax  # failed: stopped at wave 1
    full = loop._certify(tr, 500, M, kmax, -1, False, done=cert)
    breach, _ = pair_indicators(arrays, params, 0, 500, M)
    assert full.m == M and int(full.k_r[0]) == int(breach[:, 0].sum())
    assert np.array_equal(full.br[:, 0], breach[:, 0])  # the same range, in order


def test_a_training_replay_extended_from_a_prefix_is_the_replay_of_all_n():
    # a plan that passes a prefix is judged on all N by replaying only the rest: the same
    # flags, prices and buffers as one replay of 0..N-1, and the prefix is not replayed again
    from optimiser.reliability.loop import Loop
    from optimiser.reliability.targets import Targets
    from optimiser.reliability.training import State, cover

    inst = network()
    params = ScenarioParams(demand_sigma=0.3, delay_prob=0.2, delay_max_days=2,
                            loss_prob=0.05)
    base = optimiser.solve(inst)
    N = 700
    loop = Loop(inst, Targets(reliability=0.9, train=N, certify=1000), params, base.u,
                start=(base.x, base.s, base.u), baseline_s=base.s)
    res = loop._baseline()
    ir, isv = np.flatnonzero(loop.ready), np.flatnonzero(loop.service)
    st = State(len(ir), len(isv), 0.05, 0.0)
    st.new_attempt()
    whole = loop._train(res, N, st, False, ir, isv)
    before = loop.runner.scenarios
    part = loop._train(res, 300, st, False, ir, isv)
    grown = loop._train(res, N, st, False, ir, isv, have=part)
    assert loop.runner.scenarios - before == N  # 300, then the other 400
    for f in ("br", "bs", "pr", "ps"):
        assert np.array_equal(getattr(whole, f), getattr(grown, f)), f
    assert whole.k_r.sum() > 0
    cover_r = np.zeros_like(whole.br)
    for k in range(len(ir)):
        cover_r[:, k] = cover(whole.br[:, k], whole.pr[:, k], st.allowed_r(k, N, N))
    cover_s = np.zeros_like(whole.bs)
    a, b = whole.kept.buffers(cover_r, cover_s), grown.kept.buffers(cover_r, cover_s)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[0].max() > 0


def _mini(T=20):
    """A supplier feeding two depots (lead 2), the review's star instance."""
    from optimiser.tables import make_instance

    return make_instance(
        "mini", T,
        suppliers=[{"supplier": "S", "commodity": "ammo", "unit_price": 10.0,
                    "daily_capacity": 100.0}],
        nodes=[{"node": n, "commodity": "ammo", "initial_stock": 150.0, "floor": f,
                "holding_cost": 0.1} for n, f in (("D", 60.0), ("E", 40.0))],
        lanes=[{"origin": "S", "destination": n, "commodity": "ammo", "lead_time_days": 2,
                "unit_cost": 1.0} for n in ("D", "E")],
        demand=[{"node": n, "commodity": "ammo", "day": d, "quantity": q}
                for n, q in (("D", 20.0), ("E", 10.0)) for d in range(T)])


def test_every_certification_range_is_m_scenarios_also_when_an_attempt_stopped_early():
    """seeds.certify records each attempt's whole range (count M, reserved and never used
    again); how much of it an early-stopped attempt replayed is in reliability_run."""
    M = 6000
    plan = optimiser.solve(_mini(), reliability=0.97, train=40, certify=M, seed=2,
                           params=ScenarioParams(demand_sigma=0.4, loss_prob=0.05,
                                                 delay_prob=0.2, delay_max_days=3))
    rel = plan.summary["reliability"]
    cert = rel["seeds"]["certify"]
    assert rel["attempts"] == len(cert) >= 2
    assert all(c["count"] == M for c in cert)
    firsts = [c["first"] for c in cert]
    assert firsts == list(range(40, 40 + M * len(cert), M))  # contiguous, disjoint
    replayed = plan.summary["reliability_run"]["targets"][0]["certify_replayed"]
    assert len(replayed) == len(cert) and replayed[-1] == M
    assert min(replayed) < M  # some attempt stopped early and is still recorded whole


def test_the_frontier_holds_the_listed_targets_only():
    plan = optimiser.solve(_mini(T=10), reliability=0.9, frontier=(0.5, 0.8), train=300,
                           certify=600, params=ScenarioParams(demand_sigma=0.3))
    assert plan.frontier.column("reliability").to_pylist() == [0.5, 0.8]
    assert plan.summary["reliability"]["target"] == 0.9


def test_scope_joint_without_a_protected_pair_writes_the_joint_row():
    from optimiser.reliability.certificate import upper_bound

    inst = _mini(T=8)
    inst = dataclasses.replace(inst, floor=np.zeros_like(inst.floor))
    plan = optimiser.solve(inst, reliability=0.9, scope="joint", train=200, certify=500,
                           params=ScenarioParams(demand_sigma=0.3))
    rows = plan.reliability.to_pylist()
    assert len(rows) == 1 and rows[0]["kind"] == "joint" and rows[0]["node"] is None
    assert rows[0]["certify_breaches"] == 0 and rows[0]["certify_scenarios"] == 500
    assert rows[0]["upper_bound"] == pytest.approx(float(upper_bound(0, 500, 0.95)), rel=1e-12)
    assert rows[0]["upper_bound"] == pytest.approx(1 - 0.05 ** (1 / 500), rel=1e-12)
    assert plan.summary["reliability"]["certified"] is True
    assert plan.summary["reliability"]["joint_upper_bound"] == rows[0]["upper_bound"]


def test_hold_ahead_holds_the_level_a_raise_asks_for_over_the_days_before():
    from optimiser.reliability.loop import _hold_ahead

    s = np.array([[100.0], [100.0], [100.0], [150.0], [120.0]])
    buf = np.array([[0.0], [0.0], [0.0], [45.0], [0.0]])
    on = np.ones_like(buf, bool)
    got = _hold_ahead(buf, s, 2, on)
    # day 3 asks for 195: days 1-2 (within w = 2 before it) hold 195 too, day 0 does not
    np.testing.assert_array_equal((s + got)[:, 0], [100.0, 195.0, 195.0, 195.0, 120.0])
    np.testing.assert_array_equal(_hold_ahead(buf, s, 2, ~on), buf)  # only where asked
    assert (_hold_ahead(buf, s, 0, on) == buf).all()


def test_a_pair_that_hangs_on_one_arrival_is_certified_not_called_unreachable():
    """The review's case: a depot's breaches all fall on one day, when the shipment due
    that day is late, lost or stopped by an outage. Raising that day's planning floor only
    made the LP bring more on the same shipment (87 of 500 breaching, unchanged over three
    raises: called unreachable, although the default sample certifies). Holding the level
    the day needs over the days before certifies it."""
    from optimiser.generate import generate_instance
    from optimiser.instance import Instance

    inst = Instance.from_tables(*generate_instance(3, 6, 2, 20, seed=1))
    params = ScenarioParams(demand_sigma=0.3, demand_phi=0.5, surge_prob=0.05,
                            surge_multiplier=1.5, surge_days=3, outage_prob=0.03,
                            outage_days=2, delay_prob=0.1, delay_max_days=3, loss_prob=0.02)
    for kw in (dict(reliability=0.9, seed=3), dict(reliability=0.8, scope="joint", seed=5)):
        plan = optimiser.solve(inst, train=500, certify=1500, params=params, **kw)
        rel = plan.summary["reliability"]
        assert rel["certified"] is True, (kw, plan.summary["reliability_run"]["limits"])
        assert plan.summary["reliability_run"]["limits"] == []
