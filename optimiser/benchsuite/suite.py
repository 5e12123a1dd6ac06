"""The driver: prepare each tier, run every measurement in its own capped process.

A measurement that passes its time cap is killed (its whole process group) and
each stage it had not finished is recorded as "> cap"; a peer or backend that
went past the cap on a smaller tier is not started again on a larger one (also
"> cap", with a note). Results are plain dicts, turned into the report by
`report.py`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .tiers import Tier

BACKENDS = ("highs", "glop", "pdlp")
PEERS = ("linopy", "pulp", "pyomo")
#: peers whose own solve proves their model is the engine's LP only on tiers this small
SOLVE_PEERS_UP_TO = 20_000
REL_TOL = 1e-6

# what each task is expected to record (for "> cap" when it is killed)
EXPECTED = {
    "load": ["load.arrow", "load.parquet", "load.read_ipc", "load.sum_floor"],
    "build": ["build.engine", "build.build_lp", "build.pass_model", "build.floor"],
    "cli": ["e2e.cli"],
    "write_check": ["write", "check"],
    "linopy": ["build.linopy_model", "build.linopy", "solve.linopy_highs"],
    "pulp": ["build.pulp", "solve.pulp"],
    "pyomo": ["build.pyomo", "solve.pyomo"],
    "evaluate": ["evaluate"],
    "solver_alone": ["mem.solver_alone"],
}


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run_worker(task: dict, timeout: float, workdir: Path) -> tuple[list[dict], str | None]:
    """Run one task; (records, None) or (records so far, 'timeout'/'error: ...')."""
    fd, out = tempfile.mkstemp(suffix=".jsonl", dir=workdir)
    os.close(fd)
    log = Path(out).with_suffix(".log")
    if task["task"] == "solver_alone":  # by path: no optimiser import in that process
        cmd = [sys.executable, str(Path(__file__).with_name("solver_alone.py")), task["npz"], out]
    else:
        cmd = [sys.executable, "-m", "optimiser.benchsuite.worker", json.dumps(task), out]
    problem = None
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=max(timeout, 0.05))
            if rc != 0:
                problem = f"error: exit {rc}: " + log.read_text(errors="replace")[-400:].strip()
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and any child it started
            proc.wait()
            problem = "timeout"
    recs = [json.loads(line) for line in Path(out).read_text().splitlines() if line.strip()]
    return recs, problem


def prepare(tier: Tier, root: Path) -> dict:
    """Write the tier as Arrow and Parquet, and its joint LP as .npz; return paths and size."""
    from ..instance import Instance
    from ..io import write_instance_tables
    from ..model.build import build_lp
    from .tiers import generate

    base = root / tier.name
    paths = {"arrow": base / "arrow", "parquet": base / "parquet", "npz": base / "lp.npz",
             "plan": base / "plan"}
    meta, tables = generate(tier)
    for fmt in ("arrow", "parquet"):
        paths[fmt].mkdir(parents=True, exist_ok=True)
        write_instance_tables(meta, tables, paths[fmt], fmt)
    lp = build_lp(Instance.from_tables(meta, tables))
    np.savez(paths["npz"], data=lp.A.data, indices=lp.A.indices, indptr=lp.A.indptr,
             shape=np.array(lp.A.shape), lb=lp.vars.lb, ub=lp.vars.ub, cost=lp.vars.cost,
             row_lo=lp.row_lo, row_hi=lp.row_hi)
    return {"paths": {k: str(v) for k, v in paths.items()}, "size": lp.size,
            "budget": meta.get("budget")}


class Suite:
    def __init__(self, tiers: list[Tier], cap: float, max_minutes: float | None,
                 backends=BACKENDS, peers=PEERS, evaluate: bool = True, quick: bool = False,
                 workdir: str | None = None):
        self.tiers, self.cap, self.backends, self.peers = tiers, cap, backends, peers
        self.deadline = None if not max_minutes else time.monotonic() + 60 * max_minutes
        self.evaluate, self.quick = evaluate, quick
        self.workdir = workdir
        self.over_cap: dict[str, str] = {}  # key (peer/backend) -> tier where it passed the cap

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def measure(self, task: dict, stages: list[str], work: Path, key: str | None = None,
                cap: float | None = None) -> dict:
        """Run a task; every expected stage gets a record (ok, > cap, skipped or error)."""
        cap = cap or self.cap
        out: dict[str, dict] = {}
        if key and key in self.over_cap:
            return {s: {"seconds": None, "status": "> cap", "cap_s": cap,
                        "note": f"not run: passed the cap on {self.over_cap[key]}"} for s in stages}
        left = self._remaining()
        if left is not None and left < 5:
            return {s: {"seconds": None, "status": "skipped", "note": "suite time budget spent"}
                    for s in stages}
        timeout = cap if left is None else min(cap, left)
        t = time.perf_counter()
        recs, problem = run_worker(task, timeout, work)
        wall = time.perf_counter() - t
        for r in recs:
            stage = r.pop("stage")
            if "status" in r:  # the solver's own status, kept apart from the measurement's
                r["status_solver"] = r.pop("status")
            ok = r.get("seconds") is not None
            out[stage] = {"status": "ok" if ok else "error", **r}
        for s in stages:
            if s not in out:
                if problem == "timeout":
                    out[s] = {"seconds": None, "status": "> cap", "cap_s": round(timeout, 1)}
                    if key:
                        self.over_cap[key] = self._tier_name
                else:
                    out[s] = {"seconds": None, "status": "error", "error": problem or "not recorded"}
        _log(f"  {task['task']}{'/' + task.get('backend', '') if 'backend' in task else ''}: "
             + ", ".join(f"{s}={_fmt(out[s])}" for s in out) + f"  ({wall:.1f}s)")
        return out

    def run_tier(self, tier: Tier, root: Path) -> dict:
        self._tier_name = tier.name
        t = time.perf_counter()
        prep = prepare(tier, root)
        p = prep["paths"]
        _log(f"tier {tier.name}: {prep['size']['variables']:,} variables, "
             f"{prep['size']['constraints']:,} rows (prepared in {time.perf_counter() - t:.1f}s)")
        work = Path(root) / tier.name
        stages: dict[str, dict] = {}
        stages |= self.measure({"task": "cli", "instance": p["arrow"], "plan": p["plan"],
                                "max_n": 2 if self.quick else 3},
                               EXPECTED["cli"], work, key="e2e")
        plan = p["plan"] if stages["e2e.cli"]["status"] == "ok" else None
        exp = EXPECTED["load"] + EXPECTED["build"] + (EXPECTED["write_check"] if plan else [])
        stages |= self.measure({"task": "engine", **p, "plan": plan, "tmp": str(work)}, exp, work)
        if not plan:
            stages |= {s: {"seconds": None, "status": "skipped", "note": "no plan"}
                       for s in EXPECTED["write_check"]}
        stages |= self.measure({"task": "solver_alone", "npz": p["npz"]}, ["mem.solver_alone"],
                               work, key="solve.highs")
        for b in self.backends:
            stages |= self.measure({"task": "bare_solve", "backend": b, "npz": p["npz"]},
                                   [f"solve.{b}"], work, key=f"solve.{b}")
        small = prep["size"]["variables"] <= SOLVE_PEERS_UP_TO
        for peer in self.peers:
            solve = peer == "linopy" or small
            exp = [s for s in EXPECTED[peer] if solve or not s.startswith("solve.")]
            stages |= self.measure({"task": peer, "arrow": p["arrow"], "solve": solve}, exp, work,
                                   key=peer)
        return {"tier": tier.as_dict(), "size": prep["size"], "budget": prep["budget"],
                "stages": stages}

    def run(self) -> dict:
        from .machine import machine_info

        t0 = time.perf_counter()
        results = {"format": "optimiser-bench", "version": 1, "quick": self.quick,
                   "cap_s": self.cap, "machine": machine_info(), "tiers": {}}
        with tempfile.TemporaryDirectory(prefix="optimiser-bench-", dir=self.workdir) as d:
            root = Path(d)
            for tier in self.tiers:
                results["tiers"][tier.name] = self.run_tier(tier, root)
            results["evaluate"] = self.run_evaluate(root)
        results["total_seconds"] = round(time.perf_counter() - t0, 1)
        results["machine"]["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
        return results

    def run_evaluate(self, root: Path) -> dict:
        script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_evaluate.py"
        if not self.evaluate:
            return {"status": "skipped", "note": "--no-evaluate"}
        if not script.is_file():
            return {"status": "skipped", "note": "benchmarks/bench_evaluate.py not present "
                                                 "(scenario benchmark not written yet)"}
        self._tier_name = "evaluate"
        out = self.measure({"task": "evaluate", "script": str(script), "quick": self.quick},
                           EXPECTED["evaluate"], root, cap=max(self.cap, 60.0))
        return out["evaluate"]


def _fmt(r: dict) -> str:
    if r.get("seconds") is not None:
        return f"{r['seconds']:.3g}s"
    return r.get("status", "?")
