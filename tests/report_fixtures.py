"""Hand-built instance, plan and evaluation directories for the report tests.

The numbers are plausible, not optimal: the report only draws what the files
say, so the fixtures need the input, plan and evaluation formats (docs/FORMAT.md), not a
solver. ``build(root, depots=N)`` writes ``instance/``, ``plan/`` and
``eval/`` under ``root`` and returns their paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HORIZON = 30


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


def write_instance(directory: Path, depots: int = 2) -> None:
    write_json(
        directory / "instance.json",
        {"format": "optimiser-instance", "version": 1, "name": "tiny-report", "horizon_days": HORIZON, "budget": 60000.0},
    )
    suppliers = pa.table(
        {
            "supplier": ["Acme", "Borg", "Cyan"],
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
    write_table(
        directory,
        "nodes",
        pa.table(
            {
                "node": [r[0] for r in rows],
                "commodity": [r[1] for r in rows],
                "initial_stock": [500.0] * len(rows),
                "floor": [0.0 if r[0] in fronts else 400.0 if r[1] == "shells" else 100.0 for r in rows],
            }
        ),
    )
    write_table(
        directory,
        "lanes",
        pa.table(
            {
                "origin": ["Acme", "Borg", "Cyan"] + nodes,
                "destination": [nodes[0], nodes[-1], nodes[0]] + ["front"] * len(nodes),
                "commodity": ["shells", "shells", "fuses"] + ["shells"] * len(nodes),
                "lead_time_days": pa.array([2, 3, 1] + [1] * len(nodes), type=pa.int32()),
            }
        ),
    )
    # Acme's capacity drops on days 10..12: a capacity override (as Parquet).
    write_table(
        directory,
        "capacity",
        pa.table(
            {
                "supplier": ["Acme"] * 3,
                "commodity": ["shells"] * 3,
                "day": pa.array([10, 11, 12], type=pa.int16()),
                "capacity": [40.0, 40.0, 40.0],
            }
        ),
        fmt="parquet",
    )


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


def write_evaluation(directory: Path, depots: int = 2, *, scenarios: int = 200, nested: bool = True) -> None:
    rng = np.random.default_rng(11)
    unmet = np.where(rng.random(scenarios) < 0.3, 0.0, rng.gamma(2.0, 80.0, scenarios))
    below = np.where(rng.random(scenarios) < 0.1, 0.0, rng.gamma(3.0, 300.0, scenarios))
    demand = 3600.0 * rng.lognormal(0, 0.1, scenarios)
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
    write_json(directory / "summary.json", summary)

    stock = _stock_rows(depots, np.random.default_rng(7))
    base = np.asarray(stock["stock"])
    day = np.asarray(stock["day"], dtype=float)
    spread = 8.0 * np.sqrt(day + 1)
    write_table(
        directory,
        "fan",
        pa.table(
            {
                "node": stock["node"],
                "commodity": stock["commodity"],
                "day": pa.array(stock["day"], type=pa.int32()),
                "p5": np.maximum(base - 2 * spread, 0),
                "p50": base - 0.3 * spread,
                "p95": base + spread,
            }
        ),
    )


def build(root: Path, depots: int = 2, *, shadow: bool = True, nested: bool = True) -> Dirs:
    dirs = Dirs(root / "instance", root / "plan", root / "eval")
    write_instance(dirs.instance, depots)
    write_plan(dirs.plan, depots, shadow=shadow)
    write_evaluation(dirs.evaluation, depots, nested=nested)
    return dirs
