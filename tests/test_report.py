"""The report: reading, what it derives, figures, HTML summaries, the command, and the page in a browser."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import html as htmllib
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
from optimiser.errors import InvalidPlanError
from optimiser.report import data, derive, evaluation_html, plan_html
from optimiser.report.text import safe

from . import report_fixtures as fx

FIGURE_FILES = {"procurement.png", "stock.png", "unmet.png", "scenarios.png", "fan.png"}


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


def _sections(page: str) -> dict[str, tuple[str, str]]:
    """section id -> (heading text, body HTML)."""
    found = re.findall(r'<section id="([^"]+)"><h2>(.*?)</h2>(.*?)</section>', page, re.S)
    return {i: (htmllib.unescape(h), b) for i, h, b in found}


def _imgs(body: str) -> list[bytes]:
    return [base64.b64decode(s.split(",", 1)[1]) for s in re.findall(r'<img src="(data:image/png;base64,[^"]+)"', body)]


def _text(fragment: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> fx.Dirs:
    return fx.solved(tmp_path_factory.mktemp("solved"), start_date="2026-12-01")


@pytest.fixture(scope="module")
def report(solved: fx.Dirs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("reports") / "report"
    assert _run(str(solved.instance), str(solved.plan), str(solved.evaluation), "-o", str(out)) == 0
    return out


@pytest.fixture(scope="module")
def page(report: Path) -> str:
    return (report / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def infeasible(tmp_path_factory: pytest.TempPathFactory) -> fx.Dirs:
    return fx.infeasible(tmp_path_factory.mktemp("infeasible"))


# ---------------------------------------------------------------- reading and deriving


def test_reads_parquet_plan_and_checks_it(tmp_path: Path) -> None:
    dirs = fx.solved(tmp_path, fmt="parquet")
    assert not list(dirs.plan.glob("*.arrow"))
    plan = data.load_plan(dirs.plan)
    assert plan.stock is not None and plan.flows is not None and plan.shadow_prices is not None
    from optimiser.report import build

    rep = build.prepare(dirs.instance, dirs.plan)
    assert rep.check is not None and rep.check.ok, rep.check_failed


def test_plan_with_table_as_both_arrow_and_parquet_refused(solved: fx.Dirs, tmp_path: Path) -> None:
    plan = shutil.copytree(solved.plan, tmp_path / "plan")
    import pyarrow.parquet as pq

    pq.write_table(pa.ipc.open_file(str(plan / "flows.arrow")).read_all(), plan / "flows.parquet")
    with pytest.raises(InvalidPlanError, match="flows.arrow and flows.parquet"):
        data.load_plan(plan)


def test_missing_column_is_named() -> None:
    with pytest.raises(InvalidPlanError, match="stock: column 'stock' is missing"):
        data.columns(pa.table({"node": ["a"], "commodity": ["k"], "day": [0]}), data.STOCK_SPEC, table="stock")


def test_kpis_nested_or_top_level_read_alike(solved: fx.Dirs, tmp_path: Path) -> None:
    stock = pa.ipc.open_file(str(solved.plan / "stock.arrow")).read_all().to_pydict()
    fx.write_evaluation(tmp_path / "a", stock, nested=True)
    fx.write_evaluation(tmp_path / "b", stock, nested=False)
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert data.kpi_stats(a) == data.kpi_stats(b)
    assert list(data.kpi_stats(a))[:3] == ["demand", "unmet", "fill_rate"]
    assert "by_commodity" not in data.kpi_stats(a)
    assert evaluation_html(a) == evaluation_html(b)


def test_orders_derived_from_flows_agree_with_the_summary(solved: fx.Dirs) -> None:
    inst, written = data.instance(solved.instance), data.load_plan(solved.plan)
    plan = dataclasses.replace(written, orders=None)  # as from a tool that writes no orders table
    o = derive.orders(plan, inst)
    if written.orders is not None:  # the engine's own orders table says the same
        w = written.orders
        key = lambda c: sorted(zip(c["supplier"], c["destination"], c["order_day"].tolist(),  # noqa: E731
                                   np.round(c["quantity"], 9).tolist(), np.round(c["cost"], 9).tolist()))
        assert key(w) == key(o)
    summary = plan.summary
    assert o["cost"].sum() == pytest.approx(summary["breakdown"]["procurement"], rel=1e-9)
    for supplier, by_commodity in summary["totals"]["ordered"].items():
        for commodity, total in by_commodity.items():
            m = (o["supplier"] == supplier) & (o["commodity"] == commodity)
            assert o["quantity"][m].sum() == pytest.approx(total)
    # Acme ships by rail, lead time 2, price 10, lane cost 0.5
    acme = o["supplier"] == "Acme"
    assert set(o["mode"][acme]) == {"rail"}
    assert (o["arrive_day"][acme] - o["order_day"][acme] == 2).all()
    assert o["cost"][acme] == pytest.approx(10 * o["quantity"][acme])
    assert o["transport_cost"][acme] == pytest.approx(0.5 * o["quantity"][acme])


def test_orders_table_is_used_when_the_plan_has_one(solved: fx.Dirs, tmp_path: Path) -> None:
    plan = shutil.copytree(solved.plan, tmp_path / "plan")
    fx.write_table(plan, "orders", pa.table({
        "supplier": ["Cyan"], "commodity": ["fuses"], "destination": ["depot-000"], "mode": ["road"],
        "order_day": [3], "arrive_day": [4], "quantity": [7.0], "unit_price": [3.0], "cost": [21.0],
        "transport_cost": [0.7],
    }))
    o = derive.orders(data.load_plan(plan), data.instance(solved.instance))
    assert o["quantity"].tolist() == [7.0] and o["cost"].tolist() == [21.0]


def test_runs_group_consecutive_days_with_the_same_quantity() -> None:
    key = (np.array(["A"] * 5 + ["B"], dtype=object),)
    day = np.array([0, 1, 2, 4, 5, 0])
    q = np.array([10.0, 10.0, 10.0, 10.0, 20.0, 10.0])
    runs = derive.runs(key, day, day + 3, q, money=q * 2)
    got = [(r.key, r.first, r.last, r.per_day, r.total, r.money, r.lead) for r in runs]
    assert got == [(("A",), 0, 2, 10.0, 30.0, 60.0, 3), (("A",), 4, 4, 10.0, 10.0, 20.0, 3),
                   (("A",), 5, 5, 20.0, 20.0, 40.0, 3), (("B",), 0, 0, 10.0, 10.0, 20.0, 3)]


def test_binding_limits_grouped_into_day_ranges() -> None:
    n = 6
    shadow = data.columns({
        "constraint": ["supplier_capacity"] * n + ["readiness_floor", "budget"],
        "name": [""] * n + ["", "budget"],
        "supplier": ["Acme"] * n + [None, None], "node": [None] * n + ["depot", None],
        "commodity": ["shells"] * (n + 1) + [None], "day": [0, 1, 2, 3, 5, 9, 4, None],
        "limit": [100.0] * n + [400.0, 5.0], "used": [100.0] * n + [400.0, 2.0],
        "value": [950.0, 940.0, 930.0, 920.0, 10.0, 0.0, 7.0, 0.0],
    }, data.SHADOW_SPEC, table="shadow_prices")
    groups = derive.binding_groups(shadow)
    assert [(g.constraint, g.what, g.ranges, g.days, g.value_lo, g.value_hi) for g in groups] == [
        ("supplier_capacity", "Acme · shells", ((0, 3), (5, 5), (9, 9)), 6, 0.0, 950.0),
        ("readiness_floor", "depot · shells", ((4, 4),), 1, 7.0, 7.0),
    ]  # the slack budget (value 0, limit not used up) does not bind
    assert derive.ranges_text(groups[0].ranges, None) == "0–3, 5, 9"
    from optimiser.report.html import binding_table

    out = binding_table(groups, None)
    assert "hard readiness floor" in out  # every constraint kind the engine emits has a label
    assert out.count("<tr>") == 1 + 2


def test_infeasibility_items_from_summary_or_grouped_from_the_table() -> None:
    summary = {"infeasibility": {"items": [
        {"requirement": "budget", "node": None, "supplier": None, "commodity": None, "first_day": None,
         "last_day": None, "violation": 5.0},
        {"requirement": "readiness_floor", "node": "D", "supplier": None, "commodity": "k", "first_day": 2,
         "last_day": 6, "violation": 40.0, "why": "no lane can deliver before day 7"},
    ]}}
    items = derive.infeasibility_items(summary, None)
    assert [(q.requirement, q.node, q.first, q.last, q.violation, q.why) for q in items] == [
        ("readiness_floor", "D", 2, 6, 40.0, "no lane can deliver before day 7"),
        ("budget", "", -1, -1, 5.0, ""),
    ]
    table = data.columns({"requirement": ["readiness_floor"] * 4, "node": ["D"] * 4, "commodity": ["k"] * 4,
                          "day": [0, 1, 2, 7], "required": [100.0] * 4, "violation": [30.0, 50.0, 10.0, 5.0]},
                         data.INFEASIBILITY_SPEC, table="infeasibility")
    items = derive.infeasibility_items({}, table)
    assert [(q.first, q.last, q.violation) for q in items] == [(0, 2, 50.0), (7, 7, 5.0)]


def test_vocabulary_comes_from_the_output_declarations() -> None:
    from optimiser import outputs
    from optimiser.report import vocabulary as v

    for kind, (label, meaning) in outputs.CONSTRAINT_KINDS.items():
        assert v.constraint_label(kind) == label and v.constraint_meaning(kind) == meaning
    for kind, label in outputs.REQUIREMENTS.items():
        assert v.requirement_label(kind) == label
    assert set(v.KPI_LABELS) == set(outputs.KPIS)
    for key in outputs.BREAKDOWN:
        assert v.breakdown_label(key).startswith(key.replace("_", " ") + " (")
    assert v.constraint_label("new_kind") == "new kind"  # an undeclared name is shown, never dropped


def test_names_are_shown_with_control_characters_escaped() -> None:
    assert safe("a\nb\x00c\x1b[31m") == "a\\nb\\x00c\\x1b[31m"
    assert safe(HOSTILE := fx.HOSTILE) == HOSTILE
    out = plan_html({"status": "optimal", "objective": 1.0, "breakdown": {"procurement": 1.0},
                     "totals": {"by_commodity": {"sh\x00ells<b>": {"ordered": 1.0, "demand": 2.0, "unmet": 0.0}}}})
    assert "sh\\x00ells&lt;b&gt;" in out and "\x00" not in out and "<b>" not in out.split("sh\\x00ells")[1][:10]


# ---------------------------------------------------------------- HTML summaries (notebooks)


def test_plan_repr_html_renders_tables_and_a_figure(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    import optimiser

    plan = optimiser.solve(str(solved.instance))
    out = plan._repr_html_()
    assert "<pre>" not in out and "<table>" in out
    from optimiser.report.vocabulary import breakdown_label

    for row in (breakdown_label("procurement"), breakdown_label("shortfall_penalty"),
                "total cost (objective)", "shadow price (currency units per unit)"):
        assert row in out
    assert f"{plan.summary['objective']:,.0f}" in out
    srcs = re.findall(r'<img src="(data:image/png;base64,[^"]+)"', out)
    assert len(srcs) == 1 and _png_size(base64.b64decode(srcs[0].split(",", 1)[1]))[0] > 300


def test_evaluation_repr_html_renders_tables_and_a_figure(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.scenarios.evaluate import Evaluation

    summary = json.loads((solved.evaluation / "summary.json").read_text())
    scenarios = pa.ipc.open_file(str(solved.evaluation / "scenarios.arrow")).read_all()
    ev = Evaluation(summary=summary, scenarios=scenarios, fan=None, result=None)
    out = ev._repr_html_()
    assert "<pre>" not in out and "<table>" in out
    text = _text(out)
    assert f"{100 * summary['p_any_shortfall']:.1f}%" in text and f"{100 * summary['p_any_breach']:.1f}%" in text
    # two commodities: quantities summed over them are not shown; per-commodity rows are
    assert "days with any unmet" in text and "total demand" not in text
    assert re.search(r"shells\s+\S+%", text) and re.search(r"fuses\s+\S+%", text)
    srcs = re.findall(r'<img src="(data:image/png;base64,[^"]+)"', out)
    assert len(srcs) == 1 and _png_size(base64.b64decode(srcs[0].split(",", 1)[1]))[0] > 300


def test_evaluation_html_of_one_commodity_shows_every_kpi(solved: fx.Dirs) -> None:
    summary = json.loads((solved.evaluation / "summary.json").read_text())
    del summary["by_commodity"]
    out = evaluation_html(summary)
    assert out.count("<tr>") >= 8 + 5
    assert "total demand" in out and "unmet consumption" in out


# ---------------------------------------------------------------- figures


def _labels(fig) -> set[str]:
    return {t for ax in fig.axes for t in (ax.get_xlabel(), ax.get_ylabel()) if t}


def test_figures_are_figures_with_units(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from optimiser.report import figures

    inst, plan = data.instance(solved.instance), data.load_plan(solved.plan)
    ev = data.load_evaluation(solved.evaluation)
    stock_table = pa.ipc.open_file(str(solved.plan / "stock.arrow")).read_all()
    cases = {
        "stock": (figures.stock_figure(stock_table), {"day", "stock (units)"}),
        "fan": (figures.fan_figure(ev.fan, plan.stock), {"day", "stock (units)"}),
        "scenarios": (figures.distribution_figure(ev.scenarios, ev.by_commodity),
                      {"shells units per scenario", "unit-days per scenario", "currency units per scenario",
                       "scenarios"}),
        "procurement": (figures.procurement_figure(derive.orders(plan, inst), inst),
                        {"shells ordered\n(units/day)", "fuses ordered\n(units/day)", "order day",
                         "shells ordered over the horizon (units)", "fuses ordered over the horizon (units)"}),
        "unmet": (figures.unmet_figure(plan.stock), {"day", "unmet share of the day's demand"}),
    }
    for name, (fig, labels) in cases.items():
        assert isinstance(fig, Figure), name
        assert labels <= _labels(fig), (name, _labels(fig))
        assert _png_size(figures.to_png(fig))[0] > 300
    assert _png_size(cases["stock"][0]._repr_png_())[0] > 300  # displays in a notebook without pyplot


def test_each_commodity_has_its_own_axes(solved: fx.Dirs) -> None:
    """Quantities of different commodities never share an axis (nor a legend of suppliers)."""
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    inst, plan = data.instance(solved.instance), data.load_plan(solved.plan)
    o = derive.orders(plan, inst)
    fig = figures.procurement_figure(o, inst)
    by_title = {ax.get_title(loc="left"): ax for ax in fig.axes}
    shells, fuses = by_title["Orders of shells by order day"], by_title["Orders of fuses by order day"]
    assert [t.get_text() for t in shells.get_legend().get_texts()][:2] == ["Borg", "Acme"]
    assert [t.get_text() for t in fuses.get_legend().get_texts()][0] == "Cyan"
    assert "Acme" not in [t.get_text() for t in fuses.get_legend().get_texts()]
    # the bars of the fuses panel add up to the fuses ordered, and nothing else
    heights = sum(p.get_height() for p in fuses.patches if p.get_facecolor()[3] > 0 and p.get_height() > 0
                  and p.get_fill())
    assert heights == pytest.approx(o["quantity"][o["commodity"] == "fuses"].sum())


def test_legend_lists_only_suppliers_that_ordered_the_commodity(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    inst = data.instance(solved.instance)
    orders = {"supplier": ["Acme", "Acme"], "commodity": ["shells", "shells"], "destination": ["depot-000"] * 2,
              "order_day": [0, 1], "quantity": [5.0, 6.0]}
    fig = figures.procurement_figure(orders, inst)
    shells = next(ax for ax in fig.axes if ax.get_title(loc="left") == "Orders of shells by order day")
    assert [t.get_text() for t in shells.get_legend().get_texts()] == ["Acme"]  # not Borg, which ordered none


def test_distribution_titles_are_tied_to_their_data(solved: fx.Dirs) -> None:
    """Each histogram counts the column its title names (swapping titles or data fails here)."""
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    ev = data.load_evaluation(solved.evaluation)
    b = ev.by_commodity
    fig = figures.distribution_figure(ev.scenarios, b)
    expect = {"Realised cost": ev.scenarios["cost"]}
    for k in ("shells", "fuses"):
        expect[f"Unmet consumption: {k}"] = b["unmet"][b["commodity"] == k]
        expect[f"Stock below floor: {k}"] = b["below_floor"][b["commodity"] == k]
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    assert set(panels) == set(expect)
    for title, values in expect.items():
        ax = panels[title]
        bars = [p for p in ax.patches if p.get_height() > 0]
        assert sum(p.get_height() for p in bars) == len(values), title
        lo = min(p.get_x() for p in bars)
        hi = max(p.get_x() + p.get_width() for p in bars)
        assert lo == pytest.approx(values.min()) and hi == pytest.approx(values.max()), title
        median = ax.get_lines()[0].get_xdata()[0]
        assert median == pytest.approx(np.percentile(values, 50)), title
    # one commodity and no per-commodity table: the all-pairs columns are drawn
    one = figures.distribution_figure(ev.scenarios, commodities=1)
    assert [ax.get_title() for ax in one.axes] == ["Unmet consumption", "Stock below floor", "Realised cost"]
    # several commodities and no per-commodity table: no summed quantities, money only
    assert [ax.get_title() for ax in figures.distribution_figure(ev.scenarios, commodities=2).axes] == [
        "Realised cost"]


def test_stock_and_unmet_figures_draw_their_own_data(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    plan = data.load_plan(solved.plan)
    s = plan.stock
    fig = figures.stock_figure(s)
    assert fig.get_suptitle().startswith("Stock against floor")
    panel = next(ax for ax in fig.axes if ax.get_title().startswith("depot-000 · shells"))
    m = (s["node"] == "depot-000") & (s["commodity"] == "shells")
    np.testing.assert_allclose(panel.get_lines()[0].get_ydata(), s["stock"][m][np.argsort(s["day"][m])])
    below = s["below_floor"][m].sum()
    assert f"{below:,.0f} unit-days below floor" in panel.get_title()
    unmet = figures.unmet_figure(s)
    ax = unmet.axes[0]
    assert ax.get_title().startswith("Unmet consumption by consumer and day")
    rows = [t.get_text() for t in ax.get_yticklabels()]
    shells = (s["node"] == "front") & (s["commodity"] == "shells")
    assert rows[0].startswith(f"front · shells  ({s['unmet'][shells].sum():,.0f} units")


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
    below: dict = {}
    for n, k, b in zip(plan.stock["node"], plan.stock["commodity"], plan.stock["below_floor"]):
        below[(n, k)] = below.get((n, k), 0.0) + b
    worst = max(below, key=below.get)
    assert panels[0].get_title().startswith(f"{worst[0]} · {worst[1]}")
    assert "not shown" in figures.fan_figure(ev.fan, plan.stock, top=5).get_suptitle()


def test_fan_says_no_floor_where_there_is_none(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    plan, ev = data.load_plan(solved.plan), data.load_evaluation(solved.evaluation)
    titles = {ax.get_title().split("\n")[0]: ax.get_title().split("\n")[1]
              for ax in figures.fan_figure(ev.fan, plan.stock).axes if ax.get_visible()}
    assert titles["front · shells"] == "no floor" and titles["front · fuses"] == "no floor"
    assert titles["depot-000 · shells"] != "no floor"


def test_unmet_figure_says_when_all_demand_is_met() -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    stock = {"node": ["a"] * 3, "commodity": ["k"] * 3, "day": [0, 1, 2], "stock": [5.0] * 3,
             "demand": [1.0] * 3, "unmet": [0.0] * 3}
    fig = figures.unmet_figure(stock)
    assert any("No unmet consumption" in t.get_text() for t in fig.texts)


# ---------------------------------------------------------------- the command


def test_report_writes_page_and_every_figure(report: Path, page: str) -> None:
    assert {p.name for p in report.iterdir()} == FIGURE_FILES | {"index.html"}
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == len(FIGURE_FILES)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs if s.startswith("data:image/png;base64,")}
    assert embedded == {(report / f).read_bytes() for f in FIGURE_FILES}  # same PNGs, inline
    assert not re.search(r"https?://|<script|<link|@import|url\(", page, re.IGNORECASE)


def test_headings_are_tied_to_their_figures(report: Path, page: str, solved: fx.Dirs) -> None:
    """Each heading sits over its own figure (swapping "Stock against floor" and "Unmet consumption" fails)."""
    from optimiser.report import figures

    sections = _sections(page)
    plan = data.load_plan(solved.plan)
    expect = {
        "stock": ("Stock against floor", "stock.png", figures.stock_figure(plan.stock, horizon=fx.HORIZON)),
        "unmet": ("Unmet consumption", "unmet.png", figures.unmet_figure(plan.stock, horizon=fx.HORIZON)),
        "orders": ("Orders", "procurement.png", None),
    }
    for sid, (heading, file, fig) in expect.items():
        got_heading, body = sections[sid]
        assert got_heading == heading, sid
        assert _imgs(body) == [(report / file).read_bytes()], sid
        if fig is not None:
            assert (report / file).read_bytes() == figures.to_png(fig), file
    evaluation = sections["evaluation"]
    assert evaluation[0] == "Under 200 sampled futures"
    assert _imgs(evaluation[1]) == [(report / "scenarios.png").read_bytes(), (report / "fan.png").read_bytes()]
    # captions say what each figure shows
    assert "share of that day's demand not met" in sections["unmet"][1]
    assert "end-of-day stock" in sections["stock"][1] and "readiness floor" in sections["stock"][1]


def test_page_reads_planner_first(page: str, solved: fx.Dirs) -> None:
    ids = list(_sections(page))
    assert ids == ["orders", "shipments", "stock", "unmet", "evaluation", "binding", "details"]
    head = page.split("<nav>")[0]
    plan = data.load_plan(solved.plan)
    s = plan.stock
    text = _text(head)
    assert "optimal" in text and f"{plan.summary['objective']:,.0f}" in text and "passed" in text
    for k, bought in (("shells", "Borg 1,620; Acme 1,420"), ("fuses", "Cyan 470")):
        m = s["commodity"] == k
        dem, un = s["demand"][m].sum(), s["unmet"][m].sum()
        row = re.search(rf"{k}\s+{dem:,.0f}\s+{un:,.0f}\s+{100 * (1 - un / dem):.1f}%\s+(.*?)\s+{re.escape(bought)}",
                        text)
        assert row, (k, text)
    assert "1,260 unit-days below floor on 9 days" in text and "never below floor" in text
    # the plan's own figures and the futures' probabilities are never side by side unlabelled
    futures = head.split('<div class="futures">')[1]
    assert "Under 200 sampled futures" in futures and "not the plan's own figures" in futures
    assert "P(any shortfall)" not in head.split('<div class="futures">')[0]
    # solver details last and collapsed, no raw Python reprs anywhere
    details = _sections(page)["details"][1]
    assert details.startswith("<details>") and "backend" in details
    assert not re.search(r"\{'|\['|\{\"|\": ", _text(page))
    outside = _text(page.split("</style>")[1].split("<details>")[0])
    assert "supplier_capacity" not in outside and "lane_capacity" not in outside  # limits are labelled


def test_order_schedule_and_dates(page: str, solved: fx.Dirs) -> None:
    body = _text(_sections(page)["orders"][1])
    # Borg ships 60 a day by sea on days 0..26, arriving 3 days later; dates from start_date 2026-12-01
    assert re.search(r"Borg\s+shells\s+depot-001\s+sea\s+0–26 \(2026-12-01 – 2026-12-27\)\s+"
                     r"3–29 \(2026-12-04 – 2026-12-30\)\s+60\s+1,620\s+19,440\s+405", body), body
    assert "day 0" in _text(page.split("<nav>")[0]) and "2026-12-01" in page


def test_binding_limits_grouped_in_the_page(page: str, solved: fx.Dirs) -> None:
    plan = data.load_plan(solved.plan)
    groups = derive.binding_groups(plan.shadow_prices)
    body = _sections(page)["binding"][1]
    assert body.count("<tr>") == 1 + min(len(groups), 25)
    assert len(groups) < len(plan.shadow_prices["constraint"])  # per-day rows were grouped


def test_scenario_section_is_per_commodity(page: str) -> None:
    body = _text(_sections(page)["evaluation"][1])
    assert "not the plan's own expected-demand figures" in body
    assert "Per commodity, across the sampled futures" in body and "total demand" not in body
    assert re.search(r"shells\s+\S+%\s+\S+%", body) and re.search(r"fuses\s+\S+%\s+\S+%", body)


def test_no_unmet_consumption_is_a_sentence_not_an_empty_figure(solved: fx.Dirs) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import build

    rep = build.prepare(solved.instance, solved.plan)
    stock = {**rep.plan.stock, "unmet": np.zeros_like(rep.plan.stock["unmet"])}
    page = build.render(dataclasses.replace(rep, plan=dataclasses.replace(rep.plan, stock=stock)))
    heading, body = _sections(page)["unmet"]
    assert heading == "Unmet consumption" and "<img" not in body
    assert "meets every consumer's demand in full" in _text(body)


def test_tampered_plan_shows_check_failed(solved: fx.Dirs, tmp_path: Path, capsys) -> None:
    plan = shutil.copytree(solved.plan, tmp_path / "plan")
    flows = pa.ipc.open_file(str(plan / "flows.arrow")).read_all()
    q = flows.column("quantity").to_numpy().copy()
    q[0] += 500.0  # ship 500 more than the plan (and its summary) say
    fx.write_table(plan, "flows", flows.set_column(flows.schema.get_field_index("quantity"), "quantity", pa.array(q)))
    summary = json.loads((plan / "summary.json").read_text())
    assert summary["check"]["ok"] is True  # the summary still claims the check passed
    assert _run(str(solved.instance), str(plan), "-o", str(tmp_path / "r")) == 0
    assert "FAILED the independent check" in capsys.readouterr().err
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    banner = _text(page.split("<nav>")[0])
    assert "check FAILED" in banner and "balance" in banner and "objective" in banner
    assert "passed" not in banner


def test_invalid_instance_is_refused(solved: fx.Dirs, tmp_path: Path, capsys) -> None:
    inst = shutil.copytree(solved.instance, tmp_path / "inst")
    meta = json.loads((inst / "instance.json").read_text())
    meta["horizon_days"] = 0
    (inst / "instance.json").write_text(json.dumps(meta))
    assert _run(str(inst), str(solved.plan), "-o", str(tmp_path / "r")) == 2
    assert "horizon_days" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_infeasible_plan_opens_with_what_would_fix_it(infeasible: fx.Dirs, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "r"
    assert _run(str(infeasible.instance), str(infeasible.plan), "-o", str(out)) == 0
    assert [p.name for p in out.iterdir()] == ["index.html"]  # no figure of a plan that is not one
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<img" not in page and "Orders" not in page and "total cost" not in page
    sections = _sections(page)
    assert list(sections)[0] == "infeasible"
    heading, body = sections["infeasible"]
    assert heading == "What is infeasible and what would fix it"
    text = _text(body)
    assert "There is no plan to act on: status infeasible" in text
    assert re.search(r"hard readiness floor\s+depot-000 · shells\s+0–\d+\s+500", text), text
    summary = json.loads((infeasible.plan / "summary.json").read_text())
    items = summary["infeasibility"].get("items") or []
    if items and items[0].get("fix"):  # the engine explains: its words are shown, once
        assert text.count(items[0]["fix"]) == 1 and text.count(items[0]["why"]) == 1
    else:  # a plan from a tool that does not: the report's own
        assert "lower the floor of depot-000 · shells" in text and "readiness_hard = false" in text
        assert "add 500 of initial stock at depot-000" in text
        assert "the earliest any lane can deliver shells to depot-000 is day 2" in text
    # from the infeasibility table alone, the report's own explanation
    from optimiser.report import build

    rep = build.prepare(infeasible.instance, infeasible.plan)
    bare = dataclasses.replace(rep, plan=dataclasses.replace(rep.plan, summary={"status": "infeasible"}))
    own = _text(build.render(bare))
    assert "lower the floor of depot-000 · shells" in own and "readiness_hard = false" in own
    assert "add 500 of initial stock at depot-000" in own
    assert "the earliest any lane can deliver shells to depot-000 is day 2" in own


def test_infeasibility_items_of_the_summary_are_shown(solved: fx.Dirs, tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    fx.write_json(plan / "summary.json", {
        "status": "infeasible", "objective": None, "breakdown": {}, "solver": {"name": "highs"}, "timings": {},
        "size": {}, "infeasibility": {"items": [
            {"requirement": "contract_min", "node": None, "supplier": "Borg", "commodity": "shells",
             "first_day": None, "last_day": None, "violation": 120.0,
             "fix": "lower contract_min of Borg/shells to 80"}]}})
    assert _run(str(solved.instance), str(plan), "-o", str(tmp_path / "r")) == 0
    text = _text((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
    assert re.search(r"contract minimum\s+Borg · shells\s+whole horizon\s+120", text)
    assert "lower contract_min of Borg/shells to 80" in text  # the engine's fix, not a second one of ours
    assert "lower contract_min of Borg · shells by 120" not in text


def test_reliability_plan_shows_certificate_planning_floor_and_frontier(solved: fx.Dirs, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plan = shutil.copytree(solved.plan, tmp_path / "plan")
    fx.reliability(plan, certified=False)
    out = tmp_path / "r"
    assert _run(str(solved.instance), str(plan), "-o", str(out)) == 0
    assert (out / "frontier.png").exists()
    page = (out / "index.html").read_text(encoding="utf-8")
    head = _text(page.split("<nav>")[0])
    assert "reliability target 0.9" in head and "not certified" in head
    heading, body = _sections(page)["reliability"]
    assert heading == "Reliability certificate"
    text = _text(body)
    assert "not certified" in text and "not jointly across pairs" in text
    rel = data.load_plan(plan).reliability
    assert text.count("readiness") >= len(rel["kind"])
    for n, k, ub in zip(rel["node"], rel["commodity"], rel["upper_bound"]):
        assert re.search(rf"{n} · {k}\s+readiness\s+0.9\s+\d+ of 2,000\s+[\d,]+ of 10,000\s+{ub:.3g}", text), (n, k)
    assert _imgs(body) == [(out / "frontier.png").read_bytes()]
    from optimiser.report import figures

    stock_fig = figures.stock_figure(data.load_plan(plan).stock)
    assert "planning floor (floor + reliability buffer)" in [t.get_text() for t in stock_fig.legends[0].get_texts()]
    frontier = figures.frontier_figure(data.load_plan(plan).frontier)
    ax = frontier.axes[0]
    filled, hollow = ax.collections[0], ax.collections[1]
    assert len(filled.get_offsets()) == 2 and len(hollow.get_offsets()) == 2  # certified: 0.8, 0.95


def test_hostile_names_drawn_and_written_literally(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import build, figures

    dirs = fx.solved(tmp_path, supplier=fx.HOSTILE)
    out = tmp_path / "r"
    assert _run(str(dirs.instance), str(dirs.plan), "-o", str(out)) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert htmllib.escape(fx.HOSTILE) in page and fx.HOSTILE in _text(page)
    rep = build.prepare(dirs.instance, dirs.plan)
    fig = figures.procurement_figure(derive.orders(rep.plan, rep.inst), rep.inst)
    figures.to_png(fig)
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if fx.HOSTILE in t.get_text()]
    assert len(texts) >= 2  # legend and contract panel label
    assert all(not t.get_parse_math() for t in texts)
    assert all(t._preprocess_math(t.get_text()) == (fx.HOSTILE, False) for t in texts)


def test_hostile_names_in_figure_titles(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.text import Text

    from optimiser.report import figures

    days = list(range(4))
    stock = {"node": [fx.HOSTILE] * 4 + ["line\nbreak\x00"] * 4, "commodity": ["k$1$"] * 8, "day": days * 2,
             "stock": [5.0, 1.0, 5.0, 5.0] * 2, "floor": [3.0] * 8, "demand": [1.0] * 8,
             "unmet": [0.0, 1.0, 0.0, 0.0] * 2}
    for fig in (figures.stock_figure(stock), figures.unmet_figure(stock),
                figures.fan_figure({**{k: stock[k] for k in ("node", "commodity", "day")},
                                    "p5": stock["stock"], "p50": stock["stock"], "p95": stock["stock"]}, stock)):
        figures.to_png(fig)
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert any(f"{fx.HOSTILE} · k$1$" in t for t in texts), texts
        assert any("line\\nbreak\\x00 · k$1$" in t for t in texts), texts
        assert not any("\n" in t.split("\n")[0] and "\x00" in t for t in texts)
        assert all(not t.get_parse_math() for t in fig.findobj(Text) if "$" in t.get_text())
    titles = [ax.get_title() for ax in figures.stock_figure(stock).axes if ax.get_visible()]
    assert titles[0].startswith(f"{fx.HOSTILE} · k$1$") or titles[1].startswith(f"{fx.HOSTILE} · k$1$")


def test_existing_report_refused_unless_force(report: Path, solved: fx.Dirs, tmp_path: Path, capsys) -> None:
    report = shutil.copytree(report, tmp_path / "report")
    before = (report / "index.html").stat().st_mtime_ns
    assert _run(str(solved.instance), str(solved.plan), "-o", str(report)) == 2
    assert "exists" in capsys.readouterr().err
    assert (report / "index.html").stat().st_mtime_ns == before
    assert _run(str(solved.instance), str(solved.plan), "-o", str(report), "--force") == 0
    assert not (report / "fan.png").exists()  # replaced as a whole: no evaluation this time
    assert [p.name for p in report.parent.iterdir()] == [report.name]  # no temporary left beside it


def test_failure_leaves_nothing_behind(solved: fx.Dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from optimiser.report import figures

    def boom(*_a, **_k):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(figures, "procurement_figure", boom)
    with pytest.raises(RuntimeError, match="drawing failed"):
        _run(str(solved.instance), str(solved.plan), "-o", str(tmp_path / "r"))
    assert list(tmp_path.iterdir()) == []


def test_bad_input_and_input_overwrite_exit_2(solved: fx.Dirs, tmp_path: Path, capsys) -> None:
    assert _run(str(solved.instance), str(tmp_path / "nope"), "-o", str(tmp_path / "r")) == 2
    assert "nope" in capsys.readouterr().err
    assert _run(str(solved.instance), str(solved.plan), "-o", str(solved.plan), "--force") == 2
    assert "input" in capsys.readouterr().err
    assert (solved.plan / "stock.arrow").exists()


def test_without_matplotlib_exit_2(solved: fx.Dirs, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert _run(str(solved.instance), str(solved.plan), "-o", str(tmp_path / "r")) == 2
    assert "matplotlib is not installed: pip install 'optimiser[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


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
    details_open: [...document.querySelectorAll("details")].filter(d => d.open).length,
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


def _probe(report: Path, tmp_path: Path) -> dict:
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
    return json.loads(found.group(1))


def _screenshot(report: Path, tmp_path: Path, name: str, height: int) -> bytes:
    shot = tmp_path / f"{name}.png"
    done = _browse(report / "index.html", tmp_path / f"profile-{name}", f"--screenshot={shot}",
                   f"--window-size=1280,{height}", "--hide-scrollbars")
    assert shot.exists(), done.stderr[-2000:]
    return shot.read_bytes()


def test_page_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    probe = _probe(report, tmp_path)
    assert probe["images"] == len(FIGURE_FILES)
    assert probe["rendered"] == probe["images"], probe
    assert probe["non_data"] == 0 and probe["fetched"] == [], probe
    # per commodity, cost; orders, shipments; KPIs, per commodity, risk; binding; solver details
    assert probe["tables"] == 9 and probe["filled_tables"] == 9, probe
    assert probe["details_open"] == 0  # the solver's details start collapsed
    png = _screenshot(report, tmp_path, "seed", 2400)
    assert _png_size(png) == (1280, 2400) and len(png) > 50_000  # a page with pictures, not a blank one


def test_infeasible_page_renders_in_headless_chromium(infeasible: fx.Dirs, tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert _run(str(infeasible.instance), str(infeasible.plan), "-o", str(out)) == 0
    probe = _probe(out, tmp_path)
    assert probe["images"] == 0 and probe["fetched"] == [], probe
    assert probe["tables"] == 2 and probe["filled_tables"] == 2, probe  # what must give way; solver details
    png = _screenshot(out, tmp_path, "infeasible", 900)
    assert _png_size(png) == (1280, 900)
