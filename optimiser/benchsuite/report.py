"""Ratios, targets, objective checks, and the Markdown / JSON / plot report.

Ratios are engine / peer (below 1: the engine is faster). Every target of issue 5
is computed per tier and marked met / missed / n/a (not measurable: a stage
passed its cap or was not run).
"""

from __future__ import annotations

import json
from pathlib import Path

from .suite import REL_TOL

#: rows of the per-tier table: (stage key, label, engine stage it is compared with)
ROWS = [
    ("load.arrow", "load: load_instance, Arrow IPC", None),
    ("load.parquet", "load: load_instance, Parquet", "load.arrow"),
    ("load.read_ipc", "load: pyarrow read of the IPC files only", "load.arrow"),
    ("load.sum_floor", "load floor: sum every numeric column in memory", "load.arrow"),
    ("build.engine", "build: engine build_lp + HiGHS passModel", None),
    ("build.build_lp", "  of which build_lp", None),
    ("build.pass_model", "  of which passModel (CSR)", None),
    ("build.floor", "build floor: CSC arrays -> highspy passModel", "build.engine"),
    ("build.linopy", "build: linopy model + to_highspy", "build.engine"),
    ("build.linopy_model", "  of which linopy model", None),
    ("build.pulp", "build: PuLP model objects", "build.engine"),
    ("build.pyomo", "build: Pyomo ConcreteModel", "build.engine"),
    ("solve.highs", "solve: HiGHS bare (highspy run)", "e2e.cli"),
    ("solve.glop", "solve: GLOP bare", "e2e.cli"),
    ("solve.pdlp", "solve: PDLP bare", "e2e.cli"),
    ("mem.solver_alone", "solver alone: numpy + highspy, passModel + run", "e2e.cli"),
    ("solve.linopy_highs", "solve: linopy model in HiGHS", "e2e.cli"),
    ("solve.pulp", "solve: PuLP (HiGHS/CBC)", None),
    ("solve.pyomo", "solve: Pyomo (appsi HiGHS)", None),
    ("write", "write plan (Arrow + summary)", None),
    ("check", "check plan (independent checker)", None),
    ("e2e.cli", "end to end: `optimiser solve` process", None),
]

OBJECTIVE_STAGES = ("mem.solver_alone", "solve.highs", "solve.glop", "solve.pdlp", "solve.linopy_highs",
                    "solve.pulp", "solve.pyomo")


def _sec(stages: dict, key: str) -> float | None:
    r = stages.get(key)
    return None if r is None or r.get("status") != "ok" else r.get("seconds")


def objective_checks(tier: dict) -> list[dict]:
    """Each solver's / peer's optimum against the engine's (rel 1e-6)."""
    st = tier["stages"]
    ref = st.get("e2e.cli", {}).get("objective")
    src = "e2e.cli"
    if ref is None:
        ref, src = st.get("solve.highs", {}).get("objective"), "solve.highs"
    out = []
    for k in OBJECTIVE_STAGES:
        r = st.get(k)
        if r is None or r.get("status") != "ok":
            continue
        obj = r.get("objective")
        if ref is None or obj is None:
            ok = None
            rel = None
        else:
            rel = abs(obj - ref) / max(1.0, abs(ref))
            ok = rel <= REL_TOL
        out.append({"stage": k, "objective": obj, "reference": ref, "reference_from": src,
                    "rel_diff": rel, "ok": ok, "status": r.get("status_solver", r.get("status"))})
    return out


def _target(name, value, limit, kind, tier, detail) -> dict:
    if value is None:
        met = None
    else:
        met = value <= limit if kind == "<=" else value >= limit
    return {"target": name, "tier": tier, "value": value, "limit": f"{kind} {limit}",
            "met": met, "detail": detail}


def targets(results: dict) -> list[dict]:
    out = []
    tiers = results["tiers"]
    for name, t in tiers.items():
        st = t["stages"]
        b, fl, lin = _sec(st, "build.engine"), _sec(st, "build.floor"), _sec(st, "build.linopy")
        out.append(_target("build <= 2x highspy passModel floor", _ratio(b, fl), 2.0, "<=", name,
                           "build.engine / build.floor"))
        out.append(_target("build >= 2.5x faster than linopy", _ratio(lin, b), 2.5, ">=", name,
                           "build.linopy / build.engine"))
        solves = {k: _sec(st, f"solve.{k}") for k in ("highs", "glop", "pdlp")}
        solves = {k: v for k, v in solves.items()
                  if v is not None and st[f"solve.{k}"].get("status_solver", "optimal") == "optimal"}
        fastest = min(solves.items(), key=lambda kv: kv[1]) if solves else (None, None)
        e2e = _sec(st, "e2e.cli")
        out.append(_target("e2e <= 1.15x fastest bare solve", _ratio(e2e, fastest[1]), 1.15, "<=",
                           name, f"e2e.cli / solve.{fastest[0]}" if fastest[0]
                           else "e2e.cli / fastest bare solve (none finished)"))
        la, sf = _sec(st, "load.arrow"), _sec(st, "load.sum_floor")
        out.append(_target("load (Arrow IPC) <= 1.5x in-memory sum", _ratio(la, sf), 1.5, "<=",
                           name, "load.arrow / load.sum_floor"))
        pe = st.get("e2e.cli", {}).get("peak_rss_mb") if e2e is not None else None
        ps = st["mem.solver_alone"].get("peak_rss_mb") if _sec(st, "mem.solver_alone") else None
        out.append(_target("peak memory <= 1.5x the solver alone", _ratio(pe, ps), 1.5, "<=", name,
                           "peak(optimiser solve) / peak(numpy + highspy alone on the LP)"))
    nob = [(t["size"]["variables"], n) for n, t in tiers.items() if not t["tier"]["budget"]]
    if nob:
        _, largest = max(nob)
        st = tiers[largest]["stages"]
        e2e = _sec(st, "e2e.cli")
        sol = [v for k in ("highs", "glop", "pdlp") if (v := _sec(st, f"solve.{k}")) is not None]
        fastest = min(sol) if sol else None
        # a bare solve that passed the cap is at least the cap: the speedup is at least cap / e2e
        capped = [st[f"solve.{k}"].get("cap_s") for k in ("highs", "glop", "pdlp")
                  if st.get(f"solve.{k}", {}).get("status") == "> cap"]
        if fastest is None and capped and e2e:
            fastest = min(c for c in capped if c)
        out.append(_target("no budget, largest tier: e2e >= 4x faster than fastest bare solve",
                           _ratio(fastest, e2e), 4.0, ">=", largest,
                           "fastest bare solve / e2e.cli"))
    ev = results.get("evaluate") or {}
    res = ev.get("result") if isinstance(ev, dict) else None
    if isinstance(res, dict):
        for t in res.get("targets", []) or []:
            if isinstance(t, dict):
                out.append({"target": "evaluate: " + str(t.get("target", t.get("name", "?"))),
                            "tier": t.get("tier", "-"), "value": t.get("value", t.get("ratio")),
                            "limit": str(t.get("limit", t.get("target_value", ""))),
                            "met": t.get("met"), "detail": t.get("detail", "from bench_evaluate")})
    return out


def _ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def finish(results: dict) -> dict:
    """Add objective checks, ratios and targets to the raw results (in place)."""
    mismatches = []
    for name, t in results["tiers"].items():
        t["objective_checks"] = checks = objective_checks(t)
        mismatches += [{"tier": name, **c} for c in checks if c["ok"] is False]
        st = t["stages"]
        t["ratios"] = {k: _ratio(_sec(st, ref), _sec(st, k))
                       for k, _, ref in ROWS if ref is not None}
    results["objective_mismatches"] = mismatches
    results["targets"] = targets(results)
    return results


# Markdown -------------------------------------------------------------------
def _cell(r: dict | None) -> str:
    if r is None:
        return "—"
    if r.get("status") == "ok":
        s = r["seconds"]
        return f"{s:.3g}" if s >= 0.001 else f"{s:.2e}"
    if r.get("status") == "> cap":
        return f"> {r.get('cap_s', '?'):g} (cap)"
    return r.get("status", "?")


def _num(v, fmt="{:.3g}") -> str:
    return "—" if v is None else fmt.format(v)


def _load_line(m: dict) -> str:
    """The load average as recorded, and what it means for the times: inflated only when the
    1-minute load went above the usable cores at the start or the end."""
    start, end = m.get("loadavg_at_start"), m.get("loadavg_at_end")
    if not start:
        return "Load average not recorded (other work may have shared the machine).  "
    busy = max(start[0], (end or start)[0]) > (m.get("usable_cores") or m.get("cores") or 1)
    verdict = ("above the core count: other work shared the machine and the times are "
               "inflated" if busy else "below the core count: the machine was otherwise idle")
    return f"Load average (1, 5, 15 min) at start {start}, at end {end}: {verdict}.  "


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"# optimiser benchmark ({'quick' if results['quick'] else 'full'} suite)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
             f"{m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}.  ",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
             + (f"; optimiser commit {m['git_commit']}" if m.get("git_commit") else "") + ".  ",
             _load_line(m),
             f"Per-run cap {results['cap_s']:g} s; suite wall {results.get('total_seconds', 0):g} s. "
             "Times in seconds (best of up to 5 for stages under a second); "
             "ratio = engine / this (below 1: the engine is faster); peak = the measuring "
             "process's peak RSS in MB.", ""]
    if results["objective_mismatches"]:
        lines += ["**OBJECTIVE MISMATCH** — a model differs from the engine's LP:", ""]
        for c in results["objective_mismatches"]:
            lines.append(f"- {c['tier']} {c['stage']}: {c['objective']} vs {c['reference']} "
                         f"(rel {c['rel_diff']:.2e})")
        lines.append("")
    lines += ["## Targets", "", "| target | tier | measured | limit | met |", "|---|---|---|---|---|"]
    for t in results["targets"]:
        met = {True: "met", False: "**missed**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['target']} | {t['tier']} | {_num(t['value'])} ({t['detail']}) | "
                     f"{t['limit']} | {met} |")
    lines.append("")
    for name, t in results["tiers"].items():
        sz, st = t["size"], t["stages"]
        tier = t["tier"]
        lines += [f"## {name}: {sz['variables']:,} variables, {sz['constraints']:,} rows, "
                  f"{sz['nonzeros']:,} nonzeros", "",
                  f"generate --suppliers {tier['suppliers']} --nodes {tier['nodes']} "
                  f"--commodities {tier['commodities']} --days {tier['days']} --seed {tier['seed']}"
                  + (f", budget {t['budget']:,.0f}" if t.get("budget") is not None else ", no budget"),
                  "", "| stage | seconds | ratio engine/this | peak MB |", "|---|---|---|---|"]
        for key, label, ref in ROWS:
            if key not in st:
                continue
            r = st[key]
            ratio = t["ratios"].get(key) if ref else None
            note = f" ({r['note']})" if r.get("note") else ""
            lines.append(f"| {label}{note} | {_cell(r)} | {_num(ratio)} | "
                         f"{_num(r.get('peak_rss_mb'), '{:.0f}')} |")
        checks = t.get("objective_checks", [])
        if checks:
            ref = checks[0]["reference"]
            lines += ["", f"Objectives vs the engine's ({_num(ref, '{:,.4f}')}): " + ", ".join(
                f"{c['stage'].split('.', 1)[1]} "
                + ({True: "equal", False: "**MISMATCH**", None: "n/a"}[c["ok"]])
                + (f" (rel {c['rel_diff']:.1e})" if c["rel_diff"] else "") for c in checks) + "."]
        lines.append("")
    ev = results.get("evaluate") or {}
    lines += ["## Scenario evaluation", ""]
    if ev.get("status") == "ok":
        res = ev.get("result") or {}
        lines += [f"`benchmarks/bench_evaluate.py` run(quick={results['quick']}): "
                  f"{ev['seconds']:.3g} s in all; full result in the JSON (`evaluate.result`)"
                  + ("; its targets are in the table above." if res.get("targets") else
                     "; it declares no targets of its own, so none is marked here."), ""]
        rows = res.get("rows") or []
        if rows:
            lines += ["| variant | engine | threads | scenarios | seconds | M cell-updates/s | "
                      "vs numpy | vs bandwidth bound |", "|---|---|---|---|---|---|---|---|"]
            for r in rows:
                lines.append(f"| {r.get('variant')} | {r.get('engine')} | {r.get('threads')} | "
                             f"{r.get('scenarios')} | {_num(r.get('seconds'))} | "
                             f"{_num((r.get('cells_per_s') or 0) / 1e6, '{:,.1f}')} | "
                             f"{_num(r.get('vs_numpy'), '{:.1f}x')} | "
                             f"{_num(r.get('vs_bandwidth_bound'), '{:.1%}')} |")
            comp = res.get("compile") or {}
            if "cold_cache_s" in comp:
                lines.append(f"\nnumba compile (empty cache): {comp['cold_cache_s']:.1f} s; "
                             f"warm cache first call: {comp['warm_cache_s']:.2f} s.")
            lines.append("")
    else:
        lines += [f"{ev.get('status', 'skipped')}: {ev.get('note') or ev.get('error') or ''}", ""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> bool:
    """Log-log seconds vs LP variables per stage; False when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    keys = ["load.arrow", "build.engine", "build.floor", "build.linopy", "build.pulp",
            "build.pyomo", "solve.highs", "solve.glop", "solve.pdlp", "write", "check", "e2e.cli"]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for key in keys:
        pts = sorted((t["size"]["variables"], _sec(t["stages"], key))
                     for t in results["tiers"].values() if _sec(t["stages"], key) is not None)
        if pts:
            style = "-o" if not key.startswith("build.") or key == "build.engine" else "--s"
            ax.plot(*zip(*pts), style, label=key, ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("LP variables")
    ax.set_ylabel("seconds")
    ax.set_title("optimiser: time per stage vs LP size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(results: dict, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md"]
    paths[0].write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(results) + "\n", encoding="utf-8")
    png = out / f"{stem}.png"
    if plot(results, png):
        paths.append(png)
    return paths
