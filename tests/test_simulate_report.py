"""`optimiser report ... --simulation SIM`: the closed-loop section (report/simulation.py)
with the comparison table, the value of re-planning and both figures, read from a
simulation directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

from optimiser.report import build  # noqa: E402
from optimiser.report.simulation import value_of_replanning  # noqa: E402
from optimiser.simulate import simulate  # noqa: E402
from optimiser.solve import solve  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "instances", "tiny")


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("simreport")
    plan = solve(TINY, threads=1)
    plan.write(base / "plan")
    sim = simulate(TINY, scenarios=60, replan_every=3, plan=plan, seed=2, workers=1,
                   outage_prob=0.1, outage_days=3, demand_sigma=0.3)
    sim.write(base / "sim")
    return base, sim


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_section_table_value_and_figures(dirs, tmp_path):
    base, sim = dirs
    out = tmp_path / "rep"
    index = build.write(build.prepare(TINY, base / "plan", simulation=base / "sim"), out)
    html = index.read_text(encoding="utf-8")
    m = re.search(r'<section id="simulation">(.*?)</section>', html, re.S)
    assert m, "no closed-loop section"
    sec, text = m.group(1), _text(m.group(1))
    assert "Re-planning every 3 days against the day-0 plan" in text
    assert '<a href="#simulation">' in html  # in the table of contents
    ol = sim.summary["open_loop"]
    from optimiser.report.html import number

    # the table: one row per KPI, open loop mean and paired change with its interval
    rows = {(_text(r).strip().split("  ")[0]): _text(r) for r in re.findall(r"<tr>(.*?)</tr>", sec)}
    cost = next(v for k, v in rows.items() if k.startswith("realised cost"))
    assert number(ol["cost"]["mean"]) in cost and number(ol["cost"]["diff_mean"]) in cost
    assert f"[{number(ol['cost']['diff_ci_low'])}, {number(ol['cost']['diff_ci_high'])}]" in cost
    breach = next(v for k, v in rows.items() if k.startswith("days with any node below floor"))
    lo, hi = ol["breach_days"]["diff_ci_low"], ol["breach_days"]["diff_ci_high"]
    expect = "better" if hi < 0 else "worse" if lo > 0 else "no clear change"
    assert expect in breach
    # the value of re-planning in money and readiness: open - closed, interval flipped
    v = value_of_replanning(sim.summary)
    assert v["money"]["value"] == pytest.approx(-ol["cost"]["diff_mean"])
    assert v["money"]["ci_low"] == pytest.approx(-ol["cost"]["diff_ci_high"])
    assert f"{number(v['money']['value'])} cost saved" in text
    assert f"{number(v['breach_days']['value'])} days with a floor breach avoided" in text
    assert "LP solves" in text and number(sim.summary["solves"]) in text
    # both figures inline and as files: paired differences, fan charts side by side
    assert 'alt="Histograms of the paired differences closed minus open loop"' in sec
    assert 'alt="Fan charts of end-of-day stock, open loop and closed loop side by side"' in sec
    for f in ("simulation_differences.png", "simulation_fan.png"):
        assert (out / f).stat().st_size > 5000


def test_cli_flag_and_refusal(dirs, tmp_path):
    base, _ = dirs
    run = lambda *a: subprocess.run([sys.executable, "-m", "optimiser", "report", *map(str, a)],  # noqa: E731
                                    capture_output=True, text=True, timeout=600)
    r = run(TINY, base / "plan", "-o", tmp_path / "r1", "--simulation", base / "sim")
    assert r.returncode == 0, r.stderr
    assert 'id="simulation"' in (tmp_path / "r1" / "index.html").read_text(encoding="utf-8")
    # a plan directory is not a simulation: exit 2 naming what to pass
    r = run(TINY, base / "plan", "-o", tmp_path / "r2", "--simulation", base / "plan")
    assert r.returncode == 2 and "optimiser simulate" in r.stderr
    assert not (tmp_path / "r2").exists()
