"""Instance, plan and evaluation directories for the report tests.

``solved(root)`` writes a small valid instance of two commodities, solves it
with the engine (a real plan, which passes the independent checker) and
writes a hand-made evaluation of that plan; ``build(root, depots=N)`` writes
a hand-made plan of N depots (plausible, not optimal) for the figure tests,
which draw only what the tables say. ``reliability(plan)`` adds the files of
a reliability plan (planning floor, certificate, frontier) with the columns
docs/OUTPUTS.md lists; ``infeasible(root)`` writes an instance whose hard
floor no lane can reach in time and its solve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HORIZON = 30
HOSTILE = "Bob's $10 & $20 store"  # drawn as "Bob's 10&20 store" if $...$ were parsed as math


@dataclass(frozen=True)
class Dirs:
    instance: Path
    plan: Path
    evaluation: Path


def write_table(directory: Path, name: str, table: pa.Table, fmt: str = "arrow") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, directory / f"{name}.parquet")
        return
    with pa.OSFile(str(directory / f"{name}.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def depot_names(depots: int) -> list[str]:
    return [f"depot-{i:03d}" for i in range(depots)]


def front_names(depots: int) -> list[str]:
    """Consumers: one per three depots, at least one; the first is always "front"."""
    return ["front"] + [f"front-{j:02d}" for j in range(1, max(1, depots // 3))]


def write_instance(directory: Path, depots: int = 2, *, supplier: str = "Acme", demand: bool = True,
                   start_date: str | None = None) -> None:
    """Depots hold shells and fuses with floors; consumers ("front", ...) consume shells (and fuses)."""
    meta = {"format": "optimiser-instance", "version": 1, "name": "tiny-report", "horizon_days": HORIZON,
            "budget": 60000.0}
    if start_date:
        meta["start_date"] = start_date
    write_json(directory / "instance.json", meta)
    suppliers = pa.table(
        {
            "supplier": [supplier, "Borg", "Cyan"],
            "commodity": ["shells", "shells", "fuses"],
            "unit_price": [10.0, 12.0, 3.0],
            "daily_capacity": [100.0, 60.0, 50.0],
            "contract_min": [0.0, 200.0, 0.0],
            "contract_max": pa.array([1420.0, None, None], type=pa.float64()),
        }
    )
    # Dictionary-encoded strings: the report must decode them.
    suppliers = suppliers.set_column(0, "supplier", pa.compute.dictionary_encode(suppliers.column("supplier")))
    write_table(directory, "suppliers", suppliers)
    nodes = depot_names(depots)
    fronts = front_names(depots)
    rows = [(n, k) for n in nodes for k in ("shells", "fuses")] + [(f, "shells") for f in fronts]
    rows.append((fronts[0], "fuses"))
    write_table(
        directory,
        "nodes",
        pa.table(
            {
                "node": [r[0] for r in rows],
                "commodity": [r[1] for r in rows],
                "initial_stock": [20.0 if r[0] in fronts else 500.0 for r in rows],
                "floor": [0.0 if r[0] in fronts else 400.0 if r[1] == "shells" else 100.0 for r in rows],
            }
        ),
    )
    write_table(
        directory,
        "lanes",
        pa.table(
            {
                "origin": [supplier, "Borg", "Cyan"] + nodes + [nodes[0]],
                "destination": [nodes[0], nodes[-1], nodes[0]] + ["front"] * len(nodes) + ["front"],
                "commodity": ["shells", "shells", "fuses"] + ["shells"] * len(nodes) + ["fuses"],
                "mode": ["rail", "sea", "road"] + ["road"] * len(nodes) + ["road"],
                "lead_time_days": pa.array([2, 3, 1] + [1] * len(nodes) + [1], type=pa.int32()),
                "unit_cost": [0.5, 0.25, 0.1] + [0.2] * len(nodes) + [0.1],
            }
        ),
    )
    # The supplier's capacity drops on days 10..12: a capacity override (as Parquet).
    write_table(
        directory,
        "capacity",
        pa.table(
            {
                "supplier": [supplier] * 3,
                "commodity": ["shells"] * 3,
                "day": pa.array([10, 11, 12], type=pa.int16()),
                "capacity": [40.0, 40.0, 40.0],
            }
        ),
        fmt="parquet",
    )
    if demand:
        days = np.arange(HORIZON)
        write_table(directory, "demand", pa.table({
            "node": ["front"] * (2 * HORIZON),
            "commodity": ["shells"] * HORIZON + ["fuses"] * HORIZON,
            "day": pa.array(np.r_[days, days], type=pa.int32()),
            "quantity": np.r_[np.full(HORIZON, 120.0), np.full(HORIZON, 30.0)],
        }))


def _stock_rows(depots: int, rng: np.random.Generator) -> dict[str, list]:
    cols: dict[str, list] = {k: [] for k in ("node", "commodity", "day", "stock", "floor", "below_floor", "demand", "unmet")}
    days = np.arange(HORIZON)

    def add(node: str, commodity: str, stock: np.ndarray, floor: float, demand: np.ndarray, unmet: np.ndarray) -> None:
        stock = np.maximum(stock, 0.0)
        cols["node"] += [node] * HORIZON
        cols["commodity"] += [commodity] * HORIZON
        cols["day"] += days.tolist()
        cols["stock"] += stock.tolist()
        cols["floor"] += [floor] * HORIZON
        cols["below_floor"] += np.maximum(floor - stock, 0.0).tolist()
        cols["demand"] += demand.tolist()
        cols["unmet"] += unmet.tolist()

    zero = np.zeros(HORIZON)
    for i, node in enumerate(depot_names(depots)):
        # Depot i dips below its floor for a stretch that deepens with i.
        dip = 60.0 * (1 + i % 5) * np.exp(-(((days - 12 - i % 7) / 4.0) ** 2))
        add(node, "shells", 450 + 30 * np.sin(days / 5) - dip + rng.normal(0, 5, HORIZON), 400.0, zero, zero)
        add(node, "fuses", 150 + 20 * np.cos(days / 4) - (dip / 3 if i == 0 else 0), 100.0, zero, zero)
    demand = np.full(HORIZON, 120.0)
    for j, front in enumerate(front_names(depots)):
        # Consumer j goes short for five days from day 18 - j (mod 20); every fourth is never short.
        unmet = np.zeros(HORIZON)
        if j % 4 != 3:
            start = (18 - j) % 20
            unmet[start:start + 5] = np.array([10.0, 35.0, 60.0, 30.0, 5.0]) / (1 + j % 3)
        add(front, "shells", np.full(HORIZON, 20.0), 0.0, demand, unmet)
    return cols


def write_plan(directory: Path, depots: int = 2, *, shadow: bool = True) -> None:
    rng = np.random.default_rng(7)
    nodes = depot_names(depots)
    flows: dict[str, list] = {k: [] for k in ("origin", "destination", "commodity", "mode", "depart_day", "arrive_day", "quantity")}

    def ship(o: str, d: str, k: str, day: int, lead: int, q: float) -> None:
        if q > 0:
            for key, v in zip(flows, (o, d, k, "", day, day + lead, q)):
                flows[key].append(v)

    for t in range(HORIZON - 2):
        # Acme runs at capacity (100, or 40 on days 10..12) until its contract max of 1420.
        ship("Acme", nodes[0], "shells", t, 2, (40.0 if 10 <= t <= 12 else 100.0) if t < 16 else 0.0)
        ship("Borg", nodes[-1], "shells", t, 3, 60.0 if t in (3, 4, 5, 20) else 10.0)
        ship("Cyan", nodes[0], "fuses", t, 1, 20.0 if t % 3 == 0 else 0.0)
        for n in nodes:
            ship(n, "front", "shells", t, 1, 120.0 / len(nodes))
    write_table(
        directory,
        "flows",
        pa.table(
            {
                **{k: flows[k] for k in ("origin", "destination", "commodity", "mode")},
                "depart_day": pa.array(flows["depart_day"], type=pa.int32()),
                "arrive_day": pa.array(flows["arrive_day"], type=pa.int32()),
                "quantity": pa.array(flows["quantity"], type=pa.float64()),
            }
        ),
    )
    cols = _stock_rows(depots, rng)
    stock = pa.table({k: (pa.array(v, type=pa.int32()) if k == "day" else v) for k, v in cols.items()})
    write_table(directory, "stock", stock)
    unmet = float(np.sum(cols["unmet"]))
    below = float(np.sum(cols["below_floor"]))
    breakdown = {
        "procurement": 19_800.0,
        "transport": 1_250.0,
        "holding": 628.5,
        "shortfall_penalty": unmet * 1e4,
        "readiness_penalty": below * 100.0,
    }
    write_json(
        directory / "summary.json",
        {
            "status": "optimal",
            "objective": sum(breakdown.values()),
            "breakdown": breakdown,
            "totals": {
                "ordered": {"Acme": 1420.0, "Borg": 480.0, "Cyan": 200.0},
                "demand": float(np.sum(cols["demand"])),
                "unmet": unmet,
                "below_floor_unit_days": below,
                "days_below_floor": 9,
            },
            "solver": {"name": "glop", "time_limit": None, "threads": 1},
            "timings": {"load": 0.01, "build": 0.02, "solve": 0.15, "write": 0.01},
            "size": {"variables": 1234, "constraints": 987, "nonzeros": 4321},
        },
    )
    if not shadow:
        return
    n = 4
    write_table(
        directory,
        "shadow_prices",
        pa.table(
            {
                "constraint": ["supplier_capacity"] * n + ["contract_max", "budget"],
                "name": [f"capacity Acme shells day {d}" for d in range(n)] + ["contract max Acme shells", "budget"],
                "supplier": ["Acme"] * (n + 1) + [None],
                "node": pa.array([None] * (n + 2), type=pa.string()),
                "origin": pa.array([None] * (n + 2), type=pa.string()),
                "destination": pa.array([None] * (n + 2), type=pa.string()),
                "commodity": ["shells"] * (n + 1) + [None],
                "mode": pa.array([None] * (n + 2), type=pa.string()),
                "day": pa.array(list(range(n)) + [None, None], type=pa.int32()),
                "limit": [100.0] * n + [1420.0, 60000.0],
                "used": [100.0] * n + [1420.0, 21050.0],
                "value": [950.0, 940.0, 930.0, 920.0, 812.5, 0.0],
            }
        ),
    )


def write_evaluation(directory: Path, stock: dict, *, scenarios: int = 200, nested: bool = True,
                     by_commodity: bool = True) -> None:
    """A hand-made evaluation of a plan whose stock table is ``stock`` (columns as lists or arrays)."""
    rng = np.random.default_rng(11)
    unmet = np.where(rng.random(scenarios) < 0.3, 0.0, rng.gamma(2.0, 80.0, scenarios))
    below = np.where(rng.random(scenarios) < 0.1, 0.0, rng.gamma(3.0, 300.0, scenarios))
    demand = 4500.0 * rng.lognormal(0, 0.1, scenarios)
    table = {
        "scenario": pa.array(np.arange(scenarios), type=pa.int64()),
        "demand": demand,
        "unmet": unmet,
        "fill_rate": 1 - unmet / demand,
        "shortfall_days": np.ceil(unmet / 40.0),
        "below_floor": below,
        "breach_days": np.ceil(below / 200.0),
        "min_floor_ratio": np.clip(1 - below / 2000.0, 0, 1),
        "cost": 2.3e6 + unmet * 1e4 + below * 100.0,
    }
    write_table(directory, "scenarios", pa.table(table))

    def stats(x: np.ndarray) -> dict[str, float]:
        p5, p50, p95 = np.percentile(x, [5, 50, 95])
        return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)), "p5": p5, "p50": p50, "p95": p95}

    kpis = {k: stats(np.asarray(v, dtype=float)) for k, v in table.items() if k != "scenario"}
    tail = np.sort(unmet)[int(0.95 * scenarios):]
    summary = {
        "scenarios": scenarios,
        "seed": 42,
        "params": {"demand_sigma": 0.3, "outage_prob": 0.01, "outage_days": 3},
        "unmet_cvar95": float(tail.mean()),
        "p_any_shortfall": float(np.mean(unmet > 0)),
        "p_any_breach": float(np.mean(below > 0)),
    }
    summary.update({"kpis": kpis} if nested else kpis)
    if by_commodity:
        # Shells carry 80% of the unmet and the breaches, fuses the rest.
        rows = {"scenario": [], "commodity": [], "demand": [], "unmet": [], "fill_rate": [], "shortfall_days": [],
                "below_floor": [], "breach_days": [], "min_floor_ratio": []}
        per: dict[str, dict] = {}
        for k, share, dem in (("shells", 0.8, 3600.0), ("fuses", 0.2, 900.0)):
            u, b = unmet * share, below * share
            cols = {"demand": np.full(scenarios, dem), "unmet": u, "fill_rate": 1 - u / dem,
                    "shortfall_days": np.ceil(u / 40.0), "below_floor": b, "breach_days": np.ceil(b / 200.0),
                    "min_floor_ratio": np.clip(1 - b / 2000.0, 0, 1)}
            rows["scenario"] += list(range(scenarios))
            rows["commodity"] += [k] * scenarios
            for c, v in cols.items():
                rows[c] += v.tolist()
            per[k] = {c: stats(v) for c, v in cols.items()}
            per[k].update({"unmet_cvar95": float(np.sort(u)[int(0.95 * scenarios):].mean()),
                           "p_any_shortfall": float(np.mean(u > 0)), "p_any_breach": float(np.mean(b > 0))})
        write_table(directory, "scenarios_by_commodity", pa.table(rows))
        summary["by_commodity"] = per
    write_json(directory / "summary.json", summary)

    base = np.asarray(stock["stock"], dtype=float)
    day = np.asarray(stock["day"], dtype=float)
    spread = 8.0 * np.sqrt(day + 1)
    write_table(
        directory,
        "fan",
        pa.table(
            {
                "node": list(stock["node"]),
                "commodity": list(stock["commodity"]),
                "day": pa.array(np.asarray(stock["day"]), type=pa.int32()),
                "p5": np.maximum(base - 2 * spread, 0),
                "p50": base - 0.3 * spread,
                "p95": base + spread,
            }
        ),
    )


def build(root: Path, depots: int = 2, *, shadow: bool = True, nested: bool = True) -> Dirs:
    """A hand-made plan of ``depots`` depots (not solved: for the figures, not for a report)."""
    dirs = Dirs(root / "instance", root / "plan", root / "eval")
    write_instance(dirs.instance, depots, demand=False)
    write_plan(dirs.plan, depots, shadow=shadow)
    write_evaluation(dirs.evaluation, _stock_rows(depots, np.random.default_rng(7)), nested=nested,
                     by_commodity=False)
    return dirs


def solved(root: Path, *, supplier: str = "Acme", start_date: str | None = None, fmt: str = "arrow") -> Dirs:
    """A small instance solved by the engine, and a hand-made evaluation of its plan."""
    import optimiser

    dirs = Dirs(root / "instance", root / "plan", root / "eval")
    write_instance(dirs.instance, 2, supplier=supplier, start_date=start_date)
    plan = optimiser.solve(str(dirs.instance))
    assert plan.status == "optimal", plan.summary
    plan.write(dirs.plan)
    if fmt == "parquet":  # the same plan as Parquet files
        for f in list(dirs.plan.glob("*.arrow")):
            pq.write_table(pa.ipc.open_file(str(f)).read_all(), f.with_suffix(".parquet"))
            f.unlink()
    write_evaluation(dirs.evaluation, plan.stock.to_pydict())
    return dirs


def reliability(plan_dir: Path, *, certified: bool = True) -> None:
    """Turn a plan directory into a reliability plan's: planning_floor, reliability.arrow,
    frontier.arrow and summary.json "reliability", with the columns the reliability files have."""
    stock = pa.ipc.open_file(str(plan_dir / "stock.arrow")).read_all()
    floor = stock.column("floor").to_numpy()
    buffer = np.where(floor > 0, 25.0, 0.0)
    write_table(plan_dir, "stock", stock.append_column("planning_floor", pa.array(floor + buffer)))
    nodes = stock.column("node").to_pylist()
    coms = stock.column("commodity").to_pylist()
    pairs = sorted({(n, k) for n, k, f in zip(nodes, coms, floor) if f > 0})
    m = 10_000
    ub_ok = 1 - 0.05 ** (1 / m)
    rows = {"node": [], "commodity": [], "target": [], "kind": [], "train_breaches": [], "train_scenarios": [],
            "certify_breaches": [], "certify_scenarios": [], "upper_bound": [], "certified": [], "max_buffer": []}
    for j, (n, k) in enumerate(pairs):
        bad = not certified and j == 0
        for key, v in zip(rows, (n, k, 0.9, "readiness", 150 + j, 2000, 2000 if bad else 12 * j, m,
                                 0.21 if bad else (ub_ok if j == 0 else 0.002 + 0.001 * j), not bad, 25.0)):
            rows[key].append(v)
    write_table(plan_dir, "reliability", pa.table({
        **{k: rows[k] for k in ("node", "commodity")},
        "target": pa.array(rows["target"], pa.float64()), "kind": rows["kind"],
        **{k: pa.array(rows[k], pa.int64()) for k in ("train_breaches", "train_scenarios", "certify_breaches",
                                                       "certify_scenarios")},
        "upper_bound": pa.array(rows["upper_bound"], pa.float64()), "certified": pa.array(rows["certified"]),
        "max_buffer": pa.array(rows["max_buffer"], pa.float64()),
    }))
    write_table(plan_dir, "frontier", pa.table({
        "reliability": [0.8, 0.9, 0.95, 0.99], "certified": [True, certified, True, False],
        "upper_bound": [0.15, 0.08 if certified else 0.21, 0.045, 0.013],
        "objective": [41_000.0, 42_500.0, 44_000.0, 49_000.0], "procurement": [40_000.0, 41_200.0, 42_500.0, 47_000.0],
        "extra_cost": [500.0, 2_000.0, 3_500.0, 8_500.0],
    }))
    summary = json.loads((plan_dir / "summary.json").read_text())
    summary["reliability"] = {
        "scope": "pair", "target": 0.9, "service": None, "confidence": 0.95, "train_scenarios": 2000,
        "certify_scenarios": m, "seeds": {"train": {"seed": 0, "first": 0, "count": 2000},
                                          "certify": [{"seed": 0, "first": 2000, "count": m}]},
        "params": {"demand_sigma": 0.3}, "iterations": 4, "attempts": 1,
        "baseline_objective": summary["objective"] - 2000.0, "extra_cost": 2000.0, "certified": certified,
        "joint_upper_bound": None,
        "worst": {"node": pairs[0][0], "commodity": pairs[0][1], "upper_bound": 0.21 if not certified else ub_ok},
    }
    write_json(plan_dir / "summary.json", summary)


def infeasible(root: Path) -> Dirs:
    """An instance whose hard floor at depot-000 (1,000 shells from day 0) nothing can reach, solved."""
    import optimiser

    dirs = Dirs(root / "instance", root / "plan", root / "eval")
    write_instance(dirs.instance, 2)
    nodes = pa.ipc.open_file(str(dirs.instance / "nodes.arrow")).read_all().to_pydict()
    nodes["readiness_hard"] = [n == "depot-000" and k == "shells" for n, k in zip(nodes["node"], nodes["commodity"])]
    nodes["floor"] = [1000.0 if h else f for h, f in zip(nodes["readiness_hard"], nodes["floor"])]
    write_table(dirs.instance, "nodes", pa.table(nodes))
    plan = optimiser.solve(str(dirs.instance))
    assert plan.status == "infeasible", plan.status
    plan.write(dirs.plan)
    return dirs
