"""What a reliability run writes: reliability.arrow, frontier.arrow, stock.arrow's
planning_floor and the `reliability` section of summary.json (docs/RELIABILITY.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .. import outputs
from ..instance import Instance
from ..plan import Plan

RELIABILITY_SCHEMA = outputs.RELIABILITY.schema
FRONTIER_SCHEMA = outputs.FRONTIER.schema
FAN_SCHEMA = outputs.RELIABILITY_FAN.schema


@dataclass(eq=False)
class ReliabilityPlan(Plan):
    """A Plan with its reliability results: `reliability`, `frontier` and `fan` (Arrow
    tables: reliability.arrow, frontier.arrow, reliability_fan.arrow) and the planning floor
    [I, T] its LP held (written as stock.arrow's planning_floor)."""

    reliability: pa.Table | None = None
    frontier: pa.Table | None = None
    fan: pa.Table | None = None  # stock percentiles under the last certification scenarios
    planning_floor: np.ndarray | None = None
    frontier_floors: dict | None = None  # {R: planning floor [I, T]} of each frontier target

    @property
    def stock(self) -> pa.Table:
        t = super().stock
        if self.planning_floor is None:
            return t
        return t.append_column("planning_floor", pa.array(
            np.asarray(self.planning_floor, dtype=np.float64).ravel()))

    def tables(self) -> dict[str, pa.Table]:
        out = super().tables()
        if self.reliability is not None:
            out["reliability"] = self.reliability
        if self.frontier is not None:
            out["frontier"] = self.frontier
        if self.fan is not None:
            out["reliability_fan"] = self.fan
        return out

    @classmethod
    def from_plan(cls, plan: Plan, **extra) -> ReliabilityPlan:
        from dataclasses import fields

        return cls(**{f.name: getattr(plan, f.name) for f in fields(Plan)}, **extra)


def reliability_table(inst: Instance, outcome, targets) -> pa.Table:
    """One row per target event: readiness per protected pair, service per pair with
    demand (with --service), and under scope joint one joint row (node, commodity null)."""
    rows = outcome.rows
    N = targets.train
    M = outcome.certify_ranges[-1]["count"] if outcome.certify_ranges else 0
    buffer = np.maximum(outcome.planning_floor - inst.floor, 0.0)
    nodes, coms, tgt, kind, trb, cb, ub, ok, mb = [], [], [], [], [], [], [], [], []

    def add(pairs, r, target, k):
        pairs = np.asarray(pairs, dtype=np.int64)
        nodes.extend(inst.node_names[inst.nc_node[pairs]].tolist())
        coms.extend(inst.commodities[inst.nc_commodity[pairs]].tolist())
        tgt.extend([target] * len(pairs))
        kind.extend([k] * len(pairs))
        trb.extend(np.asarray(r["train"], dtype=np.int64).tolist())
        cb.extend(np.asarray(r["certify"], dtype=np.int64).tolist())
        ub.extend(np.asarray(r["upper"], dtype=np.float64).tolist())
        ok.extend(np.asarray(r["ok"], dtype=bool).tolist())
        mb.extend(buffer[pairs].max(axis=1, initial=0.0).tolist() if len(pairs) else [])

    add(rows["ready"]["pairs"], rows["ready"], outcome.reliability, "readiness")
    if targets.service is not None:
        add(rows["service"]["pairs"], rows["service"], targets.service, "service")
    n_pair_rows = len(nodes)
    if targets.scope == "joint" and rows["joint"]["upper"] is not None:
        j = rows["joint"]
        nodes.append(None)
        coms.append(None)
        tgt.append(outcome.reliability)
        kind.append("joint")
        trb.append(int(j["train"]))
        cb.append(int(j["certify"]))
        ub.append(float(j["upper"]))
        ok.append(bool(j["ok"]))
        ready = rows["ready"]["pairs"]
        mb.append(float(buffer[ready].max(initial=0.0)) if len(ready) else 0.0)
    n = len(nodes)
    return pa.table({
        "node": pa.array(nodes, pa.string()), "commodity": pa.array(coms, pa.string()),
        "target": pa.array(tgt, pa.float64()), "kind": pa.array(kind, pa.string()),
        "train_breaches": pa.array(trb, pa.int64()),
        "train_scenarios": pa.array([N] * n, pa.int64()),
        "certify_breaches": pa.array(cb, pa.int64()),
        "certify_scenarios": pa.array([M] * n, pa.int64()),
        "upper_bound": pa.array(ub, pa.float64()), "certified": pa.array(ok, pa.bool_()),
        "max_buffer": pa.array(mb, pa.float64()),
    }, schema=RELIABILITY_SCHEMA), n_pair_rows


def event_bound(outcome, targets) -> float | None:
    """The largest upper bound over the target events (the joint bound under scope joint)."""
    r = outcome.rows
    vals = []
    if targets.scope == "joint":
        if r["joint"]["upper"] is not None:
            vals.append(float(r["joint"]["upper"]))
    else:
        vals += np.asarray(r["ready"]["upper"], dtype=float).tolist()
    if targets.service is not None:
        vals += np.asarray(r["service"]["upper"], dtype=float).tolist()
    return max(vals) if vals else None


def frontier_table(points: list[dict]) -> pa.Table:
    points = sorted(points, key=lambda p: p["reliability"])
    return pa.table({k: pa.array([p[k] for p in points], FRONTIER_SCHEMA.field(k).type)
                     for k in FRONTIER_SCHEMA.names}, schema=FRONTIER_SCHEMA)


def summary_section(inst: Instance, outcome, targets, params, baseline_objective: float,
                    objective: float, table: pa.Table, n_pair_rows: int) -> dict:
    """The `reliability` section of summary.json, with exactly its documented keys."""
    worst = None
    if n_pair_rows:
        ub = np.asarray(table.column("upper_bound").to_numpy(zero_copy_only=False)[:n_pair_rows])
        k = int(np.argmax(ub))  # first of the largest: rows are in pair order
        worst = {"node": table.column("node")[k].as_py(),
                 "commodity": table.column("commodity")[k].as_py(),
                 "upper_bound": float(ub[k])}
    return {
        "scope": targets.scope,
        "target": outcome.reliability,
        "service": targets.service,
        "confidence": targets.confidence,
        "train_scenarios": targets.train,
        "certify_scenarios": targets.certify,
        "seeds": {"train": {"seed": targets.seed, "first": 0, "count": targets.train},
                  "certify": list(outcome.certify_ranges)},
        "params": params.as_dict(),
        "iterations": outcome.iterations,
        "attempts": outcome.attempts,
        "baseline_objective": baseline_objective,
        "extra_cost": objective - baseline_objective,
        "certified": bool(outcome.certified),
        "joint_upper_bound": outcome.joint_upper_bound,
        "worst": worst,
    }


def limits_list(inst: Instance, outcome, targets) -> list[dict]:
    """The pairs that could not reach their target: best reliability reached, and why."""
    N = targets.train
    r = outcome.rows
    train = {}
    for kind in ("ready", "service"):
        for i, c in zip(np.asarray(r[kind]["pairs"]).tolist(), np.asarray(r[kind]["train"]).tolist()):
            train[(i, kind)] = max(train.get((i, kind), 0), int(c))
    out = []
    for i, why in sorted(outcome.limits.items()):
        c = max(train.get((i, "ready"), 0), train.get((i, "service"), 0))
        out.append({"node": str(inst.node_names[inst.nc_node[i]]),
                    "commodity": str(inst.commodities[inst.nc_commodity[i]]),
                    "best_reliability": 1.0 - c / N, "limit": why})
    return out
