"""Closed-loop replanning: replay sampled futures while re-planning every K days from what
actually happened, and compare with following the day-0 plan blindly (docs/SIMULATE.md).

    from optimiser.simulate import simulate
    sim = simulate("instances/tiny", scenarios=1000, replan_every=7, demand_sigma=0.3)
    sim.summary["open_loop"]["unmet"]["diff_mean"]; sim.scenarios; sim.write("SIM")
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError

__all__ = ["Simulation", "simulate"]


def _day0_plan(inst, plan, allow_nonoptimal: bool):
    from ..plan import as_plan
    from ..solve import solve

    if plan is None:
        from .._fdcapture import stdout_to_stderr

        with stdout_to_stderr():
            pl = solve(inst, threads=1, method="simplex", explain=False)
        if pl.status not in ("optimal", "feasible") and not allow_nonoptimal:
            raise UsageError(f"the day-0 plan of {inst.name} is {pl.status}: there is no plan to "
                             "follow; fix the instance (optimiser solve explains what must give "
                             "way) or pass {allow_nonoptimal}", allow_nonoptimal=True)
        return pl, None
    pl = as_plan(plan, inst)
    if pl.status not in ("optimal", "feasible") and not allow_nonoptimal:
        raise UsageError(f"the plan {plan} has status {pl.status!r}: a plan that is not optimal "
                         "or feasible is not simulated; pass {allow_nonoptimal} to do it anyway",
                         allow_nonoptimal=True)
    if hasattr(plan, "x"):  # a plan object: a ReliabilityPlan carries its planning floor
        pf = getattr(plan, "planning_floor", None)
        planning = None if pf is None else np.asarray(pf, dtype=float)
    else:  # a directory: stock's planning_floor column
        planning = _planning_floors(plan, inst)
    return pl, planning


def _planning_floors(path, inst) -> np.ndarray | None:
    """planning_floor of a reliability plan's stock table, as [I, T]; None when absent."""
    from ..io import as_numpy
    from ..scenarios.results import read_result_table

    stock = read_result_table(Path(path), "stock")
    if stock is None or "planning_floor" not in stock.column_names:
        return None
    ids = inst.node_pair_ids(stock.column("node"), stock.column("commodity"))
    day = as_numpy(stock.column("day")).astype(np.int64)
    out = np.array(inst.floor, dtype=float, copy=True)
    ok = ids >= 0
    out[ids[ok], day[ok]] = as_numpy(stock.column("planning_floor"), fill=0.0)[ok]
    return out


def simulate(instance, scenarios: int = 1000, replan_every: int = 7, window: int | None = None,
             plan=None, allow_nonoptimal: bool = False, seed: int = 0, params=None,
             threads: int | None = None, chunk_size: int | None = None,
             instance_floors: bool = False, fan: bool = True, progress=None, map=None,
             workers: int | None = None, lp_start: str = "reference", **kwargs) -> Simulation:
    """Closed-loop replanning of `instance` under `scenarios` sampled futures.

    Day 0: `plan` (an object or a plan directory) or, without one, the instance solved
    here. Then on days K, 2K, ... every scenario re-plans over days t..min(T, t+W)-1 from
    what it knows and follows the new plan. Scenario parameters by keyword or `params`.
    `map`: an Executor.map-like callable over chunks (optimiser.distributed.dask_map);
    else `workers` processes (default: the cores) share the chunks. Results never depend on
    chunk_size, workers, threads or map. `lp_start`: how each replan LP starts --
    "reference" (default), "network" or "cold" (docs/SIMULATE.md; for benchmarks: a
    different start may pick a different one of tied optima).
    Returns a Simulation with the closed-loop tables and the paired open-loop comparison.
    """
    from ..execution import check_int, check_seed, numba_threads, scenario_params
    from ..instance import as_instance
    from ..scenarios.arrays import prepare
    from ..scenarios.evaluate import evaluate
    from .core import SimContext, run_chunks

    t0 = time.perf_counter()
    inst = as_instance(instance)
    prm = scenario_params(params, kwargs)
    scenarios = check_int("scenarios", scenarios, 1)
    K = check_int("replan_every", replan_every, 1)
    seed = check_seed(seed)
    T = inst.horizon
    W = T if window is None else check_int("window", window, 1)
    if lp_start not in ("reference", "network", "cold"):
        raise UsageError(f"lp_start {lp_start!r}: choose reference, network or cold")
    if W < min(K, T):
        raise UsageError("{window} is shorter than {replan_every}: each plan must cover the "
                         f"days until the next replan; choose a window >= {K}", window=W,
                         replan_every=K)
    pl, planning = _day0_plan(inst, plan, allow_nonoptimal)
    floors = inst.floor if (instance_floors or planning is None) else planning
    arrays = prepare(inst, pl.x, pl.u)
    ctx = SimContext(inst=inst, arrays=arrays, x0=np.asarray(pl.x, float),
                     u0=np.asarray(pl.u, float), s0=np.asarray(pl.s, float),
                     floors=np.asarray(floors, float), params=prm, seed=seed,
                     replan_every=K, window=min(W, T), fan=fan,
                     lp_start=lp_start)
    chunk = check_int("chunk_size", chunk_size, 1) if chunk_size else 64
    with numba_threads(threads):
        t1 = time.perf_counter()
        res = run_chunks(ctx, scenarios, chunk, progress=progress, map_fn=map,
                         workers=workers if workers else (os.cpu_count() or 1))
        t2 = time.perf_counter()
        ol = evaluate(inst, pl, scenarios=scenarios, seed=seed, params=prm, fan=fan,
                      allow_nonoptimal=True)  # the day-0 plan was judged above
        t3 = time.perf_counter()
    from .results import build_simulation

    return build_simulation(inst, arrays, res, ol, ctx, pl, timings={
        "prepare": t1 - t0, "simulate": t2 - t1, "open_loop": t3 - t2},
        window_given=window is not None, planning=planning is not None and not instance_floors)


@dataclass(eq=False)
class Simulation:
    """A closed-loop simulation: tables, summary.json content, the open-loop evaluation."""

    summary: dict
    scenarios: object  # pa.Table
    scenarios_by_commodity: object  # pa.Table
    fan: object  # pa.Table or None
    open_loop: object  # scenarios.Evaluation of the day-0 plan on the same scenarios

    def write(self, path: str | os.PathLike, force: bool = False, protect: tuple = (),
              fmt: str = "arrow") -> Path:
        """Write SIM/ atomically: scenarios, scenarios_by_commodity, fan, and the open loop's
        open_loop_scenarios and open_loop_fan (NAME.arrow or NAME.parquet), summary.json."""
        from .._atomic import atomic_dir
        from ..scenarios.results import check_format, summary_json, write_tables

        check_format(fmt)
        path = Path(path)
        with atomic_dir(path, force=force, protect=protect) as tmp:
            write_tables(tmp, {"scenarios": self.scenarios,
                               "scenarios_by_commodity": self.scenarios_by_commodity,
                               "fan": self.fan,
                               "open_loop_scenarios": self.open_loop.scenarios,
                               "open_loop_fan": self.open_loop.fan}, fmt)
            (tmp / "summary.json").write_text(summary_json(self.summary), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        s = self.summary
        return (f"Simulation({s.get('instance')!r}, scenarios={s['scenarios']}, "
                f"replan_every={s['replan_every']}, solves={s['solves']})")


def _finite(v):
    return v if v is not None and math.isfinite(v) else None
