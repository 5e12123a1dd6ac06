"""Write the report directory: ``index.html`` plus every figure as a PNG.

The page reads as a planner reads a plan: the headline (status, cost, per
commodity what is met and what was bought), the order schedule, shipments,
stock against floor, unmet consumption, then the plan under sampled
futures (clearly labelled as such), what holds the plan back, and the
solver's details last, collapsed. A plan that is not optimal or feasible
gets what is infeasible and what would fix it, and no figure.

The directory is assembled in a temporary directory beside the target and
renamed into place when complete, so a failure never leaves a half-written
report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_dir
from ..errors import InvalidPlanError, UsageError
from ..instance import Instance
from . import data as d
from . import derive as dv
from . import figures as fg
from . import html as h
from . import reliability as rr


@dataclass(frozen=True)
class FigureSpec:
    file: str
    section: str
    alt: str
    caption: str  # HTML
    draw: Callable[[], Any]


@dataclass(frozen=True)
class Report:
    """What the page is made of (everything read and computed, nothing drawn yet)."""

    inst: Instance
    plan: d.PlanData
    ev: d.EvaluationData | None
    check: Any  # CheckReport, a message (the checker could not run), or None (no plan to check)
    top: int
    inputs: tuple[Path, ...] = ()
    sim: Any = None  # report.simulation.SimulationData (--simulation), or None
    reliability_fan: d.Columns | None = None  # a reliability plan's certification fan

    @property
    def check_failed(self) -> str | None:
        """What failed, when the plan failed the independent check; else None."""
        if self.check is None:
            return None
        if isinstance(self.check, str):
            return self.check
        return None if self.check.ok else self.check.worst()

    @property
    def horizon(self) -> int:
        return d.horizon_of(self.plan.stock, self.inst)


def write_report(
    instance: str | Path | Instance,
    plan: str | Path,
    output: str | Path,
    evaluation: str | Path | None = None,
    *,
    force: bool = False,
    top: int = fg.TOP,
) -> Path:
    """Write the report for a plan (and optionally its evaluation) into ``output``.

    Returns the path of ``index.html``. The instance is validated, and the
    independent checker is run on the plan: the page says "check FAILED"
    and what failed when the plan breaks its instance. Raises
    OutputExistsError when ``output`` exists and ``force`` is false,
    UsageError when ``output`` would overwrite an input or matplotlib is
    missing, InvalidInstanceError for an invalid instance and
    InvalidPlanError for a missing or malformed plan or evaluation (CLI exit 2).
    """
    require_matplotlib()
    return write(prepare(instance, plan, evaluation, top=top), output, force=force)


def write(rep: Report, output: str | Path, *, force: bool = False) -> Path:
    """Write a prepared report into ``output`` (atomically; inputs are never overwritten)."""
    require_matplotlib()
    with atomic_dir(output, force=force, protect=rep.inputs) as tmp:
        html = render(rep, tmp)
        (tmp / "index.html").write_text(html, encoding="utf-8")
    return Path(output) / "index.html"


def prepare(instance: str | Path | Instance, plan: str | Path, evaluation: str | Path | None = None, *,
            top: int = fg.TOP, simulation: str | Path | None = None) -> Report:
    inst = d.instance(instance)
    pl = d.load_plan(plan)
    ev = None if evaluation is None else d.load_evaluation(evaluation)
    inputs = tuple(Path(p) for p in (instance, plan, evaluation) if p is not None and not isinstance(p, Instance))
    sim = None if simulation is None else _simulation().load(simulation)  # closed loop
    inputs += () if simulation is None else (Path(simulation),)
    return Report(inst, pl, ev, run_check(inst, pl), top, inputs, sim, rr.load(plan))


def _simulation():
    from . import simulation

    return simulation


def run_check(inst: Instance, pl: d.PlanData) -> Any:
    """The independent checker on the plan's tables (None when the status says there is no plan)."""
    if not pl.is_plan:
        return None
    from ..check import check_plan

    try:
        return check_plan(inst, pl.tables["flows"], pl.tables.get("stock"), pl.summary)
    except InvalidPlanError as exc:
        return str(exc)


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UsageError(fg.MATPLOTLIB_MISSING) from exc


def render(rep: Report, tmp: Path | None = None) -> str:
    """The page's HTML; figures are also written as PNG files into ``tmp`` when given."""
    start = dv.start_date(rep.inst)
    figures: dict[str, str] = {}
    for spec in _figure_specs(rep) if rep.plan.is_plan else []:
        fig = spec.draw()
        png = fg.to_png(fig)
        if tmp is not None:
            (tmp / spec.file).write_bytes(png)
        w, hgt = (int(round(v * fig.dpi)) for v in fig.get_size_inches())
        figures[spec.section] = figures.get(spec.section, "") + h.figure_html(
            png, alt=spec.alt, caption=spec.caption, width=w, height=hgt)
    title = f"Plan report: {rep.inst.name}"
    if not rep.plan.is_plan:
        return h.page(title, _top(rep, None), _failed_sections(rep, start))
    orders = dv.orders(rep.plan, rep.inst)
    return h.page(title, _top(rep, orders), _sections(rep, orders, figures, start))


# ---------------------------------------------------------------- figures


def _figure_specs(rep: Report) -> list[FigureSpec]:
    pl, ev, T, top = rep.plan, rep.ev, rep.horizon, rep.top
    k = len(rep.inst.commodities)
    specs: list[FigureSpec] = []
    orders = dv.orders(pl, rep.inst)
    if len(orders["supplier"]):
        specs.append(FigureSpec(
            "procurement.png", "orders", "Orders by supplier and order day, per commodity, with contract limits",
            "One row per commodity (its own units). Left: units ordered per order day, stacked by supplier (only "
            "suppliers that ordered that commodity); hatched segments are days a supplier ships its full daily "
            "capacity. Right: each supplier's total over the horizon (coloured) against its capacity over the "
            "horizon (grey), contract minimum (black tick) and maximum (red tick).",
            lambda: fg.procurement_figure(orders, rep.inst, horizon=T),
        ))
    if pl.stock is not None:
        planning = "; dash-dot orange: the planning floor the plan was made to hold" if _has_planning(pl) else ""
        specs.append(FigureSpec(
            "stock.png", "stock", "End-of-day stock against floor per node and commodity",
            "The plan's own stock, for expected demand. One panel per node and commodity, worst first by "
            "unit-days below floor. Blue: end-of-day stock; dashed red: the readiness floor"
            f"{planning}; shaded: days the stock ends below the floor.",
            lambda: fg.stock_figure(pl.stock, top=top, horizon=T),
        ))
    if pl.stock is not None and (pl.stock["unmet"] > 1e-9).any():
        specs.append(FigureSpec(
            "unmet.png", "unmet", "Unmet consumption by consumer and day",
            "The plan's own rationing, for expected demand. Rows are consumers (node and commodity with demand), "
            "most unmet first; colour is the share of that day's demand not met; white means demand met in full.",
            lambda: fg.unmet_figure(pl.stock, top=top, horizon=T),
        ))
    if pl.frontier is not None and len(pl.frontier["reliability"]):
        specs.append(FigureSpec(
            "frontier.png", "reliability", "Cost against reliability target",
            "Each point is a plan made for one reliability target: its cost (the objective against the "
            "instance's own floors). Filled: certified on the certification scenarios; hollow: not certified.",
            lambda: fg.frontier_figure(pl.frontier),
        ))
    specs += rr.figure_specs(rep)
    if ev is not None and ev.scenarios is not None:
        specs.append(FigureSpec(
            "scenarios.png", "evaluation", "Histograms of outcomes across the sampled futures",
            "How the plan fares across the sampled futures: each bar counts scenarios. Black line: median; "
            "dashed red: 95th percentile (one scenario in twenty is worse). Quantities are per commodity.",
            lambda: fg.distribution_figure(ev.scenarios, ev.by_commodity, commodities=k),
        ))
    if ev is not None and ev.fan is not None:
        specs.append(FigureSpec(
            "fan.png", "evaluation", "Fan chart of end-of-day stock across the sampled futures",
            "One panel per node and commodity, worst first by how far the 5th percentile falls below the "
            "floor. Band: 5th to 95th percentile of end-of-day stock across the sampled futures; solid: median; "
            "dotted: the plan's stock for expected demand; dashed red: the floor.",
            lambda: fg.fan_figure(ev.fan, pl.stock, top=top, horizon=T),
        ))
    if rep.sim is not None:  # the closed-loop section's figures (report/simulation.py)
        specs += _simulation().figure_specs(rep.sim, pl.stock, top, T, FigureSpec)
    return specs


def _has_planning(pl: d.PlanData) -> bool:
    s = pl.stock
    return s is not None and bool((np.nan_to_num(s["planning_floor"] - s["floor"]) > 1e-9).any())


# ---------------------------------------------------------------- the page


def _top(rep: Report, orders: d.Columns | None) -> str:
    s = rep.plan.summary
    facts = [h.fact("status", h.status_badge(s.get("status")))]
    if rep.plan.is_plan:
        facts.append(h.fact("total cost (currency units)", h.number(s.get("objective"))))
        facts.append(h.fact("independent check", h.check_fact(rep.check)))
        spend = np.nansum(orders["cost"]) if orders is not None else None
        facts.append(h.fact("spent on orders (currency units)", h.number(spend)))
    rel = s.get("reliability")
    if rep.plan.is_plan and isinstance(rel, dict) and isinstance(rel.get("certified"), bool):
        badge = ('<span class="status status-optimal">certified</span>' if rel["certified"]
                 else '<span class="status status-error">not certified</span>')
        facts.append(h.fact(f"reliability target {h.number(rel.get('target'))}", badge))
    start = dv.start_date(rep.inst)
    if start is not None:
        facts.append(h.fact("day 0", h.escape(start.isoformat())))
    out = f'<div class="facts">{"".join(facts)}</div>' + h.check_banner(rep.check)
    if rep.plan.is_plan:
        out += _feasible_note(s)
        lines = dv.headline(rep.plan.stock, orders, rep.inst)
        out += '<div class="tables">' + h.headline_table(lines) + h.breakdown_table(s) + "</div>"
        if rep.ev is not None:
            out += _futures_box(rep)
    return out


def _feasible_note(summary: dict[str, Any]) -> str:
    if summary.get("status") != "feasible":
        return ""
    return ('<p class="note">Status feasible: a limit stopped the solver with this plan in hand. It meets every '
            "requirement but may cost more than the best plan.</p>")


def _futures_box(rep: Report) -> str:
    ev = rep.ev
    assert ev is not None
    s = ev.summary
    k = len(rep.inst.commodities)
    n = s.get("scenarios", len(ev.scenarios["scenario"]) if ev.scenarios is not None else None)
    facts = [
        h.fact("P(any shortfall)", h.number(s.get("p_any_shortfall"), "%")),
        h.fact("P(any floor breach)", h.number(s.get("p_any_breach"), "%")),
    ]
    fill = d.kpi_stats(s).get("fill_rate")
    if fill and k == 1:
        facts.append(h.fact("fill rate, median future", h.number(fill.get("p50"), "%")))
    return (f'<div class="futures"><h3>Under {h.escape(n)} sampled futures (scenario evaluation, seed '
            f'{h.escape(s.get("seed"))}) — not the plan\'s own figures above</h3>'
            f'<div class="facts">{"".join(facts)}</div>'
            f'<p class="note">Probabilities across the futures; see <a href="#evaluation">Under sampled futures</a>.'
            "</p></div>")


def _sections(rep: Report, orders: d.Columns, figures: dict[str, str], start: Any) -> list[tuple[str, str, str]]:
    pl, inst = rep.plan, rep.inst
    order_runs = dv.runs((orders["supplier"], orders["commodity"], orders["destination"], orders["mode"]),
                         orders["order_day"], orders["arrive_day"], orders["quantity"], orders["cost"],
                         orders["transport_cost"])
    sections = [("orders", "Orders", h.orders_table(order_runs, start) + figures.get("orders", ""))]
    ship = dv.shipments(pl, inst)
    ship_runs = dv.runs((ship["origin"], ship["destination"], ship["commodity"], ship["mode"]),
                        ship["depart_day"], ship["arrive_day"], ship["quantity"]) if len(ship["origin"]) else []
    sections.append(("shipments", "Shipments between nodes", h.shipments_table(ship_runs, start)))
    if "stock" in figures:
        sections.append(("stock", "Stock against floor", figures["stock"]))
    if "unmet" in figures:
        sections.append(("unmet", "Unmet consumption", figures["unmet"]))
    elif pl.stock is not None:
        sections.append(("unmet", "Unmet consumption",
                         '<p class="note">None: the plan meets every consumer\'s demand in full on every day.</p>'))
    rel = pl.summary.get("reliability")
    if isinstance(rel, dict) or pl.reliability is not None or "reliability" in figures:
        body = h.reliability_section(rel if isinstance(rel, dict) else {}, pl.reliability,
                                     pl.summary.get("message")) + rr.section_html(rep)
        sections.append(("reliability", "Reliability certificate", body + figures.get("reliability", "")))
    if rep.ev is not None:
        sections.append(("evaluation", _futures_heading(rep.ev), _evaluation_body(rep) + figures.get("evaluation", "")))
    if rep.sim is not None:  # closed against open loop (report/simulation.py)
        sections.append(_simulation().section(rep.sim, figures))
    groups = dv.binding_groups(pl.shadow_prices) if pl.shadow_prices is not None else None
    sections.append(("binding", "What holds the plan back", h.binding_table(groups, start)))
    sections.append(("details", "Solver details", h.details_section(pl.summary, rep.check)))
    return sections


def _futures_heading(ev: d.EvaluationData) -> str:
    n = ev.summary.get("scenarios")
    return f"Under {n} sampled futures" if isinstance(n, int) else "Under sampled futures"


def _evaluation_body(rep: Report) -> str:
    ev = rep.ev
    assert ev is not None
    k = len(rep.inst.commodities)
    intro = ('<p class="note">Everything in this section is across the sampled futures of the scenario '
             "evaluation (the plan replayed against random demand, outages and delays), not the plan's own "
             "expected-demand figures.</p>")
    note = ""
    if k > 1 and not ev.summary.get("by_commodity"):
        note = ('<p class="note">The evaluation has no per-commodity results, so quantities (summed over '
                "different commodities) are not shown.</p>")
    return (intro + note + '<div class="tables">' + h.kpi_table(ev.summary, commodities=k)
            + h.by_commodity_table(ev.summary) + h.risk_table(ev.summary, commodities=k) + "</div>")


def _failed_sections(rep: Report, start: Any) -> list[tuple[str, str, str]]:
    pl = rep.plan
    items = dv.infeasibility_items(pl.summary, pl.infeasibility)
    relaxed = pl.flows is not None or pl.stock is not None
    body = h.infeasibility_section(pl.summary, items, rep.inst, start, relaxed)
    sections = [("infeasible", "What is infeasible and what would fix it", body)]
    sections.append(("details", "Solver details", h.details_section(pl.summary, None)))
    return sections
