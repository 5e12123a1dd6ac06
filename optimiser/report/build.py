"""Write the report directory: ``index.html`` plus every figure as a PNG.

The directory is assembled in a temporary directory beside the target and
renamed into place when complete, so a failure never leaves a half-written
report (SPEC section 7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_dir
from . import data as d
from . import figures as fg
from . import html as h


@dataclass(frozen=True)
class FigureSpec:
    file: str
    section: str
    alt: str
    caption: str
    draw: Callable[[], Any]


def write_report(
    instance: str | Path,
    plan: str | Path,
    output: str | Path,
    evaluation: str | Path | None = None,
    *,
    force: bool = False,
    top: int = fg.TOP,
) -> Path:
    """Write the report for a plan (and optionally its evaluation) into ``output``.

    Returns the path of ``index.html``. Raises ReportOutputExists (an
    OutputExistsError) when ``output`` exists and ``force`` is false,
    UsageError when ``output`` would overwrite an input, ReportInputError for
    a missing or malformed input and MissingDependency without matplotlib;
    all are UsageError or InvalidPlanError (CLI exit 2).
    """
    inputs = tuple(Path(p) for p in (instance, plan, evaluation) if p is not None)
    _require_matplotlib()
    inst = d.load_instance(instance)
    pl = d.load_plan(plan)
    ev = None if evaluation is None else d.load_evaluation(evaluation)
    with atomic_dir(output, force=force, protect=inputs) as tmp:
        html = _render(tmp, inst, pl, ev, top)
        (tmp / "index.html").write_text(html, encoding="utf-8")
    return Path(output) / "index.html"


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise d.MissingDependency(fg.MATPLOTLIB_MISSING) from exc


def _render(tmp: Path, inst: d.InstanceData, pl: d.PlanData, ev: d.EvaluationData | None, top: int) -> str:
    T = d.horizon_of(pl.stock, inst)
    specs = _figure_specs(inst, pl, ev, T, top)
    figures: dict[str, str] = {}
    for spec in specs:
        fig = spec.draw()
        png = fg.to_png(fig)
        (tmp / spec.file).write_bytes(png)
        w, hgt = (int(round(v * fig.dpi)) for v in fig.get_size_inches())
        figures[spec.section] = figures.get(spec.section, "") + h.figure_html(
            png, alt=spec.alt, caption=spec.caption, width=w, height=hgt
        )
    return h.page(f"Plan report: {inst.name}", _facts(pl, ev), _sections(pl, ev, figures))


def _figure_specs(
    inst: d.InstanceData, pl: d.PlanData, ev: d.EvaluationData | None, T: int, top: int
) -> list[FigureSpec]:
    specs: list[FigureSpec] = []
    if pl.stock is not None:
        specs.append(FigureSpec(
            "stock.png", "stock", "End-of-day stock against floor per node and commodity",
            "One panel per node and commodity, worst first by unit-days below floor. Blue: the plan's "
            "end-of-day stock; dashed red: the readiness floor; shaded: days the stock ends below the floor.",
            lambda: fg.stock_figure(pl.stock, top=top, horizon=T),
        ))
    if pl.flows is not None:
        specs.append(FigureSpec(
            "procurement.png", "procurement", "Orders by supplier over time and totals against contract limits",
            "Top: units ordered per dispatch day, stacked by supplier, one panel per commodity; hatched "
            "segments are days a supplier ships its full daily capacity (capacity binds). Bottom: each "
            "supplier's total over the horizon (coloured bar) against its capacity over the horizon (grey), "
            "contract minimum (black tick) and maximum (red tick).",
            lambda: fg.procurement_figure(pl.flows, inst.suppliers, capacity=inst.capacity, horizon=T),
        ))
    if pl.stock is not None:
        specs.append(FigureSpec(
            "unmet.png", "unmet", "Unmet consumption by consumer and day",
            "Rows are consumers (node and commodity with demand), most unmet first; colour is the units of "
            "consumption not met that day; white means demand met in full.",
            lambda: fg.unmet_figure(pl.stock, top=top, horizon=T),
        ))
    if ev is not None and ev.scenarios is not None:
        specs.append(FigureSpec(
            "scenarios.png", "evaluation", "Histograms of outcomes across scenarios",
            "How the plan fares across the sampled futures: each bar counts scenarios. Black line: median; "
            "dashed red: 95th percentile (one scenario in twenty is worse).",
            lambda: fg.distribution_figure(ev.scenarios),
        ))
    if ev is not None and ev.fan is not None:
        specs.append(FigureSpec(
            "fan.png", "evaluation", "Fan chart of end-of-day stock across scenarios",
            "One panel per node and commodity, worst first by how far the 5th percentile falls below the "
            "floor. Band: 5th to 95th percentile of end-of-day stock across scenarios; solid: median; dotted: "
            "the plan's stock for expected demand; dashed red: the floor.",
            lambda: fg.fan_figure(ev.fan, pl.stock, top=top, horizon=T),
        ))
    return specs


def _facts(pl: d.PlanData, ev: d.EvaluationData | None) -> list[str]:
    s = pl.summary
    totals = s.get("totals") if isinstance(s.get("totals"), dict) else {}
    demand, unmet = totals.get("demand"), totals.get("unmet")
    facts = [
        h.fact("status", h.status_badge(s.get("status"))),
        h.fact("objective (currency units)", h.number(s.get("objective"))),
    ]
    if isinstance(demand, (int, float)) and demand and isinstance(unmet, (int, float)):
        facts.append(h.fact("fill rate", h.number(1 - unmet / demand, "%")))
    if "below_floor_unit_days" in totals:
        facts.append(h.fact("unit-days below floor", h.number(totals["below_floor_unit_days"])))
    if ev is not None:
        facts.append(h.fact("P(any shortfall)", h.number(ev.summary.get("p_any_shortfall"), "%")))
        facts.append(h.fact("P(any floor breach)", h.number(ev.summary.get("p_any_breach"), "%")))
    return facts


def _sections(pl: d.PlanData, ev: d.EvaluationData | None, figures: dict[str, str]) -> list[tuple[str, str, str]]:
    s = pl.summary
    summary_body = '<div class="tables">' + "".join(
        (h.objective_table(s), h.totals_table(s), h.ordered_table(s), h.run_table(s))
    ) + "</div>"
    if pl.stock is None:
        summary_body += (f'<p class="note">The plan has status {h.escape(str(s.get("status")))} and no flows or '
                         "stock: there is nothing more to draw.</p>")
    sections = [("summary", "Summary", summary_body)]
    if "stock" in figures:
        sections.append(("stock", "Stock against floor", figures["stock"]))
    if "procurement" in figures:
        sections.append(("procurement", "Procurement", figures["procurement"] + h.shadow_table(pl.shadow_prices)))
    if "unmet" in figures:
        sections.append(("unmet", "Unmet consumption", figures["unmet"]))
    if ev is not None:
        body = '<div class="tables">' + h.kpi_table(ev.summary) + h.risk_table(ev.summary) + "</div>"
        sections.append(("evaluation", "Scenario evaluation", body + figures.get("evaluation", "")))
    return sections
