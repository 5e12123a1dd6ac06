"""What-if sweeps: named variants of an instance, solved (and evaluated) side by side.

    from optimiser.sweep import read_variants, sweep
    variants = read_variants(inst, "variants.toml")      # validated before anything runs
    result = sweep(inst, variants, scenarios=1000, seed=1, demand_sigma=0.3)
    result.table                                          # one row per variant
    result.write("OUT")                                   # variants.arrow, plans/<variant>/

The variants language (TOML) lives in optimiser/variants.py; how the variants run (here,
or as Dask tasks) in optimiser/execution.py; the result tables are declared in
optimiser/outputs.py (VARIANTS, VARIANTS_BY_COMMODITY). A variant that fails (a solver
malfunction, a lost worker beyond the retries) is reported as `failed` with its reason;
the others complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .instance import Instance, as_instance
from .outputs import (
    FAILED,
    SWEEP_BY_COMMODITY_EVAL,
    SWEEP_BY_COMMODITY_PLAN,
    SWEEP_EVAL_EXTRA,
    SWEEP_EVAL_STATS,
    VARIANTS,
    VARIANTS_BY_COMMODITY,
)
from .status import HAS_PLAN
from .variants import (  # noqa: F401  (the language's names, as sweep offered them)
    KEEP_BUILT,
    MAX_VARIANTS,
    Variant,
    apply_changes,
    build_variants,
    read_variants,
)


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
        from .outputs import write_output_table

        write_output_table(self.table, directory, VARIANTS.name)
        write_output_table(self.by_commodity, directory, VARIANTS_BY_COMMODITY.name)
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
    from .execution import DEFAULT_RETRIES, check_int, scenario_params

    t0 = time.perf_counter()
    inst = as_instance(instance)
    prm = scenario_params(params, param_kwargs)
    scenarios = check_int("scenarios", scenarios, 0)
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
    from .scenarios.chunks import ChunkCollector, chunk_task
    from .scenarios.evaluate import Evaluation

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


# ---------------------------------------------------------------- the tables
def eval_columns() -> list[tuple[str, Callable[[dict], Any]]]:
    """(column, getter from an evaluation summary) of the KPIs a sweep reports per variant:
    the eval_* columns of outputs.VARIANTS."""
    from .outputs import KPI_NAMES

    out: list[tuple[str, Callable[[dict], Any]]] = [
        (f"eval_{k}_{st}", lambda s, k=k, st=st: s[k][st])
        for k in KPI_NAMES for st in SWEEP_EVAL_STATS]
    out += [(f"eval_{k}", lambda s, k=k: s[k]) for k in SWEEP_EVAL_EXTRA]
    return out


def variants_table(results: list[VariantResult]) -> pa.Table:
    """variants.arrow (outputs.VARIANTS): one row per variant: status, objective and its
    breakdown, the plan's unmet and unit-days below floor, evaluation KPIs (when evaluated),
    seconds, error message."""
    from .outputs import BREAKDOWN_KEYS

    evaluated = any(r.summaries()[1] is not None for r in results)
    ecols = eval_columns() if evaluated else []
    rows = []
    for r in results:
        s, es = r.summaries()
        has = s.get("objective") is not None
        row = {"variant": r.variant.name, "description": r.variant.description,
               "status": r.status, "objective": s.get("objective") if has else None}
        for k in BREAKDOWN_KEYS:
            row[k] = s["breakdown"].get(k) if has else None
        row["unmet"] = s["totals"]["unmet"] if has else None
        row["below_floor_unit_days"] = s["totals"]["below_floor_unit_days"] if has else None
        for c, get in ecols:
            row[c] = get(es) if es is not None else None
        row["seconds"] = r.seconds
        row["error"] = r.error or (s.get("message") if r.status not in HAS_PLAN else None)
        rows.append(row)
    schema = pa.schema([pa.field(c.name, c.type) for c in VARIANTS.columns
                        if not c.optional or evaluated])
    return pa.Table.from_pylist(rows, schema=schema)


def variants_by_commodity_table(results: list[VariantResult]) -> pa.Table:
    """variants_by_commodity.arrow (outputs.VARIANTS_BY_COMMODITY): one row per (variant,
    commodity) with the plan's per-commodity totals (summary.json totals.by_commodity) and,
    when evaluated, that commodity's scenario KPIs (the evaluation's by_commodity); every
    variant has a row for every commodity, null where it has no plan or no evaluation."""
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
            for c in SWEEP_BY_COMMODITY_PLAN:
                row[c] = (plan_k.get(k) or {}).get(c) if s.get("objective") is not None else None
            for c, path in SWEEP_BY_COMMODITY_EVAL.items():
                v = eval_k.get(k)
                for key in path:
                    v = v.get(key) if isinstance(v, dict) else None
                row[c] = v
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=VARIANTS_BY_COMMODITY.schema)
