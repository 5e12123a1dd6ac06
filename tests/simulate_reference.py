"""A plain-Python replay that keeps its state between calls, written from
docs/SCENARIOS.md and docs/SIMULATE.md (not from the kernels).

`ReferenceScenario` replays one scenario day by day under whatever plan it is handed for
each day (x [L, T], u [I, T] in absolute days), keeps every shipment as a record
(dispatch day, planned arrival, realised arrival or lost, quantity), and answers what a
replanner knows on a day t: realised stock, the shipments it still expects and on which
day, the surges and outages under way, the supplier quantities already dispatched.
It records per (pair, day) demand, unmet, beyond-rationing shortfall and stock, from
which the per-commodity KPIs and the per-pair indicators follow.
Random numbers come from the same counter-based functions (called from Python).
"""

from __future__ import annotations

import math

import numpy as np

from optimiser.scenarios import rng

TOL = 1e-6


class ReferenceScenario:
    def __init__(self, inst, params, seed: int, scenario: int):
        self.inst, self.p = inst, params
        T, I = inst.horizon, inst.n_pairs
        self.key = np.uint64(rng.scenario_key(np.uint64(seed), scenario))
        self.stock = [float(v) for v in inst.initial_stock]
        self.arrivals = [[0.0] * I for _ in range(T)]
        self.ships: list[dict] = []  # every dispatch with q > 0 (lost ones included)
        self.z = [0.0] * I
        self.surge_left = [0] * len(inst.node_names)
        self.outage_left = [0] * len(inst.supplier_names)
        self.dispatched = np.zeros(inst.n_supplier_pairs)  # units by supplier pair
        self.spend = 0.0  # unit_price x units dispatched by suppliers
        self.demand = np.zeros((I, T))
        self.unmet = np.zeros((I, T))
        self.beyond = np.zeros((I, T))  # target - met
        self.stock_rec = np.zeros((I, T))
        self.cost = dict(ship=0.0, short=0.0, hold=0.0, ready=0.0)
        self.short_days = 0
        self.breach_days = 0
        self.t = 0

    # ------------------------------------------------------------ one day
    def _ship(self, lane: int, t: int, q: float) -> None:
        p, inst, T = self.p, self.inst, self.inst.horizon
        planned = t + int(inst.lane_lead[lane])
        delay, lost = 0, False
        if p.loss_prob > 0 or (p.delay_prob > 0 and p.delay_max_days > 0):
            b = np.uint64(rng.draw_bits(self.key, rng.STREAM_SHIP, lane, t))
            if rng.hi_uniform(b) < p.loss_prob:
                lost = True
            elif p.delay_prob > 0 and p.delay_max_days > 0 and rng.lo_uniform(b) < p.delay_prob:
                uu = rng.uniform(self.key, rng.STREAM_DELAY, lane, t)
                delay = min(p.delay_max_days, 1 + int(uu * p.delay_max_days))
        real = None if lost else planned + delay
        if real is not None and real < T:
            self.arrivals[real][int(inst.lane_dest[lane])] += q
        self.ships.append(dict(lane=lane, dest=int(inst.lane_dest[lane]), day=t,
                               planned=planned, real=real, q=q))

    def day(self, x: np.ndarray, u: np.ndarray) -> None:
        inst, p, t = self.inst, self.p, self.t
        I, L = inst.n_pairs, inst.n_lanes
        outage_on = p.outage_prob > 0 and p.outage_days > 0
        surge_on = p.surge_prob > 0 and p.surge_days > 0 and p.surge_multiplier != 1
        for s in range(len(self.outage_left)):
            if outage_on and self.outage_left[s] == 0 and \
                    rng.uniform(self.key, rng.STREAM_OUTAGE, s, t) < p.outage_prob:
                self.outage_left[s] = p.outage_days
        for n in range(len(self.surge_left)):
            if surge_on and self.surge_left[n] == 0 and \
                    rng.uniform(self.key, rng.STREAM_SURGE, n, t) < p.surge_prob:
                self.surge_left[n] = p.surge_days
        for lane in range(L):  # 1. suppliers
            if not inst.lane_from_supplier[lane] or x[lane, t] <= 0:
                continue
            sp = int(inst.lane_origin[lane])
            if outage_on and self.outage_left[int(inst.sp_supplier[sp])] > 0:
                continue
            q = float(x[lane, t])
            self.cost["ship"] += q * (inst.lane_price[lane] + inst.lane_cost[lane])
            self.dispatched[sp] += q
            self.spend += q * inst.unit_price[sp]
            self._ship(lane, t, q)
        short = False
        has_demand = (inst.demand > 0).any(axis=1)
        for i in range(I):  # 2-3. arrivals, consumption
            st = self.stock[i] + (self.arrivals[t][i] + inst.pipeline[i, t])
            d = float(inst.demand[i, t])
            if p.demand_sigma > 0 and has_demand[i]:
                e = rng.normal(self.key, rng.STREAM_DEMAND, i, t)
                self.z[i] = e if t == 0 else \
                    p.demand_phi * self.z[i] + math.sqrt(1 - p.demand_phi ** 2) * e
                d = d * rng.exp(p.demand_sigma * self.z[i] - 0.5 * p.demand_sigma ** 2)
            if surge_on and self.surge_left[int(inst.nc_node[i])] > 0:
                d = d * p.surge_multiplier
            target = max(0.0, d - u[i, t])
            met = min(st, target)
            self.stock[i] = st - met
            self.demand[i, t] = d
            self.unmet[i, t] = d - met
            self.beyond[i, t] = target - met
            self.cost["short"] += inst.shortfall_penalty[i] * (d - met)
            if d - met > TOL * max(1.0, inst.demand[i, t]):
                short = True
        self.short_days += short
        for i in range(I):  # 4. node dispatches
            lanes = [lane for lane in range(L) if not inst.lane_from_supplier[lane]
                     and inst.lane_origin[lane] == i and x[lane, t] > 0]
            if not lanes:
                continue
            total = 0.0
            for lane in lanes:
                total += float(x[lane, t])
            if total <= self.stock[i]:
                scale = 1.0
                self.stock[i] -= total
            else:
                scale = self.stock[i] / total
                self.stock[i] = 0.0
            for lane in lanes:
                q = x[lane, t] * scale
                if q > 0:
                    self.cost["ship"] += q * inst.lane_cost[lane]
                    self._ship(lane, t, q)
        breach = False
        for i in range(I):  # 5. end of day
            s_, f = self.stock[i], inst.floor[i, t]
            self.cost["hold"] += inst.holding_cost[i] * s_
            if f > 0 and s_ < f:
                self.cost["ready"] += inst.readiness_penalty[i] * (f - s_)
                if f - s_ > TOL * max(1.0, f):
                    breach = True
            self.stock_rec[i, t] = s_
        self.breach_days += breach
        self.outage_left = [max(0, v - 1) for v in self.outage_left]
        self.surge_left = [max(0, v - 1) for v in self.surge_left]
        self.t += 1

    # ------------------------------------------------------------ what a replanner knows
    def expected_arrivals(self) -> np.ndarray:
        """[I, T] in-transit shipments as known at the start of day self.t: each shipment not
        yet arrived on its planned day, or on day t when that is past; one overdue by more
        than delay_max_days is known lost. Arrivals at or after the horizon are dropped."""
        inst, t, T = self.inst, self.t, self.inst.horizon
        out = np.zeros((inst.n_pairs, T))
        for s in self.ships:
            if s["real"] is not None and s["real"] < t:
                continue  # arrived
            if t - s["planned"] > self.p.delay_max_days:
                continue  # overdue beyond any delay: known lost
            day = max(s["planned"], t)
            if day < T:
                out[s["dest"], day] += s["q"]
        return out

    # ------------------------------------------------------------ results
    def kpis(self) -> dict:
        inst = self.inst
        c = self.cost
        dem, unm = float(self.demand.sum()), float(self.unmet.sum())
        return dict(demand=dem, unmet=unm, cost=((c["ship"] + c["short"]) + c["hold"]) + c["ready"],
                    shortfall_days=self.short_days, breach_days=self.breach_days,
                    fill_rate=1.0 - unm / dem if dem > 0 else 1.0,
                    below_floor=float(np.maximum(inst.floor - self.stock_rec, 0).sum()))

    def by_commodity(self) -> dict:
        inst = self.inst
        out = {}
        fl = inst.floor
        for ci, name in enumerate(inst.commodities):
            rows = np.flatnonzero(inst.nc_commodity == ci)
            dem = self.demand[rows]
            unm = self.unmet[rows]
            tol = TOL * np.maximum(1.0, inst.demand[rows])
            f = fl[rows]
            s = self.stock_rec[rows]
            below = np.where((f > 0) & (s < f), f - s, 0.0)
            has_f = f > 0
            D, U = float(dem.sum()), float(unm.sum())
            out[str(name)] = dict(
                demand=D, unmet=U, fill_rate=1.0 - U / D if D > 0 else 1.0,
                shortfall_days=int((unm > tol).any(axis=0).sum()),
                below_floor=float(below.sum()),
                breach_days=int((below > TOL * np.maximum(1.0, f)).any(axis=0).sum()),
                min_floor_ratio=float((s[has_f] / f[has_f]).min()) if has_f.any() else math.nan)
        return out

    def pair_flags(self) -> tuple[np.ndarray, np.ndarray]:
        inst = self.inst
        f = inst.floor
        breach = ((f > 0) & (f - self.stock_rec > TOL * np.maximum(1.0, f))).any(axis=1)
        short = (self.beyond > TOL * np.maximum(1.0, inst.demand)).any(axis=1)
        return breach, short


def replay_plan(inst, x, u, params, seed: int, scenario: int) -> ReferenceScenario:
    """The whole horizon under one plan."""
    r = ReferenceScenario(inst, params, seed, scenario)
    for _ in range(inst.horizon):
        r.day(x, u)
    return r
