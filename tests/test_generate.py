"""The generator: determinism (same seed, same bytes), shape, validity, size, speed."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest

from optimiser import Instance, load_instance
from optimiser.errors import UsageError
from optimiser.generate import estimate_variables, generate_instance, write_generated


def digest(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_same_seed_same_bytes(tmp_path, fmt):
    args = dict(suppliers=5, nodes=12, commodities=3, days=40, seed=7, fmt=fmt)
    write_generated(tmp_path / "a", **args)
    write_generated(tmp_path / "b", **args)
    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a == b
    assert {"instance.json", f"suppliers.{fmt}", f"lanes.{fmt}", f"demand.{fmt}"} <= set(a)
    write_generated(tmp_path / "c", **{**args, "seed": 8})
    assert digest(tmp_path / "c")[f"demand.{fmt}"] != a[f"demand.{fmt}"]


def test_generated_instance_is_realistic():
    meta, tables = generate_instance(suppliers=6, nodes=15, commodities=3, days=60, seed=1)
    inst = Instance.from_tables(meta, tables)
    assert inst.warnings == ()
    nodes = tables["nodes"].to_pydict()
    depots = {n for n in nodes["node"] if n.startswith("D")}
    consumers = {n for n in nodes["node"] if n.startswith("C")}
    assert len(depots) == 5 and len(consumers) == 10
    lanes = tables["lanes"].to_pydict()
    modes = set(lanes["mode"])
    assert {"sea", "air", "road"} <= modes
    for o, d, m, lead in zip(lanes["origin"], lanes["destination"], lanes["mode"],
                             lanes["lead_time_days"]):
        if o.startswith("S"):  # suppliers ship to depots only (end-user restriction)
            assert d in depots and m in ("sea", "air")
        else:
            assert o in depots and lead >= 1
    sea = np.array([x for x, m in zip(lanes["lead_time_days"], lanes["mode"]) if m == "sea"])
    air = np.array([x for x, m in zip(lanes["lead_time_days"], lanes["mode"]) if m == "air"])
    assert air.max() < sea.min()
    # every supplier ships to only some depots
    per_pair = {}
    for o, d, k in zip(lanes["origin"], lanes["destination"], lanes["commodity"]):
        if o.startswith("S"):
            per_pair.setdefault((o, k), set()).add(d)
    assert all(1 <= len(v) <= 4 for v in per_pair.values())
    # the optional tables are all there: ramp-ups, floors overrides, pipeline, demand
    assert all(tables[k].num_rows > 0 for k in ("capacity", "floors", "pipeline", "demand"))
    ramp = tables["capacity"].to_pydict()
    assert min(ramp["day"]) == 0
    assert inst.demand[inst.floor[:, 0] > 0].sum() == 0  # depots hold, consumers consume
    sup = tables["suppliers"].to_pydict()
    assert any(v is not None for v in sup["contract_max"])
    assert any(v > 0 for v in sup["contract_min"])
    assert any(v is not None for v in nodes["max_stock"])
    # supply can cover most demand: capacity per commodity >= demand per commodity
    cap = np.bincount(inst.sp_commodity, weights=inst.capacity.sum(axis=1))
    dem = np.bincount(inst.nc_commodity, weights=inst.demand.sum(axis=1))
    assert (cap >= dem).all()


@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (1, 2, 1, 2), (2, 3, 1, 5), (3, 4, 5, 3)])
def test_smallest_sizes_are_valid(sizes):
    meta, tables = generate_instance(*sizes, seed=3)
    Instance.from_tables(meta, tables)


def test_bad_sizes_refused():
    with pytest.raises(UsageError):
        generate_instance(0, 3, 1, 5)
    with pytest.raises(UsageError):
        generate_instance(1, 3, 1, 5, budget=-1.0)


def test_budget_written():
    meta, _ = generate_instance(2, 3, 1, 5, budget=1e6)
    assert meta["budget"] == 1e6


def test_estimate_matches_model_lp_size():
    meta, tables = generate_instance(suppliers=4, nodes=9, commodities=2, days=30, seed=2)
    inst = Instance.from_tables(meta, tables)
    try:
        from optimiser.model import lp_size
    except ImportError:
        pytest.skip("optimiser.model.lp_size not available")
    assert lp_size(inst)["variables"] == estimate_variables(meta, tables)


def test_million_variables_in_seconds():
    t0 = time.perf_counter()
    meta, tables = generate_instance(suppliers=20, nodes=300, commodities=10, days=365, seed=1)
    seconds = time.perf_counter() - t0
    assert estimate_variables(meta, tables) > 2_000_000
    assert seconds < 10


def test_moderate_instance_loads_and_validates(tmp_path):
    write_generated(tmp_path / "m", suppliers=10, nodes=60, commodities=4, days=120, seed=4,
                    fmt="parquet")
    inst = load_instance(tmp_path / "m")
    assert inst.n_lanes > 100 and inst.horizon == 120 and inst.warnings == ()
    assert inst.demand.sum() > 0 and np.isfinite(inst.capacity).all()
