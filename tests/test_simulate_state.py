"""The closed-loop replay between replans against the plain-Python reference: state
carried over a day range, a different plan per scenario, and what a replanner is told
(realised stock, shipments expected -- late, lost, overdue --, surges, outages,
supplier dispatches)."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from scenario_reference import small_case  # noqa: E402
from simulate_reference import ReferenceScenario  # noqa: E402

from optimiser.scenarios.arrays import prepare  # noqa: E402
from optimiser.scenarios.kernels import COMMODITY_KPI_NAMES, KPI_NAMES, LANES  # noqa: E402
from optimiser.scenarios.params import ScenarioParams  # noqa: E402
from optimiser.simulate.core import _lane_sp  # noqa: E402
from optimiser.simulate.state import TrackInfo, known_at, run_segment, segment_plan  # noqa: E402

CASES = {
    "late_lost": ScenarioParams(loss_prob=0.3, delay_prob=0.6, delay_max_days=3),
    "all": ScenarioParams(demand_sigma=0.4, demand_phi=0.6, surge_prob=0.15, surge_days=3,
                          surge_multiplier=1.8, outage_prob=0.15, outage_days=3,
                          delay_prob=0.4, delay_max_days=2, loss_prob=0.2),
    "lost_no_delay": ScenarioParams(loss_prob=0.5, delay_max_days=2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_state_carry_over_equals_reference(name):
    params = CASES[name]
    inst, x, u = small_case(T=14)
    T = inst.horizon
    a = prepare(inst, x, u)
    n, seed, start = 5, 7, 30
    gen = np.random.default_rng(1)
    # a second plan per scenario from day 6 on, a third from day 10 on
    plans = [np.broadcast_to(x, (n,) + x.shape).copy()]
    for _ in range(2):
        xb = np.round(gen.uniform(0, 9, size=(n,) + x.shape) * (gen.random((n,) + x.shape) < 0.6),
                      1)
        for lane in range(inst.n_lanes):
            xb[:, lane, T - int(inst.lane_lead[lane]):] = 0.0
        plans.append(xb)
    us = [np.broadcast_to(u, (n,) + u.shape).copy(),
          gen.uniform(0, 1, size=(n,) + u.shape) * (inst.demand > 0),
          np.zeros((n,) + u.shape)]
    bounds = [0, 6, 10, T]
    info = TrackInfo.of(a, params, inst.n_supplier_pairs)
    nb = (n + LANES - 1) // LANES
    st_f = np.zeros((nb, info.nf))
    st_i = np.zeros((nb, info.ni), dtype=np.int64)
    rec = np.empty((nb, T * inst.n_pairs, LANES), dtype=np.float32)
    refs = [ReferenceScenario(inst, params, seed, start + j) for j in range(n)]
    X = plans[0].copy()
    U = us[0].copy()
    for seg, (t_lo, t_hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        X[:, :, t_lo:] = plans[seg][:, :, t_lo:]
        U[:, :, t_lo:] = us[seg][:, :, t_lo:]
        plan = segment_plan(X, U, a, inst.lane_origin, inst.lane_from_supplier, t_lo, t_hi,
                            nb * LANES)
        kpi, kpi_c = run_segment(a, params, seed, start, n, plan, t_lo, t_hi, st_f, st_i,
                                 _lane_sp(inst), info, rec)
        for j, r in enumerate(refs):
            for _ in range(t_lo, t_hi):
                r.day(X[j], U[j])
        if t_hi < T:
            known = known_at(t_hi, n, T, st_f, st_i, info, a.max_lead)
            for j, r in enumerate(refs):
                np.testing.assert_allclose(known.stock[j], r.stock, rtol=1e-12, atol=1e-9)
                np.testing.assert_allclose(known.expected[j], r.expected_arrivals(),
                                           rtol=1e-12, atol=1e-9)
                np.testing.assert_allclose(known.dispatched[j], r.dispatched, rtol=1e-12,
                                           atol=1e-9)
                np.testing.assert_array_equal(known.surge_left[j], r.surge_left)
                np.testing.assert_array_equal(known.outage_left[j], r.outage_left)
    stock = rec.transpose(0, 2, 1).reshape(-1, T, inst.n_pairs)[:n]
    for j, r in enumerate(refs):
        np.testing.assert_allclose(stock[j].T, r.stock_rec, rtol=1e-6, atol=1e-4)  # float32
        ref = r.kpis()
        for m, k in enumerate(KPI_NAMES):
            if k in ref:
                assert kpi[j, m] == pytest.approx(ref[k], rel=1e-12, abs=1e-9), k
        by = r.by_commodity()
        for ci, c in enumerate(inst.commodities):
            for m, k in enumerate(COMMODITY_KPI_NAMES):
                want = by[str(c)][k]
                if math.isnan(want):
                    assert math.isnan(kpi_c[j, ci, m])
                else:
                    assert kpi_c[j, ci, m] == pytest.approx(want, rel=1e-12, abs=1e-9), (c, k)


def test_late_and_overdue_shipments_expected_as_documented():
    """Supplier dispatches only (known quantities). Every shipment exactly one day late:
    on day t those planned for t-1 are still expected (on day t), those planned for t-2
    have landed. Every shipment lost (delay_max 1): planned for t-1 still expected on day
    t, planned for t-2 overdue by 2 > 1 -- known lost, expected no more."""
    inst, x, u = small_case(T=12)
    x = x * inst.lane_from_supplier[:, None]
    T, t = inst.horizon, 6
    a = prepare(inst, x, u)
    lead = inst.lane_lead

    def planned_on(day):  # [I] units planned to arrive on `day`, dispatched before t
        out = np.zeros(inst.n_pairs)
        for lane in range(inst.n_lanes):
            d = day - int(lead[lane])
            if 0 <= d < t:
                out[inst.lane_dest[lane]] += x[lane, d]
        return out

    for params in (ScenarioParams(delay_prob=1.0, delay_max_days=1),
                   ScenarioParams(loss_prob=1.0, delay_max_days=1)):
        info = TrackInfo.of(a, params, inst.n_supplier_pairs)
        st_f = np.zeros((1, info.nf))
        st_i = np.zeros((1, info.ni), dtype=np.int64)
        X = x[None].copy()
        U = u[None].copy()
        plan = segment_plan(X, U, a, inst.lane_origin, inst.lane_from_supplier, 0, t, LANES)
        run_segment(a, params, 3, 0, 1, plan, 0, t, st_f, st_i, _lane_sp(inst), info, None)
        known = known_at(t, 1, T, st_f, st_i, info, a.max_lead)
        np.testing.assert_allclose(known.expected[0][:, t], planned_on(t - 1) + planned_on(t),
                                   rtol=1e-12, atol=1e-12)
        for day in range(t + 1, T):
            np.testing.assert_allclose(known.expected[0][:, day], planned_on(day),
                                       rtol=1e-12, atol=1e-12)
        assert known.expected[0][:, :t].sum() == 0.0
        disp = np.zeros(inst.n_supplier_pairs)
        for lane in np.flatnonzero(inst.lane_from_supplier):
            disp[inst.lane_origin[lane]] += x[lane, :t].sum()
        np.testing.assert_allclose(known.dispatched[0], disp, rtol=1e-12)
