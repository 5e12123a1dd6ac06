"""One measurement in its own process, so that peak memory never mixes.

    python -m optimiser.benchsuite.worker TASK_JSON RECORDS_JSONL

Each finished stage is appended to RECORDS_JSONL at once (one JSON object a
line: stage, seconds, peak_rss_mb so far, anything else it knows), so a run
killed at the time cap still leaves what it measured. Short stages are repeated
(best of up to 5, within about a second) and the minimum is kept.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    kb = resource.getrusage(who).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024  # bytes on macOS


class Recorder:
    def __init__(self, path: str):
        self.f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed at exit

    def __call__(self, stage: str, seconds: float | None, **extra) -> None:
        rec = {"stage": stage, "seconds": seconds, "peak_rss_mb": round(peak_mb(), 1), **extra}
        self.f.write(json.dumps(rec) + "\n")
        self.f.flush()


def best_of(fn, budget: float = 1.0, max_n: int = 5):
    """(min seconds, last result) over repeats of fn() within `budget` seconds."""
    best, spent, n, out = float("inf"), 0.0, 0, None
    while n < max_n and (n == 0 or spent < budget):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best, out


# tasks --------------------------------------------------------------------
def task_load(p, rec):
    """load_instance from Arrow IPC and Parquet; the floor: sum every numeric column in memory."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc as ipc

    from ..instance import load_instance

    for fmt in ("arrow", "parquet"):
        sec, _ = best_of(lambda fmt=fmt: load_instance(p[fmt]))
        rec(f"load.{fmt}", sec)

    def read_all():
        out = []
        for f in sorted(Path(p["arrow"]).glob("*.arrow")):
            with ipc.open_file(str(f)) as r:
                out.append(r.read_all())
        return out

    sec, tables = best_of(read_all)
    rec("load.read_ipc", sec)
    cols = [c for t in tables for c, fld in zip(t.columns, t.schema)
            if pa.types.is_integer(fld.type) or pa.types.is_floating(fld.type)]
    values = sum(len(c) for c in cols)
    sec, total = best_of(lambda: sum(pc.sum(c).as_py() or 0 for c in cols))
    rec("load.sum_floor", sec, columns=len(cols), values=values)


def task_build(p, rec):
    """The engine: build_lp and passModel; the floor: CSC arrays in memory to passModel."""
    import highspy

    from ..instance import load_instance
    from ..model.backends import SolverOptions
    from ..model.backends.highs import make_highs
    from ..model.build import build_lp

    inst = load_instance(p["arrow"])
    opts = SolverOptions()
    state = {}

    def both():
        t = time.perf_counter()
        lp = build_lp(inst)
        state["build_lp"] = min(state.get("build_lp", 1e99), time.perf_counter() - t)
        t = time.perf_counter()
        make_highs(lp, opts)
        state["pass_model"] = min(state.get("pass_model", 1e99), time.perf_counter() - t)
        return lp

    sec, lp = best_of(both)
    rec("build.engine", sec)
    rec("build.build_lp", state["build_lp"])
    rec("build.pass_model", state["pass_model"])
    A = lp.A.tocsc()
    m, n = A.shape
    arrays = (lp.vars.cost, lp.vars.lb, lp.vars.ub, lp.row_lo, lp.row_hi,
              A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data)
    del lp

    def floor():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        c, lb, ub, rlo, rhi, start, index, value = arrays
        h.passModel(_highs_lp(highspy, n, m, c, lb, ub, rlo, rhi, start, index, value))
        return h

    from .._fdcapture import stdout_to_stderr
    with stdout_to_stderr():
        sec, _ = best_of(floor)
    rec("build.floor", sec)


def task_engine(p, rec):
    """load, build, and (given a plan) write and check, one after the other in one process."""
    task_load(p, rec)
    task_build(p, rec)
    if p.get("plan"):
        task_write_check({"instance": p["arrow"], "plan": p["plan"], "tmp": p.get("tmp")}, rec)


def _highs_lp(highspy, n, m, c, lb, ub, rlo, rhi, start, index, value):
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, lb, ub
    lp.row_lower_, lp.row_upper_ = rlo, rhi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, index, value
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
    return lp


def load_npz_lp(path):
    """The joint LP saved by the driver, as the attributes the backends read."""
    import scipy.sparse as sp

    z = np.load(path)
    A = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    return SimpleNamespace(A=A, row_lo=z["row_lo"], row_hi=z["row_hi"],
                           vars=SimpleNamespace(lb=z["lb"], ub=z["ub"], cost=z["cost"]))


def task_bare_solve(p, rec):
    """A backend alone on the joint LP (from .npz): this process's peak is the solver's."""
    from ..model.backends import SolverOptions, get_backend

    lp = load_npz_lp(p["npz"])
    backend = get_backend(p["backend"])
    sol = backend.solve(lp, SolverOptions(solver=p["backend"], time_limit=p.get("time_limit")))
    rec(f"solve.{p['backend']}", sol.seconds, status=sol.status.value, objective=sol.objective)


def task_cli(p, rec):
    """`optimiser solve` as a user runs it; wall time and the child's peak memory."""
    cmd = [sys.executable, "-m", "optimiser", "solve", p["instance"], "-o", p["plan"], "--force",
           "--json", *p.get("args", [])]
    best, spent, n, doc = float("inf"), 0.0, 0, None
    while n < p.get("max_n", 3) and (n == 0 or spent < p.get("budget", 3.0)):
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if out.returncode not in (0,):
            rec("e2e.cli", None, error=f"exit {out.returncode}: {out.stderr[-500:]}")
            return
        doc = json.loads(out.stdout)
        best, spent, n = min(best, dt), spent + dt, n + 1
    rec("e2e.cli", best, peak_rss_mb=round(peak_mb(resource.RUSAGE_CHILDREN), 1),
        objective=doc.get("objective"), solver_objective=doc.get("solver_objective"),
        status=doc.get("status"), solver=doc.get("solver", {}).get("name"),
        timings=doc.get("timings"), runs=n)


def task_write_check(p, rec):
    import tempfile

    from ..check import check_plan_dir
    from ..instance import load_instance
    from ..plan import read_plan

    inst = load_instance(p["instance"])
    plan = read_plan(p["plan"], inst)
    with tempfile.TemporaryDirectory(dir=p.get("tmp")) as d:
        target = Path(d) / "plan"
        sec, _ = best_of(lambda: plan.write(target, force=True))
        rec("write", sec)
        sec, report = best_of(lambda: check_plan_dir(inst, target))
        rec("check", sec, ok=report.ok)


def task_linopy(p, rec):
    from ..instance import load_instance
    from . import peers

    inst = load_instance(p["arrow"])
    t = time.perf_counter()
    m = peers.build_linopy(inst)
    t1 = time.perf_counter()
    from .._fdcapture import stdout_to_stderr
    with stdout_to_stderr():
        h = peers.linopy_to_highs(m)
    t2 = time.perf_counter()
    rec("build.linopy_model", t1 - t)
    rec("build.linopy", t2 - t)
    del m
    if p.get("solve", True):
        t = time.perf_counter()
        with stdout_to_stderr():
            obj = peers.run_highs(h)
        rec("solve.linopy_highs", time.perf_counter() - t, objective=obj)


def _python_peer(name, build, solve):
    def task(p, rec):
        from ..instance import load_instance

        inst = load_instance(p["arrow"])
        t = time.perf_counter()
        model = build(inst)
        rec(f"build.{name}", time.perf_counter() - t)
        if p.get("solve"):
            from .._fdcapture import stdout_to_stderr
            t = time.perf_counter()
            with stdout_to_stderr():
                obj, via = solve(model)
            rec(f"solve.{name}", time.perf_counter() - t, objective=obj, via=via)
    return task


def task_pulp(p, rec):
    from . import peers
    _python_peer("pulp", peers.build_pulp, peers.solve_pulp)(p, rec)


def task_pyomo(p, rec):
    from . import peers
    _python_peer("pyomo", peers.build_pyomo, peers.solve_pyomo)(p, rec)


def task_evaluate(p, rec):
    """benchmarks/bench_evaluate.py `run(quick)` (the scenario engineer's suite), when present."""
    import importlib.util

    path = Path(p["script"])
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("bench_evaluate", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    t = time.perf_counter()
    out = mod.run(quick=bool(p.get("quick")))
    rec("evaluate", time.perf_counter() - t, result=out)


TASKS = {"engine": task_engine, "load": task_load, "build": task_build, "bare_solve": task_bare_solve, "cli": task_cli,
         "write_check": task_write_check, "linopy": task_linopy, "pulp": task_pulp,
         "pyomo": task_pyomo, "evaluate": task_evaluate}


def main(argv: list[str]) -> int:
    task = json.loads(argv[0])
    rec = Recorder(argv[1])
    os.environ.setdefault("OPTIMISER_DEBUG", "")
    TASKS[task["task"]](task, rec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
