"""The speed goals side by side, in one run (docs/BENCHMARKS.md, "Speed"):

    python benchmarks/bench_speed.py --tiers 10k-few,10k-dec,100k-few,100k-many,100k-dec \
        --out benchmarks/results/bench-speed

Per tier, measured in this run on the same machine:
* e2e     `python -m optimiser solve DIR -o PLAN --force --json`, whole process wall time;
* bare    a whole bare process: Python start, numpy + highspy import, passModel of the
          joint LP's ready arrays, run (optimiser/benchsuite/solver_alone.py, by path);
* network the min-cost-flow stage alone, per commodity block: the engine's LEMON (the
          compiled library, arc mixing off), LEMON through pylmcf, and OR-Tools
          SimpleMinCostFlow on the identical network, and the optimal costs compared;
* polish  HiGHS simplex iterations after the network basis (sum over blocks);
* warm    a Session re-solve after each change the loops make (demand, floors, hard
          floors, initial stock, pipeline, capacity; `session_changes`) against a fresh
          Session's solve of the changed LP (`--session-only` skips the rest).
Wall times of whole processes are the best of `--repeat` runs, with that run's CPU
seconds (the process and the children it waited for: the load of a shared machine
disturbs them less than wall times). The machine's load
average is recorded (other work shares it). The package's bytecode is compiled first
(as an install does): with PYTHONDONTWRITEBYTECODE set, every `optimiser` process
would otherwise compile its modules from source, which the bare process never does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _wall(cmd: list[str], repeat: int, env=None) -> tuple[float, str, float]:
    """(best wall seconds, its stdout, its CPU seconds: user + system of the process and
    of the children it waited for, e.g. the forked network solves)."""
    import resource

    best, out, cpu = float("inf"), "", float("nan")
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        dt = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode not in (0,):
            raise RuntimeError(f"{cmd} -> {r.returncode}: {r.stderr[-2000:]}")
        if dt < best:
            best, out = dt, r.stdout
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return best, out, cpu


def network_stage(inst) -> list[dict]:
    from optimiser.model import network as N
    from optimiser.model.build import build_lp
    from optimiser.model.decompose import can_decompose, split_by_commodity

    blocks = [b.instance for b in split_by_commodity(inst)] if can_decompose(inst) else [inst]
    rows = []
    for b in blocks:
        lp = build_lp(b)
        net, _ = N.build_network(b, lp)
        rec = {"nodes": net.n_nodes, "arcs": net.n_arcs, "exact": net.exact}
        # "lemon": the engine's fresh solve (the compiled library, arc mixing off, when
        # built); "pylmcf": the same LEMON through pylmcf (arc mixing on)
        for s in ("lemon", "pylmcf", "ortools"):
            env = os.environ.get("OPTIMISER_LEMON_LIB")
            if s == "pylmcf":
                os.environ["OPTIMISER_LEMON_LIB"] = ""
            try:
                t = time.perf_counter()
                flow, _ = N.solve_network(net, "ortools" if s == "ortools" else "lemon")
                rec[s] = time.perf_counter() - t
            finally:
                if env is None:
                    os.environ.pop("OPTIMISER_LEMON_LIB", None)
                else:
                    os.environ["OPTIMISER_LEMON_LIB"] = env
            rec[f"{s}_cost"] = N.network_cost(net, flow)
        rec["same_cost"] = rec["lemon_cost"] == rec["pylmcf_cost"] == rec["ortools_cost"]
        rows.append(rec)
    return rows


def session_changes(inst, rng) -> list[tuple[str, dict]]:
    """The changes the loops make (reliability: floors; closed-loop replanning: stock,
    pipeline, demand forecasts), rounded to hundredths like the data."""
    I = inst.n_pairs
    few = (np.arange(I) < 5)[:, None]
    hard = inst.readiness_hard | (rng.random(I) < 0.3)
    r2 = lambda a: np.round(a, 2)  # noqa: E731
    return [
        ("demand +5% on 1% of cells",
         {"demand": r2(inst.demand * (1 + 0.05 * (rng.random(inst.demand.shape) < 0.01)))}),
        ("demand +5% on 10% of cells",
         {"demand": r2(inst.demand * (1 + 0.05 * (rng.random(inst.demand.shape) < 0.1)))}),
        ("floors +20% on 5 pairs", {"floor": r2(np.where(few, inst.floor * 1.2, inst.floor))}),
        ("floors +10% everywhere", {"floor": r2(inst.floor * 1.1)}),
        ("floors made hard on 30% of pairs",
         {"readiness_hard": hard,
          "initial_stock": inst.initial_stock + np.where(hard, inst.floor.max(axis=1), 0.0)}),
        ("initial stock +5%", {"initial_stock": r2(inst.initial_stock * 1.05)}),
        ("pipeline -20%", {"pipeline": r2(inst.pipeline * 0.8)}),
        ("one supplier's capacity halved",
         {"capacity": r2(np.where((np.arange(inst.n_supplier_pairs) == 0)[:, None],
                                  inst.capacity * 0.5, inst.capacity))}),
        ("every capacity -10%", {"capacity": r2(inst.capacity * 0.9)}),
    ]


def warm_vs_cold(inst) -> list[dict]:
    """Each change applied to a solved Session (from the base instance), re-solved warm;
    against a fresh Session's solve of the changed instance. Wall and CPU seconds of
    this process (CPU: the machine is shared; the solves are single-threaded here)."""
    from optimiser.model.session import Session

    rng = np.random.default_rng(5)
    s = Session(inst, deterministic=True)
    t, c = time.perf_counter(), time.process_time()
    s.solve()
    out = [{"change": "first solve (cold)", "seconds": time.perf_counter() - t,
            "cpu": time.process_time() - c}]
    for name, ch in session_changes(inst, rng):
        s.update(**{k: getattr(inst, k) for k in ch})  # back to the base (untimed)
        s.solve()
        s.update(**ch)
        t, c = time.perf_counter(), time.process_time()
        warm = s.solve()
        tw, cw = time.perf_counter() - t, time.process_time() - c
        stats = dict(s.stats)
        cold_s = Session(s.instance, deterministic=True)
        t, c = time.perf_counter(), time.process_time()
        cold = cold_s.solve()
        tc, cc = time.perf_counter() - t, time.process_time() - c
        out.append({"change": name, "warm": tw, "cold": tc, "ratio": tw / tc,
                    "warm_cpu": cw, "cold_cpu": cc, "ratio_cpu": cw / cc,
                    "same_objective": bool(abs(warm.objective - cold.objective)
                                           <= 1e-9 * max(1.0, abs(cold.objective))),
                    "check": warm.summary.get("check", {}).get("ok"),
                    # "not run": every block finished without the network (HiGHS from
                    # its last basis, or unchanged)
                    "network_warm": stats.get("network_warm") if any(
                        "network_warm" in b for b in stats.get("blocks", [])) else "not run",
                    "how": stats.get("how"),
                    "iterations": stats.get("simplex_iterations")})
    return out


def session_tier(name: str) -> dict:
    from optimiser.benchsuite.tiers import TIERS, generate
    from optimiser.instance import Instance

    meta, tables = generate(TIERS[name])
    return {"tier": name, "warm": warm_vs_cold(Instance.from_tables(meta, tables))}


def run_tier(name: str, work: Path, repeat: int) -> dict:
    from optimiser.benchsuite.suite import prepare
    from optimiser.benchsuite.tiers import TIERS
    from optimiser.instance import load_instance

    tier = TIERS[name]
    p = prepare(tier, work)
    paths = p["paths"]
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    e2e, out, e2e_cpu = _wall([py, "-m", "optimiser", "solve", paths["arrow"], "-o",
                               paths["plan"], "--force", "--json"], repeat, env)
    summary = json.loads(out)
    recs = Path(work) / name / "alone.jsonl"
    bare, _, bare_cpu = _wall([py, str(ROOT / "optimiser/benchsuite/solver_alone.py"),
                               paths["npz"], str(recs)], repeat)
    alone = [json.loads(line) for line in recs.read_text().splitlines()][-1]
    inst = load_instance(paths["arrow"])
    blocks = summary.get("solver", {}).get("blocks") or [summary.get("solver", {})]
    rec = {"tier": name, "size": p["size"], "e2e": e2e, "bare_process": bare,
           "bare_run": alone["seconds"], "ratio_e2e_bare": e2e / bare,
           "e2e_cpu": e2e_cpu, "bare_cpu": bare_cpu, "ratio_cpu": e2e_cpu / bare_cpu,
           "objective": summary.get("objective"), "bare_objective": alone["objective"],
           "same_objective": abs(summary.get("objective", 0) - alone["objective"])
           <= 1e-6 * max(1.0, abs(alone["objective"])),
           "polish_iterations": sum(int(b.get("simplex_iterations") or 0) for b in blocks),
           "how": summary.get("solver", {}).get("how"),
           "check": summary.get("check", {}).get("ok"),
           "kkt": (summary.get("duals") or {}).get("kkt", {}).get("ok") if summary.get("duals") else None}
    if inst.budget is None:
        rec["network"] = network_stage(inst)
        rec["warm"] = warm_vs_cold(inst)
    return rec


def render(results: list[dict], load: str, cmd: str) -> str:
    lines = ["# Speed: network simplex, basis hand-over, warm re-solves", "",
             f"Command: `{cmd}`  ", f"Load average at start: {load}", "",
             "| tier | variables | e2e `optimiser solve` | bare HiGHS process | ratio | "
             "CPU e2e / bare (ratio) | polish iterations | same objective | check / KKT |",
             "|---|---:|---:|---:|---:|---|---:|---|---|"]
    for r in results:
        if "size" not in r:
            continue
        lines.append(f"| {r['tier']} | {r['size']['variables']:,} | {r['e2e']:.2f} s | "
                     f"{r['bare_process']:.2f} s (run {r['bare_run']:.2f} s) | "
                     f"{r['ratio_e2e_bare']:.2f} | {r['e2e_cpu']:.2f} / {r['bare_cpu']:.2f} s "
                     f"({r['ratio_cpu']:.2f}) | {r['polish_iterations']} | "
                     f"{r['same_objective']} | {r['check']} / {r['kkt']} |")
    lines += ["", "Network stage alone (per commodity block, same network):", "",
              "| tier | block | nodes | arcs | exact | LEMON (engine) | LEMON (pylmcf) | OR-Tools "
              "| pylmcf / engine | OR-Tools / engine | same cost |",
              "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        for k, b in enumerate(r.get("network", [])):
            lem = max(b["lemon"], 1e-9)
            lines.append(f"| {r['tier']} | {k} | {b['nodes']:,} | {b['arcs']:,} | {b['exact']} | "
                         f"{b['lemon']:.3f} s | {b.get('pylmcf', float('nan')):.3f} s | "
                         f"{b['ortools']:.3f} s | {b.get('pylmcf', float('nan')) / lem:.2f}x | "
                         f"{b['ortools'] / lem:.1f}x | {b['same_cost']} |")
    lines += ["", "Warm re-solve (Session, deterministic; plan, duals, shadow prices and check "
              "included) vs a fresh Session's solve of the changed LP; wall and CPU seconds:",
              "", "| tier | change | warm | cold | warm / cold | CPU warm / cold | same objective "
              "| check | LEMON warm | how |",
              "|---|---|---:|---:|---:|---:|---|---|---|---|"]
    for r in results:
        for w in r.get("warm", [])[1:]:
            lines.append(f"| {r['tier']} | {w['change']} | {w['warm']:.3f} s | {w['cold']:.3f} s | "
                         f"{w['ratio']:.2f} | {w['ratio_cpu']:.2f} | {w['same_objective']} | "
                         f"{w['check']} | {w['network_warm']} | {w['how']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiers", default="10k-few,10k-dec,100k-few,100k-many,100k-dec")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/bench-speed"))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--session-only", action="store_true",
                    help="only the warm re-solve part (Session) of each tier")
    args = ap.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results = []
    cmd = "python benchmarks/bench_speed.py " + " ".join(sys.argv[1:])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import compileall

    compileall.compile_dir(str(ROOT / "optimiser"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as work:
        for name in args.tiers.split(","):
            print(f"[bench-speed] {name}", file=sys.stderr, flush=True)
            results.append(session_tier(name) if args.session_only
                           else run_tier(name, Path(work), args.repeat))
            # written after every tier: a long run cut short keeps what it measured
            out.with_suffix(".json").write_text(json.dumps(
                {"load": load, "command": cmd, "results": results}, indent=1, default=str))
            out.with_suffix(".md").write_text(render(results, load, cmd))
    print(render(results, load, cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
