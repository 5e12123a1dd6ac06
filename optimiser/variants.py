"""The what-if language: named variants of an instance, read from TOML and checked.

    from optimiser.variants import read_variants
    variants = read_variants(inst, "variants.toml")      # validated before anything runs
    variants[0].instance                                  # the changed instance

A variants file (TOML, data only) holds one table per variant under `variants`; an empty
table is the unchanged instance (a baseline). Keys of a variant (docs/DISTRIBUTED.md):

    [variants.baseline]

    [variants.surge]
    description = "front consumption +50 %"
    demand = { scale = 1.5, nodes = ["front"] }          # or a list of such tables
    floors = { scale = 1.2 }                              # or { set = 1000, nodes = [...] }
    budget = 2.5e6                                        # or "none" to remove it

    [[variants.no_alpha.suppliers]]
    supplier = "alpha"                                    # commodity = "..." narrows it
    remove = true                                         # or capacity_scale / capacity_cap /
                                                          #    contract_max (a number or "none")
    [[variants.slow_sea.lanes]]
    origin = "alpha"
    destination = "depot-north"                           # commodity, mode narrow the match
    lead_time_days = 12

Every change is checked against the instance (names that exist, values in range) and
the changed instance is validated like any other (`Instance.from_tables`); problems in
any variant are reported together, naming the variant and the key, and nothing runs.

optimiser/sweep.py runs the variants (solved, and evaluated on the same futures).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidInstanceError, UsageError
from .instance import Instance, as_instance

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
VARIANT_KEYS = ("description", "demand", "floors", "suppliers", "budget", "lanes")
KEEP_BUILT = 16  # up to this many variants keep their checked instance; more are rebuilt
MAX_VARIANTS = 100_000  # more is a generated file gone wrong, not a sweep
MAX_LEAD_DAYS = 2**31 - 1  # lead times are int32 in the instance format


@dataclass(frozen=True, eq=False)
class Variant:
    """A named change of the base instance. `instance` is the changed instance, checked
    when the variants were read; in large sweeps it is rebuilt on each access and not
    kept, so variants stream (one changed instance in memory at a time per worker)."""

    name: str
    description: str
    changes: dict  # the variant's table from the file, as given
    base: Instance
    built: Instance | None = None  # kept when the sweep is small

    @property
    def instance(self) -> Instance:
        if self.built is not None:
            return self.built
        return Instance.from_tables(_meta(self.base, self.changes),
                                    apply_changes(self.base, self.changes, []))


# ---------------------------------------------------------------- reading and checking
def read_variants(instance: Instance | str, path: str | Path) -> list[Variant]:
    """Parse a variants TOML file and build every variant; UsageError lists all problems."""
    from ._textfile import parse, read_text

    path = Path(path)
    data = parse(read_text(path, "variants file"), path, "variants file", as_json=False)
    return build_variants(instance, data, source=str(path))


def build_variants(instance: Instance | str, data: Mapping, source: str = "variants",
                   keep: bool | None = None) -> list[Variant]:
    """Check every variant (each changed instance is built and validated, one at a time)
    and return them; UsageError lists every problem. keep: keep the built instances
    (default: when there are at most KEEP_BUILT variants)."""
    inst = as_instance(instance)
    problems: list[str] = []
    extra = sorted(set(data) - {"variants"})
    if extra:
        problems.append(f"{source}: unknown top-level key(s) {', '.join(extra)}; "
                        "put each variant under [variants.NAME]")
    table = data.get("variants")
    if not isinstance(table, Mapping) or not table:
        problems.append(f"{source}: no variants; add at least one [variants.NAME] table")
        raise UsageError("invalid variants:\n  - " + "\n  - ".join(problems))
    if len(table) > MAX_VARIANTS:
        raise UsageError(f"{source}: {len(table):,} variants, more than the {MAX_VARIANTS:,} "
                         "a sweep runs; split the file into several sweeps")
    if keep is None:
        keep = len(table) <= KEEP_BUILT
    out = []
    for name, changes in table.items():
        where = f"variant {name!r}"
        if not NAME_RE.match(name) or name in (".", ".."):
            problems.append(f"{where}: a name is 1-100 letters, digits, '_', '.', '-' "
                            "(it names the plan's directory)")
            continue
        if not isinstance(changes, Mapping):
            problems.append(f"{where}: must be a table of changes, got {type(changes).__name__}")
            continue
        errs: list[str] = []
        tables = apply_changes(inst, changes, errs)
        if errs:
            problems += [f"{where}, {e}" for e in errs]
            continue
        meta = _meta(inst, changes)
        try:
            vinst = Instance.from_tables(meta, tables)
        except InvalidInstanceError as e:
            problems += [f"{where}: the changed instance is invalid: {p}" for p in e.problems]
            continue
        out.append(Variant(name=name, description=str(changes.get("description", "")),
                           changes=dict(changes), base=inst, built=vinst if keep else None))
        del vinst  # large sweeps: checked, then let go
    if problems:
        raise UsageError(f"invalid variants in {source} ({len(problems)} problem(s)); "
                         "nothing was run:\n  - " + "\n  - ".join(problems))
    return out


def _meta(inst: Instance, changes: Mapping) -> dict:
    budget = inst.budget
    if "budget" in changes:
        budget = None if changes["budget"] == "none" else float(changes["budget"])
    return {"format": "optimiser-instance", "version": 1, "name": inst.name,
            "horizon_days": inst.horizon, "budget": budget, "description": inst.description}


def apply_changes(inst: Instance, changes: Mapping, errs: list[str]) -> dict[str, pa.Table]:
    """The instance's tables with `changes` applied; problems appended to errs (key first)."""
    tables = dict(inst.tables)
    unknown = sorted(set(changes) - set(VARIANT_KEYS))
    if unknown:
        errs.append(f"key(s) {', '.join(unknown)}: unknown; known: {', '.join(VARIANT_KEYS)}")
    if "description" in changes and not isinstance(changes["description"], str):
        errs.append("key 'description': must be a string")
    if "budget" in changes:
        b = changes["budget"]
        if b != "none" and not (_is_num(b) and b >= 0):
            errs.append(f"key 'budget': {b!r} must be a number >= 0, or \"none\" to remove it")
    names = _Names(inst)
    for i, ch in enumerate(_items(changes, "demand", errs)):
        key = f"demand[{i}]"
        if _keys(ch, key, {"scale", "nodes", "commodities"}, {"scale"}, errs):
            scale = _scale(ch, "scale", key, errs)
            mask_args = names.node_filter(ch, key, errs)
            if scale is not None and mask_args is not None and "demand" in tables:
                tables["demand"] = _scaled(tables["demand"], "quantity", scale, *mask_args)
    for i, ch in enumerate(_items(changes, "floors", errs)):
        key = f"floors[{i}]"
        if _keys(ch, key, {"scale", "set", "nodes", "commodities"}, set(), errs):
            if ("scale" in ch) == ("set" in ch):
                errs.append(f"key '{key}': give exactly one of scale or set")
                continue
            op = "scale" if "scale" in ch else "set"
            v = _scale(ch, op, key, errs)
            mask_args = names.node_filter(ch, key, errs)
            if v is None or mask_args is None:
                continue
            for t, col in (("nodes", "floor"), ("floors", "floor")):
                if t in tables:
                    tables[t] = (_scaled if op == "scale" else _set)(tables[t], col, v, *mask_args)
    for i, ch in enumerate(_items(changes, "suppliers", errs)):
        key = f"suppliers[{i}]"
        ok = _keys(ch, key, {"supplier", "commodity", "remove", "capacity_scale",
                             "capacity_cap", "contract_max"}, {"supplier"}, errs)
        if ok:
            _supplier_change(tables, names, ch, key, errs)
    for i, ch in enumerate(_items(changes, "lanes", errs)):
        key = f"lanes[{i}]"
        if _keys(ch, key, {"origin", "destination", "commodity", "mode", "lead_time_days"},
                 {"origin", "destination", "lead_time_days"}, errs):
            _lane_change(tables, names, ch, key, errs)
    return tables


def _supplier_change(tables, names, ch, key, errs) -> None:
    sup = tables["suppliers"]
    who = ch["supplier"]
    if not isinstance(who, str) or who not in names.suppliers:
        errs.append(f"key '{key}.supplier': no supplier {who!r}; known: {names.known(names.suppliers)}")
        return
    com = ch.get("commodity")
    if com is not None and (not isinstance(com, str) or com not in names.commodities):
        errs.append(f"key '{key}.commodity': no commodity {com!r}; known: {names.known(names.commodities)}")
        return
    m = _match(sup, "supplier", [who], com)
    if not pc.any(m).as_py():
        errs.append(f"key '{key}': supplier {who!r} does not sell {com!r}")
        return
    ops = [k for k in ("remove", "capacity_scale", "capacity_cap", "contract_max") if k in ch]
    if not ops:
        errs.append(f"key '{key}': say what changes: remove, capacity_scale, capacity_cap or contract_max")
        return
    if "remove" in ch:
        if ch["remove"] is not True or len(ops) > 1:
            errs.append(f"key '{key}.remove': must be true, and alone (a removed supplier has no capacity)")
            return
        keep = pc.invert(m)
        tables["suppliers"] = sup.filter(keep)
        if "capacity" in tables:
            tables["capacity"] = tables["capacity"].filter(
                pc.invert(_match(tables["capacity"], "supplier", [who], com)))
        lanes = tables["lanes"]
        tables["lanes"] = lanes.filter(pc.invert(_match(lanes, "origin", [who], com)))
        return
    for op, change in (("capacity_scale", _scaled), ("capacity_cap", _capped)):
        if op not in ch:
            continue
        v = _scale(ch, op, key, errs)
        if v is not None:  # the daily capacity and its per-day overrides alike
            tables["suppliers"] = sup = change(sup, "daily_capacity", v, "supplier", [who], com)
            if "capacity" in tables:
                tables["capacity"] = change(tables["capacity"], "capacity", v, "supplier", [who], com)
    if "contract_max" in ch:
        v = ch["contract_max"]
        if v == "none":
            tables["suppliers"] = _set(sup, "contract_max", None, "supplier", [who], com)
        elif _is_num(v) and v >= 0:
            tables["suppliers"] = _set(sup, "contract_max", float(v), "supplier", [who], com)
        else:
            errs.append(f"key '{key}.contract_max': {v!r} must be a number >= 0, or \"none\"")


def _lane_change(tables, names, ch, key, errs) -> None:
    lanes = tables["lanes"]
    for k, known in (("origin", names.suppliers | names.nodes), ("destination", names.nodes),
                     ("commodity", names.commodities)):
        if k in ch and (not isinstance(ch[k], str) or ch[k] not in known):
            errs.append(f"key '{key}.{k}': no {k if k == 'commodity' else 'supplier or node'} "
                        f"{ch[k]!r}; known: {names.known(known)}")
            return
    if "mode" in ch and not isinstance(ch["mode"], str):
        errs.append(f"key '{key}.mode': must be a string")
        return
    lead = ch["lead_time_days"]
    if not (_is_num(lead) and 0 <= lead <= MAX_LEAD_DAYS and float(lead).is_integer()):
        errs.append(f"key '{key}.lead_time_days': {lead!r:.40} must be a whole number of days "
                    f"from 0 to {MAX_LEAD_DAYS} (a lead time beyond the horizon never arrives)")
        return
    m = pc.and_(pc.equal(lanes.column("origin"), ch["origin"]),
                pc.equal(lanes.column("destination"), ch["destination"]))
    for k in ("commodity", "mode"):
        if k in ch:
            m = pc.and_(m, pc.equal(lanes.column(k), ch[k]))
    if not pc.any(m).as_py():
        what = ", ".join(f"{k}={ch[k]!r}" for k in ("origin", "destination", "commodity", "mode") if k in ch)
        errs.append(f"key '{key}': no lane with {what}")
        return
    tables["lanes"] = _set(lanes, "lead_time_days", int(lead), mask=m)


class _Names:
    def __init__(self, inst: Instance):
        self.suppliers = set(map(str, inst.supplier_names))
        self.nodes = set(map(str, inst.node_names))
        self.commodities = set(map(str, inst.commodities))

    @staticmethod
    def known(names: set[str]) -> str:
        s = sorted(names)
        return ", ".join(s[:10]) + (f" ... ({len(s)} in all)" if len(s) > 10 else "")

    def node_filter(self, ch, key, errs):
        """(who column, nodes or None, commodities or None) for _match, or None on a problem."""
        lists = {}
        for k, known in (("nodes", self.nodes), ("commodities", self.commodities)):
            v = ch.get(k)
            if v is None:
                lists[k] = None
                continue
            if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
                errs.append(f"key '{key}.{k}': must be a non-empty list of names")
                return None
            bad = [x for x in v if x not in known]
            if bad:
                errs.append(f"key '{key}.{k}': unknown {', '.join(map(repr, bad))}; "
                            f"known: {self.known(known)}")
                return None
            lists[k] = v
        return ("node", lists["nodes"], lists["commodities"])


def _items(changes: Mapping, key: str, errs: list[str]) -> list[Mapping]:
    v = changes.get(key)
    if v is None:
        return []
    items = [v] if isinstance(v, Mapping) else v
    if not isinstance(items, list) or not all(isinstance(x, Mapping) for x in items):
        errs.append(f"key '{key}': must be a table or a list of tables")
        return []
    return items


def _keys(ch: Mapping, key: str, allowed: set, required: set, errs: list[str]) -> bool:
    unknown = sorted(set(ch) - allowed)
    missing = sorted(required - set(ch))
    if unknown:
        errs.append(f"key '{key}': unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    if missing:
        errs.append(f"key '{key}': missing {', '.join(missing)}")
    return not unknown and not missing


def _is_num(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) <= 1e300  # TOML integers may have any number of digits
    return isinstance(v, float) and math.isfinite(v)


def _scale(ch: Mapping, k: str, key: str, errs: list[str]) -> float | None:
    v = ch[k]
    if not (_is_num(v) and v >= 0):
        errs.append(f"key '{key}.{k}': {v!r} must be a finite number >= 0")
        return None
    return float(v)


def _match(t: pa.Table, who_col: str, who: list[str] | None, commodities) -> pa.ChunkedArray:
    m = pa.chunked_array([pa.array(np.ones(t.num_rows, dtype=bool))])
    if who is not None:
        m = pc.and_(m, pc.is_in(t.column(who_col), value_set=pa.array(who, pa.string())))
    if commodities is not None:
        coms = [commodities] if isinstance(commodities, str) else commodities
        m = pc.and_(m, pc.is_in(t.column("commodity"), value_set=pa.array(coms, pa.string())))
    return m


def _replace(t: pa.Table, col: str, values) -> pa.Table:
    i = t.schema.get_field_index(col)
    return t.set_column(i, t.schema.field(i), values.cast(t.schema.field(i).type))


def _scaled(t, col, f, who_col=None, who=None, coms=None):
    m = _match(t, who_col, who, coms)
    return _replace(t, col, pc.if_else(m, pc.multiply(t.column(col).cast(pa.float64()), f), t.column(col)))


def _capped(t, col, v, who_col=None, who=None, coms=None):
    m = _match(t, who_col, who, coms)
    return _replace(t, col, pc.if_else(m, pc.min_element_wise(t.column(col), v), t.column(col)))


def _set(t, col, v, who_col=None, who=None, coms=None, mask=None):
    m = _match(t, who_col, who, coms) if mask is None else mask
    typ = t.schema.field(col).type
    return _replace(t, col, pc.if_else(m, pa.scalar(v, typ), t.column(col)))
