"""What-if sweeps: named variants of an instance, solved (and evaluated) side by side.

    from optimiser.sweep import read_variants, sweep
    variants = read_variants(inst, "variants.toml")      # validated before anything runs
    result = sweep(inst, variants, scenarios=1000, seed=1, demand_sigma=0.3)
    result.table                                          # one row per variant
    result.write("OUT")                                   # variants.arrow, plans/<variant>/

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
A variant that then fails (a solver malfunction, a lost worker beyond the retries) is
reported as `failed` with its reason; the others complete.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidInstanceError, UsageError
from .instance import Instance, as_instance

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
VARIANT_KEYS = ("description", "demand", "floors", "suppliers", "budget", "lanes")
BREAKDOWN = ("procurement", "transport", "holding", "shortfall_penalty", "readiness_penalty")
EVAL_STATS = ("mean", "p95")
FAILED = "failed"


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
    if "capacity_scale" in ch:
        v = _scale(ch, "capacity_scale", key, errs)
        if v is not None:
            tables["suppliers"] = sup = _scaled(sup, "daily_capacity", v, "supplier", [who], com)
            if "capacity" in tables:
                tables["capacity"] = _scaled(tables["capacity"], "capacity", v, "supplier", [who], com)
    if "capacity_cap" in ch:
        v = _scale(ch, "capacity_cap", key, errs)
        if v is not None:
            tables["suppliers"] = sup = _capped(sup, "daily_capacity", v, "supplier", [who], com)
            if "capacity" in tables:
                tables["capacity"] = _capped(tables["capacity"], "capacity", v, "supplier", [who], com)
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


# ---------------------------------------------------------------- running
@dataclass(eq=False)
class SolveOutcome:
    """What a solve task sends back: the plan's arrays and tables, not its Instance."""

    status: str
    x: np.ndarray
    s: np.ndarray
    u: np.ndarray
    r: np.ndarray
    summary: dict
    shadow_prices: pa.Table | None
    infeasibility: pa.Table | None

    @classmethod
    def of(cls, plan) -> SolveOutcome:
        return cls(plan.status, plan.x, plan.s, plan.u, plan.r, plan.summary,
                   plan.shadow_prices, plan.infeasibility)

    def plan(self, inst: Instance):
        from .plan import Plan

        return Plan(instance=inst, status=self.status, x=self.x, s=self.s, u=self.u, r=self.r,
                    summary=self.summary, shadow_prices=self.shadow_prices,
                    infeasibility=self.infeasibility)


HAS_PLAN = ("optimal", "feasible")


def _solve_task(inst: Instance, solve_kwargs: dict) -> SolveOutcome:
    """One variant's solve; on a Dask worker its commodity blocks become Dask tasks too."""
    from .execution import on_worker_map
    from .solve import solve

    kw = dict(solve_kwargs)
    m = on_worker_map()
    if m is not None:
        kw["map"] = m
    return SolveOutcome.of(solve(inst, **kw))


def _prepare_task(inst: Instance, outcome: SolveOutcome):
    from .scenarios import prepare

    if outcome.status not in HAS_PLAN:
        return None
    return prepare(inst, outcome.x, outcome.u)


@dataclass(eq=False)
class VariantResult:
    variant: Variant
    status: str
    plan: Any = None  # Plan, None when the solve failed (or once streamed to disk)
    evaluation: Any = None  # Evaluation, None when not evaluated (or once streamed)
    error: str | None = None
    seconds: float = 0.0
    plan_summary: dict | None = None  # kept when the plan itself is let go
    eval_summary: dict | None = None

    def release(self) -> None:
        """Keep the summaries (for the table), let go of the plan and evaluation arrays."""
        if self.plan is not None:
            self.plan_summary = self.plan.summary
        if self.evaluation is not None:
            self.eval_summary = self.evaluation.summary
        self.plan = self.evaluation = None

    def summaries(self) -> tuple[dict, dict | None]:
        ps = self.plan.summary if self.plan is not None else (self.plan_summary or {})
        es = self.evaluation.summary if self.evaluation is not None else self.eval_summary
        return ps, es


@dataclass(eq=False)
class SweepResult:
    results: list[VariantResult]
    summary: dict = field(default_factory=dict)

    @property
    def table(self) -> pa.Table:
        return variants_table(self.results)

    @property
    def by_commodity(self) -> pa.Table:
        """One row per (variant, commodity): that commodity's quantities alone."""
        return variants_by_commodity_table(self.results)

    def __getitem__(self, name: str) -> VariantResult:
        for r in self.results:
            if r.variant.name == name:
                return r
        raise KeyError(name)

    def write(self, path, force: bool = False, protect: tuple = ()) -> Path:
        """OUT/variants.arrow, OUT/summary.json, OUT/plans/<variant>/ and, when evaluated,
        OUT/evaluations/<variant>/: written beside OUT and renamed into place when complete."""
        from ._atomic import atomic_dir

        with atomic_dir(path, force=force, protect=protect) as tmp:
            for r in self.results:
                write_variant(tmp, r)
            self.write_index(tmp)
        return Path(path)

    def write_index(self, directory: Path) -> None:
        """variants.arrow and summary.json into `directory` (the plans are written already)."""
        from ._json import write_json
        from .io import write_table

        write_table(self.table, directory / "variants.arrow")
        write_table(self.by_commodity, directory / "variants_by_commodity.arrow")
        write_json(directory / "summary.json", self.summary)


def write_variant(directory: Path, r: VariantResult) -> None:
    """plans/<variant>/ and evaluations/<variant>/ of one result into `directory`."""
    from .plan import write_plan_files

    if r.plan is not None:
        d = directory / "plans" / r.variant.name
        d.mkdir(parents=True)
        write_plan_files(r.plan, d)
    if r.evaluation is not None:
        d = directory / "evaluations" / r.variant.name
        d.parent.mkdir(parents=True, exist_ok=True)
        r.evaluation.write(d)


def sweep(instance: Instance | str, variants: list[Variant], *, client=None,
          solver: str | None = None, time_limit: float | None = None,
          threads: int | None = None, scenarios: int = 0, seed: int = 0,
          params=None, chunk_size: int | None = None,
          progress: Callable[[str, VariantResult], None] | None = None,
          retries: int | None = None, sink: Callable[[VariantResult], None] | None = None,
          in_flight: int | None = None, **param_kwargs) -> SweepResult:
    """Solve every variant, and evaluate each plan under `scenarios` sampled futures
    (0: no evaluation) with the same seed and parameters, so variants are compared on
    the same futures. client: a Dask client (variants, their commodity blocks and the
    scenario chunks run as tasks on it); None runs the variants one after another here.
    progress(name, result) is called as each variant completes.

    sink(result), when given, is called as each variant completes (after progress), and
    the result's plan and evaluation are then let go (summaries kept for the table):
    a sweep of many variants streams to disk instead of holding every plan.
    in_flight: with Dask, at most this many variants submitted at once (default twice
    the workers), so changed instances are built as they are needed.
    """
    from .execution import DEFAULT_RETRIES, scenario_params

    t0 = time.perf_counter()
    inst = as_instance(instance)
    prm = scenario_params(params, param_kwargs)
    if int(scenarios) != scenarios or scenarios < 0:
        raise UsageError(f"scenarios must be an integer >= 0, got {scenarios!r}")
    solve_kwargs: dict[str, Any] = {"time_limit": time_limit, "threads": threads}
    if solver is not None:
        solve_kwargs["solver"] = solver
    retries = DEFAULT_RETRIES if retries is None else retries
    def done(name: str, res: VariantResult) -> None:
        if progress:
            progress(name, res)
        if sink is not None:
            sink(res)
            res.release()

    if client is None:
        results = [_run_local(v, solve_kwargs, int(scenarios), seed, prm, chunk_size, done)
                   for v in variants]
        engine = {"engine": "local"}
    else:
        results = _run_dask(client, variants, solve_kwargs, int(scenarios), seed, prm,
                            chunk_size, retries, done, in_flight=in_flight)
        from .execution import dask_map, describe
        engine = describe(dask_map(client))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = {"format": "optimiser-sweep", "version": 1, "instance": inst.name,
               "variants": len(results), "statuses": counts,
               "scenarios": int(scenarios), "seed": int(seed),
               "params": prm.as_dict() if scenarios else None,
               "solve": {k: v for k, v in solve_kwargs.items() if v is not None},
               "execution": engine, "seconds": time.perf_counter() - t0,
               "failed": {r.variant.name: r.error for r in results if r.status == FAILED}}
    return SweepResult(results=results, summary=summary)


def _run_local(v: Variant, solve_kwargs, scenarios, seed, prm, chunk_size, progress):
    from .solve import solve

    t = time.perf_counter()
    res = VariantResult(v, FAILED)
    try:
        vinst = v.instance  # built here, for this variant only
        plan = solve(vinst, **solve_kwargs)
        res.plan, res.status = plan, plan.status
        _tag(plan, v)
        if scenarios and plan.status in HAS_PLAN:
            from .scenarios import evaluate

            res.evaluation = evaluate(vinst, plan, scenarios=scenarios, seed=seed,
                                      params=prm, chunk_size=chunk_size, fan=False)
    except Exception as e:  # a malfunction in one variant must not stop the others
        res.status, res.error = FAILED, f"{type(e).__name__}: {e}"
    res.seconds = time.perf_counter() - t
    if progress:
        progress(v.name, res)
    return res


def _tag(plan, v: Variant) -> None:
    plan.summary["variant"] = {"name": v.name, "description": v.description, "changes": v.changes}


def _run_dask(client, variants, solve_kwargs, scenarios, seed, prm, chunk_size, retries,
              progress, solve_task=None, in_flight: int | None = None):
    """Per variant: a solve task, then (if evaluating) a prepare task and one task per
    scenario chunk, all chained by futures so nothing waits on the client in between.
    At most `in_flight` variants are submitted at once (default twice the workers); the
    next is built and submitted as one completes."""
    from distributed import as_completed

    from .execution import chunk_ranges, dask_map, default_chunk, token
    from .scenarios.evaluate import ChunkCollector, Evaluation, chunk_task

    t0 = time.perf_counter()
    dm = dask_map(client, retries=retries)
    workers = dm.workers
    chunk = (chunk_size or default_chunk(scenarios, workers)) if scenarios else 0
    limit = max(1, int(in_flight or 2 * max(workers, 1)))
    tok = token("sweep")
    jobs: dict = {}  # future -> (variant index, kind)
    solve_f: dict[int, Any] = {}
    live: dict[int, tuple] = {}  # variant index -> (instance, its scattered future)
    results = [VariantResult(v, FAILED) for v in variants]
    collectors: dict[int, ChunkCollector] = {}
    pending: dict[int, int] = {}

    def submit(i: int) -> list:
        inst = variants[i].instance
        (inst_f,) = client.scatter([inst], hash=False)
        live[i] = (inst, inst_f)
        f = client.submit(solve_task or _solve_task, inst_f, solve_kwargs, key=f"{tok}-solve-{i}",
                          retries=retries, pure=False)
        jobs[f] = (i, "solve")
        solve_f[i] = f
        new = [f]
        if scenarios:
            arr = client.submit(_prepare_task, inst_f, f, key=f"{tok}-prepare-{i}",
                                retries=retries, pure=False)
            items = [(prm, seed, a, b, False, None) for a, b in chunk_ranges(scenarios, chunk)]
            for c in dm.submit_shared(chunk_task, arr, items, prefix=f"sweep-{i}-chunk"):
                jobs[c] = (i, "chunk")
                new.append(c)
        collectors[i] = ChunkCollector()
        pending[i] = len(new)
        return new

    nxt = 0
    first = []
    while nxt < len(variants) and nxt < limit:
        first += submit(nxt)
        nxt += 1
    ac = as_completed(first)
    for f in ac:
        i, kind = jobs.pop(f)
        res = results[i]
        inst = live[i][0]
        if f.status == "error":
            if res.error is None:
                exc = f.exception()
                during = "evaluation: " if solve_f[i].status == "finished" else ""
                res.error = during + f"{type(exc).__name__}: {exc}"
                res.status = FAILED
        elif kind == "solve":
            plan = f.result().plan(inst)
            _tag(plan, variants[i])
            res.plan = plan
            if res.error is None:
                res.status = plan.status
        else:
            r = f.result()
            if r is not None:
                collectors[i].add(r)
        f.release()
        pending[i] -= 1
        if pending[i] == 0:
            col = collectors.pop(i)
            if res.error is None and col.parts:
                ev = Evaluation.from_result(inst, None, col.result(), seed, prm)
                ev.summary["execution"] = {"engine": "dask", "chunk_size": chunk}
                res.evaluation = ev
            res.seconds = time.perf_counter() - t0
            live.pop(i)[1].release()
            solve_f.pop(i)
            if progress:
                progress(variants[i].name, res)
            if nxt < len(variants):
                for g in submit(nxt):
                    ac.add(g)
                nxt += 1
    return results


# ---------------------------------------------------------------- the table
def eval_columns() -> list[tuple[str, Callable[[dict], Any]]]:
    """(column, getter from an evaluation summary) of the KPIs a sweep reports per variant."""
    from .scenarios import KPI_NAMES

    out: list[tuple[str, Callable[[dict], Any]]] = [
        (f"eval_{k}_{st}", lambda s, k=k, st=st: s[k][st]) for k in KPI_NAMES for st in EVAL_STATS]
    out += [(f"eval_{k}", lambda s, k=k: s[k])
            for k in ("unmet_cvar95", "p_any_shortfall", "p_any_breach")]
    return out


def variants_table(results: list[VariantResult]) -> pa.Table:
    """One row per variant: status, objective and its breakdown, the plan's unmet and
    unit-days below floor, evaluation KPIs (when evaluated), seconds, error message."""
    evaluated = any(r.summaries()[1] is not None for r in results)
    ecols = eval_columns() if evaluated else []
    rows = []
    for r in results:
        s, es = r.summaries()
        has = s.get("objective") is not None
        row = {"variant": r.variant.name, "description": r.variant.description,
               "status": r.status, "objective": s.get("objective") if has else None}
        for k in BREAKDOWN:
            row[k] = s["breakdown"].get(k) if has else None
        row["unmet"] = s["totals"]["unmet"] if has else None
        row["below_floor_unit_days"] = s["totals"]["below_floor_unit_days"] if has else None
        for c, get in ecols:
            row[c] = get(es) if es is not None else None
        row["seconds"] = r.seconds
        row["error"] = r.error or (s.get("message") if r.status not in HAS_PLAN else None)
        rows.append(row)
    names = (["variant", "description", "status", "objective", *BREAKDOWN, "unmet",
              "below_floor_unit_days"] + [c for c, _ in ecols] + ["seconds", "error"])
    strings = {"variant", "description", "status", "error"}
    schema = pa.schema([(n, pa.string() if n in strings else pa.float64()) for n in names])
    return pa.Table.from_pylist(rows, schema=schema)


# quantities of different commodities are never added: the per-commodity twin of the table
BY_COMMODITY_PLAN = ("ordered", "demand", "unmet", "below_floor_unit_days", "days_below_floor")
BY_COMMODITY_EVAL = (("eval_unmet_mean", ("unmet", "mean")), ("eval_unmet_p95", ("unmet", "p95")),
                     ("eval_fill_rate_mean", ("fill_rate", "mean")),
                     ("eval_below_floor_mean", ("below_floor", "mean")),
                     ("eval_unmet_cvar95", ("unmet_cvar95",)),
                     ("eval_p_any_shortfall", ("p_any_shortfall",)),
                     ("eval_p_any_breach", ("p_any_breach",)))


def variants_by_commodity_table(results: list[VariantResult]) -> pa.Table:
    """variants_by_commodity.arrow: one row per (variant, commodity) with the plan's
    per-commodity totals (summary.json totals.by_commodity) and, when evaluated, that
    commodity's scenario KPIs (the evaluation's by_commodity); every variant has a row for
    every commodity, null where it has no plan or no evaluation."""
    per = []
    for r in results:
        s, es = r.summaries()
        per.append((r, s, (s.get("totals") or {}).get("by_commodity") or {},
                    (es or {}).get("by_commodity") or {}))
    commodities = sorted({k for _, _, p, e in per for k in (*p, *e)})
    rows = []
    for r, s, plan_k, eval_k in per:  # every variant on every commodity: null where none
        for k in commodities:
            row = {"variant": r.variant.name, "commodity": k}
            for c in BY_COMMODITY_PLAN:
                row[c] = (plan_k.get(k) or {}).get(c) if s.get("objective") is not None else None
            for c, path in BY_COMMODITY_EVAL:
                v = eval_k.get(k)
                for key in path:
                    v = v.get(key) if isinstance(v, dict) else None
                row[c] = v
            rows.append(row)
    names = ["variant", "commodity", *BY_COMMODITY_PLAN, *(c for c, _ in BY_COMMODITY_EVAL)]
    schema = pa.schema([(n, pa.string() if n in ("variant", "commodity") else pa.float64())
                        for n in names])
    return pa.Table.from_pylist(rows, schema=schema)
