"""The report: data reading, figures, HTML summaries, the command, and the page in a real browser."""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from optimiser.cli import cmd_report
from optimiser.report import data, evaluation_html, plan_html

from . import report_fixtures as fx

FIGURE_FILES = {"stock.png", "procurement.png", "unmet.png", "scenarios.png", "fan.png"}


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cmd_report.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["report", *argv])


def _run(*argv: str) -> int:
    args = _args(*argv)
    return args.run(args)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> fx.Dirs:
    return fx.build(tmp_path_factory.mktemp("small"), depots=2)


@pytest.fixture(scope="module")
def report(small: fx.Dirs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("reports") / "report"
    assert _run(str(small.instance), str(small.plan), str(small.evaluation), "-o", str(out)) == 0
    return out


# ---------------------------------------------------------------- data


def test_reads_parquet_and_dictionary_strings(small: fx.Dirs) -> None:
    inst = data.load_instance(small.instance)
    assert inst.horizon == fx.HORIZON and inst.budget == 60000.0
    assert inst.supplier_names == {"Acme", "Borg", "Cyan"}  # dictionary-encoded column
    assert inst.capacity is not None and inst.capacity["day"].tolist() == [10, 11, 12]  # from Parquet
    assert np.isnan(inst.suppliers["contract_max"][1])  # null: no maximum


def test_procurement_aggregates_orders_and_finds_binding_capacity(small: fx.Dirs) -> None:
    inst, plan = data.load_instance(small.instance), data.load_plan(small.plan)
    p = data.procurement(plan.flows, inst.suppliers, inst.capacity, inst.horizon)
    acme = p.supplier.tolist().index("Acme")
    assert p.ordered[acme].sum() == pytest.approx(1420.0)
    assert p.capacity[acme, 10] == 40.0 and p.capacity[acme, 9] == 100.0  # override applies
    # Acme ships its full capacity on days 0..15 (40 on the overridden days), nothing after.
    assert np.flatnonzero(p.capacity_binds()[acme]).tolist() == list(range(16))
    borg = p.supplier.tolist().index("Borg")
    assert np.flatnonzero(p.capacity_binds()[borg]).tolist() == [3, 4, 5, 20]


def test_worst_first_ranks_and_counts_left_out() -> None:
    chosen, left = data.worst_first(np.array([0.0, 5.0, 5.0, 1.0]), np.array([0.0, 1.0, 2.0, 0.0]), top=2)
    assert chosen.tolist() == [2, 1] and left == 2


def test_missing_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(data.ReportInputError, match="stock: column 'stock' is missing"):
        data.columns(pa.table({"node": ["a"], "commodity": ["k"], "day": [0]}), data.STOCK_SPEC, table="stock")


def test_kpis_nested_or_top_level_read_alike(tmp_path: Path) -> None:
    fx.write_evaluation(tmp_path / "a", nested=True)
    fx.write_evaluation(tmp_path / "b", nested=False)
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert data.kpi_stats(a) == data.kpi_stats(b)
    assert list(data.kpi_stats(a))[:3] == ["demand", "unmet", "fill_rate"]
    assert evaluation_html(a) == evaluation_html(b)


# ---------------------------------------------------------------- HTML summaries


def test_plan_html_summarises_and_escapes(small: fx.Dirs) -> None:
    summary = json.loads((small.plan / "summary.json").read_text())
    summary["totals"]["ordered"]["<script>alert(1)</script>"] = 1.0
    plan = data.load_plan(small.plan)
    out = plan_html(summary, shadow_prices=plan.shadow_prices)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "status-optimal" in out and f"{summary['objective']:,.0f}" in out
    assert "Binding constraints" in out and "950" in out
    assert "budget" not in out.split("Binding constraints")[1]  # slack budget (value 0) is not binding
    # a bare summary (status only) still renders
    assert "status-infeasible" in plan_html({"status": "infeasible"})


def test_evaluation_html_shows_probabilities(small: fx.Dirs) -> None:
    summary = json.loads((small.evaluation / "summary.json").read_text())
    out = evaluation_html(summary)
    assert f"{100 * summary['p_any_shortfall']:.1f}%" in out
    assert f"{100 * summary['p_any_breach']:.1f}%" in out
    assert out.count("<tr>") >= 8 + 5


# ---------------------------------------------------------------- figures


def _labels(fig) -> set[str]:
    return {t for ax in fig.axes for t in (ax.get_xlabel(), ax.get_ylabel()) if t}


def test_figures_are_figures_with_units(small: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from optimiser.report import figures

    inst, plan = data.load_instance(small.instance), data.load_plan(small.plan)
    ev = data.load_evaluation(small.evaluation)
    stock_table = pa.ipc.open_file(str(small.plan / "stock.arrow")).read_all()
    cases = {
        "stock": (figures.stock_figure(stock_table), {"day", "stock (units)"}),
        "fan": (figures.fan_figure(ev.fan, plan.stock), {"day", "stock (units)"}),
        "scenarios": (figures.distribution_figure(ev.scenarios),
                      {"units per scenario", "unit-days per scenario", "currency units per scenario", "scenarios"}),
        "procurement": (figures.procurement_figure(plan.flows, inst.suppliers, capacity=inst.capacity),
                        {"ordered (units/day)", "dispatch day", "total ordered over the horizon (units)"}),
        "unmet": (figures.unmet_figure(plan.stock), {"day", "unmet (units/day)"}),
    }
    for name, (fig, labels) in cases.items():
        assert isinstance(fig, Figure), name
        assert labels <= _labels(fig), (name, _labels(fig))
        assert _png_size(figures.to_png(fig))[0] > 300
    assert _png_size(cases["stock"][0]._repr_png_())[0] > 300  # displays in a notebook without pyplot


def test_many_nodes_show_worst_first_and_count_the_rest(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    dirs = fx.build(tmp_path, depots=40)
    plan, ev = data.load_plan(dirs.plan), data.load_evaluation(dirs.evaluation)
    fig = figures.stock_figure(plan.stock, top=12)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 12
    pairs = len(set(zip(plan.stock["node"], plan.stock["commodity"])))
    assert f"worst 12 of {pairs}" in fig.get_suptitle() and f"{pairs - 12} not shown" in fig.get_suptitle()
    # The first panel is the pair with the most unit-days below floor.
    below = {}
    for n, k, b in zip(plan.stock["node"], plan.stock["commodity"], plan.stock["below_floor"]):
        below[(n, k)] = below.get((n, k), 0.0) + b
    worst = max(below, key=below.get)
    assert panels[0].get_title().startswith(f"{worst[0]} · {worst[1]}")
    assert "not shown" in figures.fan_figure(ev.fan, plan.stock, top=5).get_suptitle()


def test_unmet_figure_says_when_all_demand_is_met() -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    stock = {"node": ["a"] * 3, "commodity": ["k"] * 3, "day": [0, 1, 2], "stock": [5.0] * 3,
             "demand": [1.0] * 3, "unmet": [0.0] * 3}
    fig = figures.unmet_figure(stock)
    assert any("No unmet consumption" in t.get_text() for t in fig.texts)


# ---------------------------------------------------------------- the command


def test_report_writes_page_and_every_figure(report: Path) -> None:
    assert {p.name for p in report.iterdir()} == FIGURE_FILES | {"index.html"}
    html = (report / "index.html").read_text(encoding="utf-8")
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == len(FIGURE_FILES)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs if s.startswith("data:image/png;base64,")}
    assert embedded == {(report / f).read_bytes() for f in FIGURE_FILES}  # same PNGs, inline
    assert not re.search(r"https?://|<script|<link|@import|url\(", html, re.IGNORECASE)


def test_existing_report_refused_unless_force(report: Path, small: fx.Dirs, tmp_path: Path, capsys) -> None:
    report = shutil.copytree(report, tmp_path / "report")
    before = (report / "index.html").stat().st_mtime_ns
    assert _run(str(small.instance), str(small.plan), "-o", str(report)) == 2
    assert "exists" in capsys.readouterr().err
    assert (report / "index.html").stat().st_mtime_ns == before
    assert _run(str(small.instance), str(small.plan), "-o", str(report), "--force") == 0
    assert not (report / "fan.png").exists()  # replaced as a whole: no evaluation this time
    assert [p.name for p in report.parent.iterdir()] == [report.name]  # no temporary left beside it


def test_failure_leaves_nothing_behind(small: fx.Dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    def boom(*_a, **_k):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(figures, "unmet_figure", boom)
    with pytest.raises(RuntimeError, match="drawing failed"):
        _run(str(small.instance), str(small.plan), "-o", str(tmp_path / "r"))
    assert list(tmp_path.iterdir()) == []


def test_bad_input_and_input_overwrite_exit_2(small: fx.Dirs, tmp_path: Path, capsys) -> None:
    assert _run(str(small.instance), str(tmp_path / "nope"), "-o", str(tmp_path / "r")) == 2
    assert "nope" in capsys.readouterr().err
    assert _run(str(small.instance), str(small.plan), "-o", str(small.plan), "--force") == 2
    assert "input" in capsys.readouterr().err
    assert (small.plan / "stock.arrow").exists()


def test_without_matplotlib_exit_2(small: fx.Dirs, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert _run(str(small.instance), str(small.plan), "-o", str(tmp_path / "r")) == 2
    assert "matplotlib is not installed: pip install 'optimiser[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_plan_without_solution_reports_summary_only(small: fx.Dirs, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plan = tmp_path / "plan"
    fx.write_json(plan / "summary.json", {"status": "infeasible", "objective": None, "breakdown": {},
                                          "solver": "glop", "timings": {}, "size": {}})
    assert _run(str(small.instance), str(plan), "-o", str(tmp_path / "r")) == 0
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "status-infeasible" in html and "<img" not in html


# ---------------------------------------------------------------- in a real browser

PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const out = {
    images: imgs.length,
    rendered: imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length,
    non_data: imgs.filter(i => !i.currentSrc.startsWith("data:")).length,
    tables: document.querySelectorAll("table").length,
    filled_tables: [...document.querySelectorAll("table")].filter(t => t.tBodies[0].rows.length > 0).length,
    fetched: performance.getEntriesByType("resource").map(e => e.name),
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = "PROBE" + JSON.stringify(out) + "PROBE";
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=10000", *extra, page.as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)


def test_page_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    page_dir = shutil.copytree(report, tmp_path / "page")
    html = (page_dir / "index.html").read_text(encoding="utf-8")
    # The page forbids scripts by its Content-Security-Policy; allow only the probe's inline script.
    probed = html.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    probed = probed.replace("</body>", PROBE + "</body>")
    probe_page = page_dir / "probe.html"
    probe_page.write_text(probed, encoding="utf-8")

    done = _browse(probe_page, tmp_path / "profile", "--dump-dom")
    found = re.search(r"PROBE(\{.*?\})PROBE", done.stdout)
    assert found, f"no probe in the DOM; chromium said:\n{done.stderr[-2000:]}"
    probe = json.loads(found.group(1))
    assert probe["images"] == len(FIGURE_FILES)
    assert probe["rendered"] == probe["images"], probe
    assert probe["non_data"] == 0 and probe["fetched"] == [], probe
    # objective, totals, ordered, solver; binding constraints; KPIs, risk
    assert probe["tables"] == 7 and probe["filled_tables"] == 7, probe

    shot = tmp_path / "shot.png"
    done = _browse(page_dir / "index.html", tmp_path / "profile2", f"--screenshot={shot}",
                   "--window-size=1280,2400", "--hide-scrollbars")
    assert shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert _png_size(png) == (1280, 2400) and len(png) > 50_000  # a page with pictures, not a blank one
