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
]}

#: `optimiser bench --quick`: one tier per axis (few/no budget, many/budget), ~10k variables
QUICK = ("10k-few", "10k-many-b")
#: `optimiser bench`: every 10k, 100k and 1M tier
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
    return meta, tables


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
