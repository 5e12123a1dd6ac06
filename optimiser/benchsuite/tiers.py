"""The registry of benchmark instances: generator arguments with fixed seeds.

Sizes are LP variables (checked with `optimiser info`); names say the size, the
commodity count (few = 2, many = 8..16) and `-b` when a budget row couples the
commodities. The budget is 60% of what the demand would cost at the mean unit
price, so it binds (the plan rations, at a penalty) and the LP stays feasible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Tier:
    name: str
    suppliers: int
    nodes: int
    commodities: int
    days: int
    budget: bool = False
    seed: int = 1
    approx_vars: int = 0
    decimals: bool = False  # every quantity and price an arbitrary decimal; depot-depot lanes

    def generator_args(self) -> dict:
        return {"suppliers": self.suppliers, "nodes": self.nodes,
                "commodities": self.commodities, "days": self.days, "seed": self.seed}

    def as_dict(self) -> dict:
        return asdict(self)


def _pair(name, s, n, k, d, approx):
    return [Tier(name, s, n, k, d, False, approx_vars=approx),
            Tier(name + "-b", s, n, k, d, True, approx_vars=approx)]


TIERS: dict[str, Tier] = {t.name: t for t in [
    *_pair("10k-few", 8, 24, 2, 60, 11_000),
    *_pair("10k-many", 6, 12, 8, 30, 10_500),
    *_pair("100k-few", 20, 80, 2, 150, 96_000),
    *_pair("100k-many", 16, 50, 10, 60, 105_000),
    *_pair("1m-few", 70, 380, 2, 365, 1_015_000),
    *_pair("1m-many", 40, 160, 16, 120, 1_028_000),
    *_pair("5m-few", 90, 720, 2, 1000, 5_029_000),
    # non-integral data: the network cannot be scaled to exact integers (issue: real data
    # carry decimals), so the engine rounds it and hands HiGHS the rounded network's basis
    Tier("10k-dec", 8, 24, 2, 60, False, approx_vars=11_500, decimals=True),
    Tier("100k-dec", 20, 80, 2, 150, False, approx_vars=100_000, decimals=True),
]}

#: `optimiser bench --quick`: one tier per axis (few/no budget, many/budget), ~10k variables
QUICK = ("10k-few", "10k-many-b")
#: `optimiser bench`: every 10k, 100k and 1M tier (the non-integral ones included)
FULL = tuple(n for n in TIERS if not n.startswith("5m"))
#: added by `optimiser bench --huge`
HUGE = ("5m-few", "5m-few-b")
#: the test suite's tier (not in any suite): a few thousand variables
TINY = Tier("tiny", 3, 6, 2, 20, True, approx_vars=1_000)


def budget_for(meta: dict, tables: dict) -> float:
    """60% of total demand priced at the mean unit price (deterministic in the tables)."""
    demand = tables["demand"].column("quantity").to_numpy()
    price = tables["suppliers"].column("unit_price").to_numpy()
    return float(np.round(0.6 * demand.sum() * price.mean(), 2))


def generate(tier: Tier):
    """(meta, tables) of a tier, with its budget when it has one."""
    from ..generate import generate_instance

    meta, tables = generate_instance(**tier.generator_args(), name=tier.name)
    if tier.budget:
        meta, tables = generate_instance(**tier.generator_args(), name=tier.name,
                                         budget=budget_for(meta, tables))
    if tier.decimals:
        tables = with_decimals(tables, tier.seed)
    return meta, tables


def with_decimals(tables: dict, seed: int) -> dict:
    """Every floating-point quantity and price scaled by a random factor in [0.9, 1.1]
    and given arbitrary decimals (no power of ten up to 10^6 makes them integers), and
    lanes added between the depots (both ways, 1 day, by rail), so stock moves between
    depots too."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed + 7919)
    out = {}
    for name, t in tables.items():
        cols = []
        for f, col in zip(t.schema, t.columns):
            if pa.types.is_floating(f.type) and t.num_rows:
                v = col.to_numpy(zero_copy_only=False)
                ok = np.isfinite(v) & (v > 0)
                w = np.where(ok, v * rng.uniform(0.9, 1.1, len(v)) + rng.uniform(0.001, 0.01, len(v)), v)
                cols.append(pa.array(w, type=f.type, mask=pc.is_null(col).to_numpy(
                    zero_copy_only=False)))
            else:
                cols.append(col)
        out[name] = pa.Table.from_arrays(cols, schema=t.schema)
    nodes, lanes = out["nodes"], out["lanes"]
    depots = [(n, k) for n, k in zip(nodes.column("node").to_pylist(),
                                     nodes.column("commodity").to_pylist()) if n.startswith("D")]
    extra = [{"origin": a, "destination": b, "commodity": k, "mode": "rail", "lead_time_days": 1,
              "unit_cost": float(rng.uniform(0.5, 3.0)), "daily_capacity": float(rng.uniform(50, 500))}
             for a, k in depots for b, k2 in depots if a != b and k == k2]
    if extra:
        add = pa.Table.from_pylist(extra, schema=lanes.schema)
        out["lanes"] = pa.concat_tables([lanes, add])
    return out


def resolve(names) -> list[Tier]:
    out = []
    for n in names:
        if n == "tiny":
            out.append(TINY)
        elif n in TIERS:
            out.append(TIERS[n])
        else:
            from ..errors import UsageError
            raise UsageError(f"unknown tier {n!r}; choose from tiny, {', '.join(TIERS)}")
    return out
