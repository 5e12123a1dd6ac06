"""Writes the bundled instances (instances/seed-155mm, instances/tiny) from the numbers below.

Run from the repository root: ``python instances/build_bundled.py``. The output is
deterministic; tests check that the committed files match what this script writes.
Every number of seed-155mm is listed, with its source, in instances/seed-155mm/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from optimiser._atomic import atomic_dir
from optimiser.io import write_instance_tables
from optimiser.tables import table_from_rows

HERE = Path(__file__).resolve().parent
T_155 = 90
ROUND = "155mm"


def seed_155mm() -> tuple[dict, dict]:
    meta = {
        "name": "seed-155mm",
        "horizon_days": T_155,
        "budget": None,
        "description": (
            "A buyer (US) procures 155 mm artillery rounds from two non-government manufacturers "
            "of an allied producer (South Korea), which sells only to the buyer as end user and "
            "not from its military stocks; an order of 100,000 rounds; a third party (Ukraine) "
            "consumes 7,000 rounds a day, fed only from the buyer's depots, while the buyer "
            "keeps its own stockpiles at readiness floors. Figures from an AP report (2022); "
            "everything else assumed, see README.md."),
    }
    suppliers = [
        # the producer's industry: firm order split 60,000 + 40,000 = 100,000 rounds
        {"supplier": "KR-industry-1", "commodity": ROUND, "unit_price": 1000.0,
         "daily_capacity": 1200.0, "contract_min": 60000.0, "contract_max": 60000.0},
        {"supplier": "KR-industry-2", "commodity": ROUND, "unit_price": 1050.0,
         "daily_capacity": 800.0, "contract_min": 40000.0, "contract_max": 40000.0},
        # the buyer's own domestic production: no contract limits
        {"supplier": "US-industry", "commodity": ROUND, "unit_price": 1200.0,
         "daily_capacity": 500.0, "contract_min": 0.0, "contract_max": None},
    ]
    nodes = [
        {"node": "US-CONUS-depot", "commodity": ROUND, "initial_stock": 400000.0,
         "floor": 350000.0, "max_stock": None, "holding_cost": 0.05,
         "shortfall_penalty": 20000.0, "readiness_penalty": 1000.0, "readiness_hard": False},
        {"node": "US-Europe-depot", "commodity": ROUND, "initial_stock": 60000.0,
         "floor": 20000.0, "max_stock": 150000.0, "holding_cost": 0.05,
         "shortfall_penalty": 20000.0, "readiness_penalty": 500.0, "readiness_hard": False},
        {"node": "UA-front", "commodity": ROUND, "initial_stock": 14000.0,
         "floor": 0.0, "max_stock": None, "holding_cost": 0.0,
         "shortfall_penalty": 20000.0, "readiness_penalty": 0.0, "readiness_hard": False},
    ]
    lanes = [
        # producer -> buyer's depots only (end-user condition): never to UA-front
        {"origin": "KR-industry-1", "destination": "US-CONUS-depot", "commodity": ROUND,
         "mode": "sea", "lead_time_days": 21, "unit_cost": 15.0, "daily_capacity": None},
        {"origin": "KR-industry-1", "destination": "US-Europe-depot", "commodity": ROUND,
         "mode": "sea", "lead_time_days": 35, "unit_cost": 20.0, "daily_capacity": None},
        {"origin": "KR-industry-1", "destination": "US-Europe-depot", "commodity": ROUND,
         "mode": "air", "lead_time_days": 2, "unit_cost": 250.0, "daily_capacity": 300.0},
        {"origin": "KR-industry-2", "destination": "US-CONUS-depot", "commodity": ROUND,
         "mode": "sea", "lead_time_days": 21, "unit_cost": 15.0, "daily_capacity": None},
        {"origin": "KR-industry-2", "destination": "US-Europe-depot", "commodity": ROUND,
         "mode": "sea", "lead_time_days": 35, "unit_cost": 20.0, "daily_capacity": None},
        {"origin": "US-industry", "destination": "US-CONUS-depot", "commodity": ROUND,
         "mode": "rail", "lead_time_days": 2, "unit_cost": 5.0, "daily_capacity": None},
        {"origin": "US-CONUS-depot", "destination": "US-Europe-depot", "commodity": ROUND,
         "mode": "sea", "lead_time_days": 14, "unit_cost": 20.0, "daily_capacity": None},
        {"origin": "US-CONUS-depot", "destination": "US-Europe-depot", "commodity": ROUND,
         "mode": "air", "lead_time_days": 1, "unit_cost": 200.0, "daily_capacity": 1000.0},
        {"origin": "US-Europe-depot", "destination": "UA-front", "commodity": ROUND,
         "mode": "road", "lead_time_days": 3, "unit_cost": 10.0, "daily_capacity": 10000.0},
    ]
    demand = [{"node": "UA-front", "commodity": ROUND, "day": t, "quantity": 7000.0}
              for t in range(T_155)]
    # KR-industry-1 ramps up: half rate for the first 30 days of the new order
    capacity = [{"supplier": "KR-industry-1", "commodity": ROUND, "day": t, "capacity": 600.0}
                for t in range(30)]
    # transfers already shipped from the US before day 0
    pipeline = [{"node": "US-Europe-depot", "commodity": ROUND, "day": 5, "quantity": 20000.0},
                {"node": "US-Europe-depot", "commodity": ROUND, "day": 12, "quantity": 20000.0}]
    tables = {"suppliers": suppliers, "nodes": nodes, "lanes": lanes, "demand": demand,
              "capacity": capacity, "pipeline": pipeline}
    return meta, tables


def tiny() -> tuple[dict, dict]:
    meta = {"name": "tiny", "horizon_days": 10, "budget": None,
            "description": "2 suppliers, 3 nodes (2 depots, 1 consumer), 2 commodities, 10 days"}
    suppliers = [
        {"supplier": "alpha", "commodity": "shells", "unit_price": 10.0, "daily_capacity": 40.0},
        {"supplier": "alpha", "commodity": "fuses", "unit_price": 2.0, "daily_capacity": 50.0,
         "contract_max": 300.0},
        {"supplier": "beta", "commodity": "shells", "unit_price": 12.0, "daily_capacity": 30.0,
         "contract_min": 50.0},
    ]
    nodes = [
        {"node": "depot-north", "commodity": "shells", "initial_stock": 100.0, "floor": 80.0,
         "holding_cost": 0.01},
        {"node": "depot-north", "commodity": "fuses", "initial_stock": 100.0, "floor": 50.0,
         "holding_cost": 0.01},
        {"node": "depot-south", "commodity": "shells", "initial_stock": 60.0, "floor": 50.0,
         "max_stock": 200.0, "holding_cost": 0.01},
        {"node": "front", "commodity": "shells", "initial_stock": 30.0},
        {"node": "front", "commodity": "fuses", "initial_stock": 20.0},
    ]
    lanes = [
        {"origin": "alpha", "destination": "depot-north", "commodity": "shells", "mode": "sea",
         "lead_time_days": 3, "unit_cost": 0.5},
        {"origin": "alpha", "destination": "depot-north", "commodity": "shells", "mode": "air",
         "lead_time_days": 1, "unit_cost": 3.0, "daily_capacity": 10.0},
        {"origin": "alpha", "destination": "depot-north", "commodity": "fuses", "mode": "sea",
         "lead_time_days": 3, "unit_cost": 0.1},
        {"origin": "beta", "destination": "depot-south", "commodity": "shells", "mode": "sea",
         "lead_time_days": 2, "unit_cost": 0.4},
        {"origin": "depot-north", "destination": "depot-south", "commodity": "shells",
         "mode": "road", "lead_time_days": 1, "unit_cost": 0.2, "daily_capacity": 30.0},
        {"origin": "depot-north", "destination": "front", "commodity": "shells", "mode": "road",
         "lead_time_days": 1, "unit_cost": 0.3},
        {"origin": "depot-north", "destination": "front", "commodity": "fuses", "mode": "road",
         "lead_time_days": 1, "unit_cost": 0.1},
        {"origin": "depot-south", "destination": "front", "commodity": "shells", "mode": "road",
         "lead_time_days": 2, "unit_cost": 0.2},
    ]
    shells = [30, 35, 40, 45, 50, 50, 45, 40, 35, 30]
    demand = ([{"node": "front", "commodity": "shells", "day": t, "quantity": float(q)}
               for t, q in enumerate(shells)]
              + [{"node": "front", "commodity": "fuses", "day": t, "quantity": 20.0}
                 for t in range(0, 10, 2)])
    capacity = [{"supplier": "beta", "commodity": "shells", "day": t, "capacity": 10.0}
                for t in range(3)]
    floors = [{"node": "depot-north", "commodity": "shells", "day": t, "floor": 120.0}
              for t in (7, 8, 9)]
    pipeline = [{"node": "depot-south", "commodity": "shells", "day": 1, "quantity": 25.0}]
    return meta, {"suppliers": suppliers, "nodes": nodes, "lanes": lanes, "demand": demand,
                  "capacity": capacity, "floors": floors, "pipeline": pipeline}


BUNDLED = {"seed-155mm": seed_155mm, "tiny": tiny}


def tables_of(build) -> tuple[dict, dict]:
    meta, rows = build()
    return meta, {k: table_from_rows(k, v) for k, v in rows.items()}


def write(name: str, root: Path = HERE) -> Path:
    meta, tables = tables_of(BUNDLED[name])
    out = root / name
    keep = {p.name: p.read_bytes() for p in out.glob("*.md")} if out.is_dir() else {}
    with atomic_dir(out, force=True) as tmp:
        write_instance_tables(meta, tables, tmp, "arrow")
        for fname, data in keep.items():  # the hand-written README stays
            (tmp / fname).write_bytes(data)
    return out


if __name__ == "__main__":
    for n in sys.argv[1:] or list(BUNDLED):
        print(write(n))
