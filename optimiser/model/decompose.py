"""Per-commodity decomposition (exact).

Without a budget nothing couples the commodities: every variable and every row of
the LP (docs/MODEL.md) belongs to exactly one commodity (lanes, supplier-commodity and
node-commodity pairs each carry one), so the LP is block-diagonal and its optimum
is the sum of the blocks' optima. Each block is an Instance restricted to one
commodity; its solution maps back to the full instance's indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..instance import Instance


@dataclass(frozen=True, eq=False)
class Block:
    commodity: int
    instance: Instance  # restricted to the commodity
    lanes: np.ndarray  # block lane j -> full lane lanes[j]
    pairs: np.ndarray  # block node pair -> full pair
    supplier_pairs: np.ndarray  # block supplier pair -> full supplier pair


def can_decompose(inst: Instance) -> bool:
    """A budget couples every commodity; without one, more than one commodity splits."""
    return inst.budget is None and len(inst.commodities) > 1


def split_by_commodity(inst: Instance) -> list[Block]:
    blocks = []
    for k in range(len(inst.commodities)):
        pairs = np.flatnonzero(inst.nc_commodity == k)
        sps = np.flatnonzero(inst.sp_commodity == k)
        lanes = np.flatnonzero(inst.lane_commodity == k)
        if len(pairs) == 0 and len(sps) == 0:
            continue  # cannot happen with a validated instance; nothing to plan
        # a commodity only suppliers sell is kept: a contract minimum there is infeasible
        sub = inst.restrict(sps, pairs, lanes, name=f"{inst.name}[{inst.commodities[k]}]")
        blocks.append(Block(k, sub, lanes, pairs, sps))
    return blocks


def concat_tables(tables: list[pa.Table | None], schema: pa.Schema, sort: str | None) -> pa.Table:
    ts = [t for t in tables if t is not None and t.num_rows]
    t = pa.concat_tables(ts) if ts else schema.empty_table()
    if sort and t.num_rows:
        t = t.sort_by([(sort, "descending")])
    return t
