"""The in-memory instance: index maps and dense numpy arrays (docs/FORMAT.md).

Built from the normalised tables with vectorised numpy/pyarrow operations: no
Python loop over rows or days. Ids are row order: supplier-commodity pair p is
row p of suppliers, node-commodity pair i is row i of nodes, lane l is row l
of lanes. This is what the LP model and the scenario kernels consume.

Names are any string and stay Python str objects (object arrays) or Arrow
strings: never fixed-width numpy strings, whose memory is rows x the longest
name x 4 bytes (one 1 MB name among 3,000 suppliers would ask for gigabytes).
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidInstanceError, Problem
from .io import as_numpy, file_names, meta_start_date, read_instance_tables
from .validate import resource_problems, validate_meta, validate_tables


def _ro(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _join(a, sep: str, b) -> np.ndarray:
    """Element-wise a + sep + b as an object array of str: Python string addition, exact for
    any name (NUL, separators), memory the total length of the names, not rows x the
    longest name x 4 as fixed-width numpy strings would take."""
    out = np.asarray(a, dtype=object) + sep
    return out + np.asarray(b, dtype=object)


def _pair_ids(who, com, names: pa.Array, commodities: pa.Array, pair_who: np.ndarray,
              pair_com: np.ndarray) -> np.ndarray:
    """Pair id of each (who, commodity) row, -1 where there is no such pair (vectorised)."""
    K = len(commodities)
    lookup = np.full(len(names) * K, -1, dtype=np.int64)
    lookup[pair_who * K + pair_com] = np.arange(len(pair_who))
    w, k = _index_in(who, names), _index_in(com, commodities)
    return np.where((w >= 0) & (k >= 0), lookup[np.maximum(w, 0) * K + np.maximum(k, 0)], -1)


def _index_in(values: pa.ChunkedArray | pa.Array, names: pa.Array) -> np.ndarray:
    return as_numpy(pc.index_in(values, value_set=names), fill=-1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Instance:
    """An immutable, validated instance. Arrays are read-only.

    Shapes: K commodities, S suppliers, N nodes, P supplier-commodity pairs,
    I node-commodity pairs, L lanes, T days.
    """

    name: str
    horizon: int  # T
    budget: float | None
    description: str
    commodities: np.ndarray  # [K] str
    supplier_names: np.ndarray  # [S] str
    node_names: np.ndarray  # [N] str
    # supplier-commodity pairs (rows of suppliers)
    sp_supplier: np.ndarray  # [P] int64 -> supplier_names
    sp_commodity: np.ndarray  # [P] int64 -> commodities
    unit_price: np.ndarray  # [P]
    contract_min: np.ndarray  # [P]
    contract_max: np.ndarray  # [P], inf = none
    capacity: np.ndarray  # [P, T] daily capacity with overrides applied
    # node-commodity pairs (rows of nodes)
    nc_node: np.ndarray  # [I] int64 -> node_names
    nc_commodity: np.ndarray  # [I] int64 -> commodities
    initial_stock: np.ndarray  # [I]
    max_stock: np.ndarray  # [I], inf = none
    holding_cost: np.ndarray  # [I]
    shortfall_penalty: np.ndarray  # [I]
    readiness_penalty: np.ndarray  # [I]
    readiness_hard: np.ndarray  # [I] bool
    floor: np.ndarray  # [I, T] with overrides applied
    demand: np.ndarray  # [I, T]
    pipeline: np.ndarray  # [I, T]
    # lanes (rows of lanes)
    lane_from_supplier: np.ndarray  # [L] bool
    lane_origin: np.ndarray  # [L] int64: index into P if from supplier, else into I
    lane_dest: np.ndarray  # [L] int64 -> I
    lane_commodity: np.ndarray  # [L] int64 -> commodities
    lane_mode: np.ndarray  # [L] str
    lane_lead: np.ndarray  # [L] int64
    lane_cost: np.ndarray  # [L]
    lane_capacity: np.ndarray  # [L], inf = none
    lane_origin_name: np.ndarray  # [L] str
    lane_dest_name: np.ndarray  # [L] str
    tables: dict[str, pa.Table] = field(repr=False)
    warnings: tuple[Problem, ...] = ()
    path: str | None = None
    load_seconds: float = 0.0
    start_date: _dt.date | None = None  # calendar date of day 0 (instance.json start_date)

    # sizes
    @property
    def n_pairs(self) -> int:
        return len(self.nc_node)

    @property
    def n_supplier_pairs(self) -> int:
        return len(self.sp_supplier)

    @property
    def n_lanes(self) -> int:
        return len(self.lane_origin)

    @property
    def lane_price(self) -> np.ndarray:
        """[L] procurement price per unit dispatched (0 for lanes out of nodes)."""
        price = np.zeros(self.n_lanes)
        s = self.lane_from_supplier
        price[s] = self.unit_price[self.lane_origin[s]]
        return price

    @functools.cached_property
    def pair_labels(self) -> np.ndarray:
        """[I] "node/commodity" of every node-commodity pair (object array)."""
        return _join(self.node_names[self.nc_node], "/", self.commodities[self.nc_commodity])

    @functools.cached_property
    def supplier_labels(self) -> np.ndarray:
        """[P] "supplier/commodity" of every supplier-commodity pair (object array)."""
        return _join(self.supplier_names[self.sp_supplier], "/",
                     self.commodities[self.sp_commodity])

    @functools.cached_property
    def lane_labels(self) -> np.ndarray:
        """[L] "origin->destination commodity (mode)" of every lane (object array)."""
        base = _join(_join(self.lane_origin_name, "->", self.lane_dest_name), " ",
                     self.commodities[self.lane_commodity])
        mode = np.asarray(self.lane_mode, dtype=object)
        has = mode != ""
        out = base.copy()
        if has.any():
            out[has] = base[has] + " (" + mode[has] + ")"
        return out

    def date_of(self, day):
        """The calendar date of a day (int or array of ints); None without start_date."""
        if self.start_date is None:
            return None
        if np.ndim(day) == 0:
            return self.start_date + _dt.timedelta(days=int(day))
        return (np.datetime64(self.start_date, "D") + np.asarray(day, dtype=np.int64)).astype(object)

    def node_pair_ids(self, nodes, commodities) -> np.ndarray:
        """Node-commodity pair id of each (node, commodity) row of Arrow columns; -1 if none."""
        return _pair_ids(nodes, commodities, pa.array(self.node_names.tolist(), pa.string()),
                         pa.array(self.commodities.tolist(), pa.string()), self.nc_node,
                         self.nc_commodity)

    def pair_label(self, i: int) -> str:
        return str(self.pair_labels[i])

    def supplier_label(self, p: int) -> str:
        return str(self.supplier_labels[p])

    def lane_label(self, lane: int) -> str:
        return str(self.lane_labels[lane])

    def restrict(self, supplier_pairs, pairs, lanes, name: str | None = None) -> Instance:
        """The instance cut to some rows of its three sub-tables: supplier-commodity pairs,
        node-commodity pairs and lanes (index arrays into this instance, in the order
        wanted). Every field listed in SUPPLIER_PAIR_FIELDS, NODE_PAIR_FIELDS and LANE_FIELDS
        is cut along its axis; lane origins and destinations are renumbered into the kept
        pairs (a kept lane must start and end at kept pairs, else ValueError). Names,
        commodities, horizon and budget stay; the source tables and warnings do not belong
        to the cut instance and are dropped. E.g. one commodity's block (model/decompose.py).
        """
        import dataclasses

        sps = np.asarray(supplier_pairs, dtype=np.int64)
        pairs = np.asarray(pairs, dtype=np.int64)
        lanes = np.asarray(lanes, dtype=np.int64)
        pair_new = np.full(self.n_pairs, -1, dtype=np.int64)
        pair_new[pairs] = np.arange(len(pairs))
        sp_new = np.full(self.n_supplier_pairs, -1, dtype=np.int64)
        sp_new[sps] = np.arange(len(sps))
        cut = {f: getattr(self, f)[sps] for f in SUPPLIER_PAIR_FIELDS}
        cut.update({f: getattr(self, f)[pairs] for f in NODE_PAIR_FIELDS})
        cut.update({f: getattr(self, f)[lanes] for f in LANE_FIELDS})
        fs = cut["lane_from_supplier"]
        origin = cut["lane_origin"].copy()
        origin[fs] = sp_new[origin[fs]]
        origin[~fs] = pair_new[origin[~fs]]
        dest = pair_new[cut["lane_dest"]]
        if (origin < 0).any() or (dest < 0).any():
            raise ValueError("restrict: a kept lane starts or ends at a pair that is not kept")
        cut["lane_origin"], cut["lane_dest"] = origin, dest
        return dataclasses.replace(self, **cut, tables={}, warnings=(),
                                   name=self.name if name is None else name)

    def __repr__(self) -> str:
        return (f"Instance({self.name!r}, T={self.horizon}, commodities={len(self.commodities)}, "
                f"supplier_pairs={self.n_supplier_pairs}, node_pairs={self.n_pairs}, "
                f"lanes={self.n_lanes}, budget={self.budget})")

    # construction ------------------------------------------------------
    @classmethod
    def from_tables(cls, meta: dict, tables: dict[str, pa.Table],
                    fnames: dict[str, str] | None = None, path: str | None = None) -> Instance:
        """Validate and build. Raises InvalidInstanceError listing every problem."""
        from .io import check_schema, normalise
        from .names import nearest, shown
        from .schema import TABLES_BY_NAME

        # built in memory: problems name the table, not a file that does not exist
        fnames = fnames or {n: f"table {n}" for n in TABLES_BY_NAME}
        problems, horizon = validate_meta(meta)
        start = meta_start_date(meta)
        start = start if isinstance(start, _dt.date) or start is None else ...
        norm: dict[str, pa.Table] = {}
        notes: list[Problem] = []
        for name, t in tables.items():
            if t is None:
                continue
            decl = TABLES_BY_NAME.get(name)
            if decl is None:
                close = nearest(name, [n for n in TABLES_BY_NAME if tables.get(n) is None])
                problems.append(Problem(f"table {name}" if fnames.get(name) is None else
                                        fnames[name], None, None, f"unknown table {shown(name)}"
                                        + (f"; did you mean {shown(close[0])}?" if close else "")))
                continue
            if not isinstance(t, pa.Table):
                problems.append(Problem(fnames[name], None, None, f"is a {type(t).__name__}, not a "
                                        "pyarrow.Table; build it with pyarrow.table(...) or "
                                        "optimiser.table_from_rows"))
                continue
            sp = check_schema(decl, fnames[name], t.schema, start_date=start, notes=notes)
            if sp:
                problems += sp
                continue
            try:
                nt = normalise(decl, t, fname=fnames[name], problems=problems,
                               start_date=start if isinstance(start, _dt.date) else None)
            except (pa.ArrowException, ValueError, OverflowError) as e:
                problems.append(Problem(fnames[name], None, None, f"cannot be read ({e})"))
                continue
            if nt is not None:
                norm[name] = nt
        for req in ("suppliers", "nodes", "lanes"):
            if req not in tables or tables[req] is None:
                problems.append(Problem(fnames[req], None, None, "required table is missing"))
        return cls._build(meta, norm, fnames, problems, horizon, path, notes)

    @classmethod
    def _build(cls, meta, tables, fnames, problems, horizon, path, notes=()) -> Instance:
        row_problems, warnings = validate_tables(meta, tables, fnames, horizon)
        problems = problems + row_problems
        if not problems:
            # the dense arrays are allocated next: refuse first if they cannot fit
            problems = resource_problems(horizon, tables["suppliers"].num_rows,
                                         tables["nodes"].num_rows, tables["lanes"].num_rows)
        if problems:
            from .names import shown

            # the path as given may hold control characters: escaped like every name
            raise InvalidInstanceError(problems, None if path is None else shown(path)[1:-1])
        return cls._assemble(meta, tables, tuple(notes) + tuple(warnings), path)

    @classmethod
    def _assemble(cls, meta, tables, warnings, path) -> Instance:
        T = int(meta["horizon_days"])
        sup, nod, lan = tables["suppliers"], tables["nodes"], tables["lanes"]
        commodities = pc.unique(pa.chunked_array(
            sup.column("commodity").chunks + nod.column("commodity").chunks, type=pa.string()))
        supplier_names = pc.unique(sup.column("supplier"))
        node_names = pc.unique(nod.column("node"))
        sp_supplier = _index_in(sup.column("supplier"), supplier_names)
        sp_commodity = _index_in(sup.column("commodity"), commodities)
        nc_node = _index_in(nod.column("node"), node_names)
        nc_commodity = _index_in(nod.column("commodity"), commodities)
        # dense lookups (who, commodity) -> pair id
        def sp_of(who, com):
            return _pair_ids(who, com, supplier_names, commodities, sp_supplier, sp_commodity)

        def nc_of(who, com):
            return _pair_ids(who, com, node_names, commodities, nc_node, nc_commodity)

        I = len(nc_node)
        capacity = np.repeat(as_numpy(sup.column("daily_capacity"))[:, None], T, axis=1)
        floor = np.repeat(as_numpy(nod.column("floor"))[:, None], T, axis=1)
        demand = np.zeros((I, T))
        pipeline = np.zeros((I, T))
        for name, target, of, col in (("capacity", capacity, sp_of, "capacity"),
                                      ("floors", floor, nc_of, "floor"),
                                      ("demand", demand, nc_of, "quantity"),
                                      ("pipeline", pipeline, nc_of, "quantity")):
            t = tables.get(name)
            if t is None or t.num_rows == 0:
                continue
            who = t.column(t.column_names[0])
            rows = of(who, t.column("commodity"))
            target[rows, as_numpy(t.column("day")).astype(np.int64)] = as_numpy(t.column(col))

        origin = lan.column("origin")
        com = lan.column("commodity")
        o_sp = sp_of(origin, com)
        o_nc = nc_of(origin, com)
        from_sup = o_sp >= 0
        lane_origin = np.where(from_sup, o_sp, o_nc)
        lane_dest = nc_of(lan.column("destination"), com)
        budget = meta.get("budget")
        ro = _ro
        return cls(
            name=str(meta["name"]), horizon=T,
            budget=None if budget is None else float(budget),
            description=str(meta.get("description") or ""),
            commodities=ro(np.asarray(commodities.to_pylist(), dtype=object)),
            supplier_names=ro(np.asarray(supplier_names.to_pylist(), dtype=object)),
            node_names=ro(np.asarray(node_names.to_pylist(), dtype=object)),
            sp_supplier=ro(sp_supplier), sp_commodity=ro(sp_commodity),
            unit_price=ro(as_numpy(sup.column("unit_price")).astype(np.float64)),
            contract_min=ro(as_numpy(sup.column("contract_min"), fill=0.0).astype(np.float64)),
            contract_max=ro(as_numpy(sup.column("contract_max"), fill=np.inf).astype(np.float64)),
            capacity=ro(capacity),
            nc_node=ro(nc_node), nc_commodity=ro(nc_commodity),
            initial_stock=ro(as_numpy(nod.column("initial_stock")).astype(np.float64)),
            max_stock=ro(as_numpy(nod.column("max_stock"), fill=np.inf).astype(np.float64)),
            holding_cost=ro(as_numpy(nod.column("holding_cost")).astype(np.float64)),
            shortfall_penalty=ro(as_numpy(nod.column("shortfall_penalty")).astype(np.float64)),
            readiness_penalty=ro(as_numpy(nod.column("readiness_penalty")).astype(np.float64)),
            readiness_hard=ro(as_numpy(nod.column("readiness_hard")).astype(bool)),
            floor=ro(floor), demand=ro(demand), pipeline=ro(pipeline),
            lane_from_supplier=ro(from_sup), lane_origin=ro(lane_origin.astype(np.int64)),
            lane_dest=ro(lane_dest.astype(np.int64)),
            lane_commodity=ro(_index_in(com, commodities)),
            lane_mode=ro(np.asarray(pc.fill_null(lan.column("mode"), "").to_pylist(), dtype=object)),
            lane_lead=ro(as_numpy(lan.column("lead_time_days")).astype(np.int64)),
            lane_cost=ro(as_numpy(lan.column("unit_cost")).astype(np.float64)),
            lane_capacity=ro(as_numpy(lan.column("daily_capacity"), fill=np.inf).astype(np.float64)),
            lane_origin_name=ro(np.asarray(origin.to_pylist(), dtype=object)),
            lane_dest_name=ro(np.asarray(lan.column("destination").to_pylist(), dtype=object)),
            tables=tables, warnings=warnings, path=path,
            start_date=meta_start_date(meta),
        )


#: the three sub-tables of an Instance, each field indexed (first axis) by its rows:
#: supplier-commodity pairs [P], node-commodity pairs [I], lanes [L]. Instance.restrict cuts
#: every field listed; INSTANCE_WHOLE_FIELDS are not per row. Every field of Instance is in
#: exactly one list (checked below, at import): a new field must say which axis it has.
SUPPLIER_PAIR_FIELDS = ("sp_supplier", "sp_commodity", "unit_price", "contract_min",
                        "contract_max", "capacity")
NODE_PAIR_FIELDS = ("nc_node", "nc_commodity", "initial_stock", "max_stock", "holding_cost",
                    "shortfall_penalty", "readiness_penalty", "readiness_hard", "floor",
                    "demand", "pipeline")
LANE_FIELDS = ("lane_from_supplier", "lane_origin", "lane_dest", "lane_commodity", "lane_mode",
               "lane_lead", "lane_cost", "lane_capacity", "lane_origin_name", "lane_dest_name")
INSTANCE_WHOLE_FIELDS = ("name", "horizon", "budget", "description", "commodities",
                         "supplier_names", "node_names", "tables", "warnings", "path",
                         "load_seconds", "start_date")


def _check_field_axes() -> None:
    import dataclasses

    listed = SUPPLIER_PAIR_FIELDS + NODE_PAIR_FIELDS + LANE_FIELDS + INSTANCE_WHOLE_FIELDS
    declared = [f.name for f in dataclasses.fields(Instance)]
    unlisted = sorted(set(declared) - set(listed))
    wrong = sorted({n for n in listed if listed.count(n) > 1 or n not in declared})
    if unlisted or wrong:
        raise TypeError(f"Instance fields without an axis: {unlisted}; listed twice or not a "
                        f"field: {wrong} (optimiser/instance.py *_FIELDS)")

_check_field_axes()

def load_instance(path: str | os.PathLike) -> Instance:
    """Read, validate and build an instance directory. Raises InvalidInstanceError."""
    t0 = time.perf_counter()
    path = Path(path)
    notes: list[Problem] = []
    meta, tables, problems = read_instance_tables(path, notes)
    fnames = file_names(path)
    meta_problems, horizon = validate_meta(meta)
    inst = Instance._build(meta, tables, fnames, problems + meta_problems, horizon, str(path), notes)
    object.__setattr__(inst, "load_seconds", time.perf_counter() - t0)
    return inst


def as_instance(obj) -> Instance:
    """Accept an Instance or a path to an instance directory."""
    if isinstance(obj, Instance):
        return obj
    return load_instance(obj)
