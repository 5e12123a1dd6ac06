"""HTML for the report page and for notebook summaries (``_repr_html_``).

Everything here is plain strings: no template engine, no scripts, nothing
fetched from the network. Every value from a file is escaped, and names
have their control characters shown as escapes.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape as _html_escape
from typing import Any

import numpy as np

from . import data as d
from .text import safe
from .vocabulary import PLAN_STATUSES, QUANTITY_KPIS, breakdown_label, kpi_label, status_meaning

CSS = """
.optimiser-summary{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:13px;color:#222;max-width:60em}
.optimiser-summary table{border-collapse:collapse;margin:.4em 0 1em}
.optimiser-summary caption{text-align:left;font-weight:600;padding:.2em 0}
.optimiser-summary th,.optimiser-summary td{padding:.2em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.optimiser-summary th{background:#f3f3f3}
.optimiser-summary td.num,.optimiser-summary th.num{text-align:right;font-variant-numeric:tabular-nums}
.optimiser-summary .note{color:#666;font-size:.92em}
.optimiser-summary .status{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;background:#777}
.optimiser-summary .status-optimal{background:#2a7d2a}.optimiser-summary .status-feasible{background:#b07d00}
.optimiser-summary .status-infeasible,.optimiser-summary .status-error,.optimiser-summary .status-no_solution{background:#b22222}
"""

PAGE_CSS = """
body{margin:0 auto;padding:1em 2em 3em;max-width:1400px;background:#fff}
h1{font-size:1.6em;margin:.3em 0}
h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:2px solid #1f77b4;padding-bottom:.15em}
nav a{margin-right:1.2em}
.facts{display:flex;flex-wrap:wrap;gap:.8em;margin:.8em 0}
.fact{border:1px solid #ddd;border-radius:4px;padding:.4em .8em;min-width:9em}
.fact b{display:block;font-size:1.3em}
figure{margin:.6em 0 1.4em}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;max-width:60em;margin-top:.3em}
.how{max-width:60em}
.tables{display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start}
td{white-space:nowrap}
td.wrap{white-space:normal;min-width:14em}
.banner{border-left:6px solid #b22222;background:#fdf0f0;padding:.6em 1em;margin:.8em 0;max-width:60em}
.banner.ok{border-color:#2a7d2a;background:#f0f8f0}
.banner h2{border:none;margin:.2em 0;font-size:1.2em}
.futures{border:1px dashed #1f77b4;border-radius:4px;padding:.3em 1em;margin:.8em 0;max-width:75em}
.futures h3{margin:.3em 0;font-size:1em;color:#1f5f99}
details{margin:1em 0}
summary{cursor:pointer;font-weight:600}
ul.fixes{margin:.2em 0 .6em 1.2em;padding:0}
"""


# ---------------------------------------------------------------- formatting


def escape(text: Any) -> str:
    """HTML-escaped text with control characters shown as escapes."""
    return _html_escape(safe(text))



def number(x: Any, unit: str = "") -> str:
    """A number for a table cell: thousands separated, '—' when missing."""
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        return "—" if x is None else escape(str(x))
    x = float(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if unit == "%":
        if 0.999 <= x < 1 - 5e-7:
            return f"{100 * x:.3f}%"  # never round a shortfall up to 100.0%
        if 0 < x < 5e-4:
            return "<0.1%"  # never round a cost term or a probability down to 0.0%
        return f"{100 * x:.1f}%"
    if abs(x) >= 100 or x == int(x):
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    numeric: Sequence[bool] | None = None,
    note: str | None = None,
    wrap: Sequence[bool] | None = None,
) -> str:
    """An HTML table; cells are escaped unless given as ``Markup``. Cells do not wrap unless ``wrap``."""
    numeric = numeric or [False] * len(headers)
    wrap = wrap or [False] * len(headers)
    cls = [' class="num"' if n else ' class="wrap"' if w else "" for n, w in zip(numeric, wrap)]
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th{c}>{escape(h)}</th>" for h, c in zip(headers, cls)) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td{c}>{_cell(v)}</td>" for v, c in zip(row, cls)) + "</tr>")
    out.append("</tbody></table>")
    if note:
        out.append(f'<p class="note">{escape(note)}</p>')
    return "".join(out)


class Markup(str):
    """A string that is already HTML and must not be escaped again."""


def _cell(v: Any) -> str:
    if isinstance(v, Markup):
        return str(v)
    if isinstance(v, str):
        return escape(v)
    return number(v)


def _mapping(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def status_badge(status: Any) -> Markup:
    s = escape(str(status or "unknown"))
    cls = s if s in ("optimal", "feasible", "infeasible", "no_solution", "error") else "unknown"
    return Markup(f'<span class="status status-{cls}">{s}</span>')


# ---------------------------------------------------------------- plan tables


def breakdown_table(summary: Mapping[str, Any]) -> str:
    """The plan's cost (the objective) and its terms, each with its share. Money may be summed."""
    breakdown = _mapping(summary.get("breakdown"))
    objective = summary.get("objective")
    total = objective if isinstance(objective, (int, float)) and objective else sum(
        v for v in breakdown.values() if isinstance(v, (int, float))
    )
    rows = []
    for k, v in breakdown.items():
        share = v / total if isinstance(v, (int, float)) and total else None
        rows.append((breakdown_label(k), v if isinstance(v, (int, float)) else None, Markup(number(share, "%"))))
    rows.append((Markup("<b>total cost (objective)</b>"), Markup(f"<b>{number(objective)}</b>"), ""))
    return table(["cost term", "currency units", "share"], rows, caption="Cost of the plan",
                 numeric=[False, True, True])


def headline_table(lines: Sequence[Any], *, max_suppliers: int = 6) -> str:
    """Per commodity: demand, unmet, fill rate, readiness, what was bought from whom and its cost."""
    rows = []
    for ln in lines:
        bought = "; ".join(f"{safe(s)} {number(q)}" for s, q in ln.bought[:max_suppliers])
        if len(ln.bought) > max_suppliers:
            bought += f"; {len(ln.bought) - max_suppliers} more suppliers"
        if not ln.has_floor:
            readiness = "no floor"
        elif ln.days_below_floor == 0:
            readiness = "never below floor"
        else:
            readiness = (f"{number(ln.below_floor_unit_days)} unit-days below floor on "
                         f"{ln.days_below_floor} day{'s' if ln.days_below_floor != 1 else ''}")
        rows.append((ln.commodity, ln.demand, ln.unmet,
                     Markup(number(ln.fill_rate, "%")) if ln.demand > 0 else "no demand",
                     readiness, bought or "nothing", ln.spend))
    return table(
        ["commodity", "demand (units)", "unmet (units)", "fill rate", "readiness", "bought (units, from whom)",
         "procurement cost"],
        rows, caption="The plan, per commodity", numeric=[False, True, True, True, False, False, True],
        wrap=[False, False, False, False, True, True, False],
    )


def _money(x: float) -> Any:
    return x if np.isfinite(x) else None


def orders_table(runs: Sequence[Any], start: Any, *, max_rows: int = 40) -> str:
    """The order schedule; consecutive days with the same quantity are one row."""
    from .derive import days_text

    if not runs:
        return '<p class="note">The plan orders nothing.</p>'
    ordered = sorted(runs, key=lambda r: (r.first, r.key))
    rows = [
        (r.key[0], r.key[1], r.key[2], r.key[3] or "—", days_text(r.first, r.last, start),
         days_text(r.first + r.lead, r.last + r.lead, start), r.per_day, r.total, _money(r.money),
         _money(r.transport))
        for r in ordered[:max_rows]
    ]
    note = "Consecutive order days with the same quantity are one row. "
    if len(ordered) > max_rows:
        note += (f"{len(ordered) - max_rows} more rows not shown: every order is in the plan's orders table "
                 "(optimiser show PLAN orders).")
    return table(
        ["supplier", "commodity", "to", "mode", "order day(s)", "arrives", "units per day", "units in all",
         "cost (price)", "transport cost"],
        rows, caption="What to order, from whom, when", note=note,
        numeric=[False, False, False, False, False, False, True, True, True, True],
    )


def shipments_table(runs: Sequence[Any], start: Any, *, max_rows: int = 30) -> str:
    from .derive import days_text

    if not runs:
        return '<p class="note">The plan moves nothing between nodes.</p>'
    ordered = sorted(runs, key=lambda r: (r.first, r.key))
    rows = [
        (r.key[0], r.key[1], r.key[2], r.key[3] or "—", days_text(r.first, r.last, start),
         days_text(r.first + r.lead, r.last + r.lead, start), r.per_day, r.total)
        for r in ordered[:max_rows]
    ]
    note = "Consecutive days with the same quantity are one row. "
    if len(ordered) > max_rows:
        note += (f"{len(ordered) - max_rows} more rows not shown: every shipment is in flows "
                 "(optimiser show PLAN shipments).")
    return table(["from", "to", "commodity", "mode", "departs", "arrives", "units per day", "units in all"],
                 rows, note=note,
                 numeric=[False] * 6 + [True, True])


def _range(lo: float, hi: float) -> Any:
    if not np.isfinite(lo):
        return None
    return lo if abs(hi - lo) <= 1e-9 * max(1.0, abs(hi)) else Markup(f"{number(lo)} – {number(hi)}")


def binding_table(groups: Sequence[Any], start: Any, *, max_rows: int = 25) -> str:
    from .derive import ranges_text
    from .vocabulary import constraint_label

    if groups is None:
        return '<p class="note">The plan has no shadow prices (no shadow_prices table).</p>'
    if not groups:
        return '<p class="note">No limit binds: nothing holds the plan back.</p>'
    rows = [
        (constraint_label(g.constraint), g.what,
         ranges_text(g.ranges, start) if g.ranges else "whole horizon",
         g.days if g.ranges else "", _range(g.limit_lo, g.limit_hi), _range(g.value_lo, g.value_hi))
        for g in groups[:max_rows]
    ]
    note = ("Shadow price: how much the plan's cost would fall for one more unit of the limit (one more unit of "
            "capacity that day, of the contract maximum, of budget, of storage; one unit less of a contract "
            "minimum or of a hard floor). One row per limit; consecutive days are grouped into ranges.")
    if len(groups) > max_rows:
        note += f" {len(groups) - max_rows} more rows not shown (smaller shadow prices)."
    return table(["limit", "on", "days", "binding days", "limit value", "shadow price (currency units per unit)"],
                 rows, note=note,
                 numeric=[False, False, False, True, True, True])


def check_banner(check: Any) -> str:
    """The verdict of the independent checker run by the report, with what failed."""
    if check is None:
        return ""
    if isinstance(check, str):  # the checker could not run
        return (f'<div class="banner"><h2>check FAILED</h2><p>The plan cannot be checked against the instance: '
                f"{escape(check)}</p></div>")
    if check.ok:
        return ""
    items = [escape(e) for e in check.errors]
    items += [f"{escape(v.kind)}: {v.amount:.3g} (relative) at {escape(v.where)}, {v.count} place(s)"
              for v in sorted(check.violations.values(), key=lambda v: -v.amount) if v.count]
    return ('<div class="banner"><h2>check FAILED: this plan breaks its instance</h2>'
            "<p>The independent checker, run on the plan files by this report, found:</p><ul>"
            + "".join(f"<li>{i}</li>" for i in items)
            + "</ul><p>Do not act on the figures below: they show what the files say, not a valid plan.</p></div>")


def check_fact(check: Any) -> str:
    if check is None:
        return "not run"
    if isinstance(check, str) or not check.ok:
        return '<span class="status status-error">FAILED</span>'
    return f'<span class="status status-optimal">passed</span> <small>(tolerance {check.tolerance:g})</small>'


def infeasibility_section(summary: Mapping[str, Any], items: Sequence[Any], inst: Any, start: Any,
                          relaxed: bool) -> str:
    """What is infeasible and what would fix it; for a plan that is not optimal or feasible."""
    from .derive import days_text, fixes, why
    from .vocabulary import requirement_label

    status = str(summary.get("status", "unknown"))
    parts = [f'<div class="banner"><h2>There is no plan to act on: status {escape(status)}</h2>'
             f"<p>{escape(status_meaning(status)[:1].upper() + status_meaning(status)[1:])}.</p>"]
    message = summary.get("message")
    if isinstance(message, str) and message and not items:  # with items, the message repeats the first
        parts.append(f"<p>The solver says: {escape(message)}</p>")
    if relaxed:
        parts.append("<p>The plan files hold the relaxed plan in which the requirements below give way; it is "
                     "not drawn here, because it breaks them.</p>")
    parts.append("</div>")
    if items:
        rows = []
        for q in items:
            where = " · ".join(safe(x) for x in (q.node or q.supplier, q.commodity) if x) or "—"
            rows.append((requirement_label(q.requirement), where,
                         days_text(q.first, q.last, start) if q.first >= 0 else "whole horizon", q.violation))
        parts.append(table(["requirement", "where", "days", "short by (most over those days)"], rows,
                           caption="What must give way, largest first", numeric=[False, False, False, True]))
        fix_html = []
        for q in items[:12]:
            where = " · ".join(safe(x) for x in (q.node or q.supplier, q.commodity) if x)
            head = f"{requirement_label(q.requirement)} {where}".strip()
            reason = q.why or why(q, inst, start)  # the engine's explanation first
            because = f" Why: {escape(reason)}." if reason else ""
            if q.fix:
                options = f"<li>{escape(q.fix)}</li>"
            else:
                options = "".join(f"<li>{_html_escape(f)}</li>" for f in fixes(q, inst, start))
            fix_html.append(f"<li><b>{escape(head)}</b>.{because} What would fix it:"
                            f"<ul class=\"fixes\">{options}</ul></li>")
        more = f"<p class=\"note\">{len(items) - 12} more items in the table above.</p>" if len(items) > 12 else ""
        parts.append(f"<h3>What would fix it</h3><ul>{''.join(fix_html)}</ul>{more}")
    elif status == "infeasible":
        parts.append('<p class="note">The plan directory explains nothing more (no infeasibility items).</p>')
    elif status == "no_solution":
        parts.append("<p>Raise the time limit (--time-limit) or try another method or solver.</p>")
    return "".join(parts)


def _flat(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flat(f"{prefix} · {k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value) and len(value) <= 8:
            out.append((prefix, ", ".join(v if isinstance(v, str) else number(v) for v in value)))
        else:
            out.append((prefix, f"{len(value)} items"))
    elif isinstance(value, bool):
        out.append((prefix, "yes" if value else "no"))
    elif value is None:
        out.append((prefix, "—"))
    elif isinstance(value, (int, float)):
        out.append((prefix, value))
    else:
        out.append((prefix, str(value)))


def details_section(summary: Mapping[str, Any], check: Any) -> str:
    """Solver, model size, timings and the check, collapsed: they are for the engineer."""
    rows: list[tuple[str, Any]] = []
    for key, title in (("solver", "solver"), ("size", "model size"), ("timings", "time (s)"), ("duals", "duals")):
        if key in summary:
            _flat(title, summary[key], rows)
    if check is not None and not isinstance(check, str):
        rows.append(("independent check (run by this report)", "passed" if check.ok else "FAILED"))
        rows.append(("check · tolerance", check.tolerance))
        if check.objective is not None:
            rows.append(("check · recomputed cost", check.objective))
    body = table(["item", "value"], rows, numeric=[False, True]) if rows else '<p class="note">No details.</p>'
    return f"<details><summary>Solver, model size and timings</summary>{body}</details>"


# ---------------------------------------------------------------- evaluation tables


def kpi_table(summary: Mapping[str, Any], *, commodities: int | None = None) -> str:
    """KPIs across scenarios. Quantities summed over commodities are left out when there are several."""
    stats = d.kpi_stats(summary)
    if commodities is not None and commodities > 1:
        stats = {k: v for k, v in stats.items() if k not in QUANTITY_KPIS}
    if not stats:
        return '<p class="note">The evaluation summary has no KPI statistics.</p>'
    rows = []
    for k, s in stats.items():
        label, unit = kpi_label(k)
        u = "%" if unit == "%" else ""
        rows.append((label, "" if unit == "%" else unit,
                     *(Markup(number(s.get(q), u)) for q in ("mean", "sd", "p5", "p50", "p95"))))
    return table(["KPI (per scenario)", "unit", "mean", "sd", "p5", "p50", "p95"], rows,
                 caption="KPIs across the sampled futures", numeric=[False, False, True, True, True, True, True])


def by_commodity_table(summary: Mapping[str, Any]) -> str:
    """Per commodity: fill rate, unmet and below-floor percentiles, probabilities of shortfall and breach."""
    byk = _mapping(summary.get("by_commodity"))
    if not byk:
        return ""
    rows = []
    for k, s in byk.items():
        s = _mapping(s)
        fill, unmet, below = (_mapping(s.get(x)) for x in ("fill_rate", "unmet", "below_floor"))
        rows.append((k, Markup(number(fill.get("p50"), "%")), Markup(number(fill.get("p5"), "%")),
                     unmet.get("p50"), unmet.get("p95"), below.get("p50"), below.get("p95"),
                     Markup(number(s.get("p_any_shortfall"), "%")), Markup(number(s.get("p_any_breach"), "%"))))
    return table(
        ["commodity", "fill rate p50", "fill rate p5", "unmet p50 (units)", "unmet p95 (units)",
         "below floor p50 (unit-days)", "below floor p95 (unit-days)", "P(any shortfall)", "P(any breach)"],
        rows, caption="Per commodity, across the sampled futures", numeric=[False] + [True] * 8,
    )


def risk_table(summary: Mapping[str, Any], *, commodities: int | None = None) -> str:
    rows = [
        ("probability of any shortfall (unmet > 0)", Markup(number(summary.get("p_any_shortfall"), "%"))),
        ("probability of any floor breach", Markup(number(summary.get("p_any_breach"), "%"))),
    ]
    if commodities is None or commodities <= 1:
        rows.append(("CVaR95 of unmet (mean of the worst 5%, units)", summary.get("unmet_cvar95")))
    rows += [("sampled futures (scenarios)", summary.get("scenarios")), ("seed", summary.get("seed"))]
    params = _mapping(summary.get("params"))
    rows += [(f"parameter {k}", v if isinstance(v, (int, float)) else str(v)) for k, v in params.items()]
    return table(["measure", "value"], rows, caption="Risk across the sampled futures", numeric=[False, True])


# ---------------------------------------------------------------- reliability


def reliability_section(rel: Mapping[str, Any], table_cols: Any, message: Any = None) -> str:
    """The certificate: per protected pair, target, breaches, upper bound, certified."""
    parts = []
    if rel.get("certified") is False:
        why = f" The engine says: {escape(message)}." if isinstance(message, str) and message else ""
        parts.append('<div class="banner"><h2>Not certified</h2><p>This plan does not reach its reliability '
                     f"target on the certification scenarios; the pairs marked \"no\" below hold their floors "
                     f"less often than the target asks.{why}</p></div>")
    if rel:
        target, conf = rel.get("target"), rel.get("confidence")
        certified = rel.get("certified")
        verdict = ('<span class="status status-optimal">certified</span>' if certified is True
                   else '<span class="status status-error">not certified</span>' if certified is False else "—")
        rows = [
            ("target reliability R", rel.get("target")), ("scope", str(rel.get("scope", "—"))),
            ("service target S", rel.get("service")), ("confidence C", conf),
            ("training scenarios", rel.get("train_scenarios")), ("certification scenarios", rel.get("certify_scenarios")),
            ("verdict", Markup(verdict)),
            ("cost of the expected-demand plan", rel.get("baseline_objective")),
            ("extra cost for reliability", rel.get("extra_cost")),
            ("joint upper bound", rel.get("joint_upper_bound")),
        ]
        worst = _mapping(rel.get("worst"))
        if worst:
            rows.append(("worst pair", f"{safe(worst.get('node'))} · {safe(worst.get('commodity'))} "
                                       f"(upper bound {number(worst.get('upper_bound'))})"))
        rows = [r for r in rows if r[1] is not None]
        parts.append(table(["", "value"], rows, caption="Reliability target and verdict", numeric=[False, True]))
        if isinstance(target, (int, float)):
            conf_text = f"{conf:g}" if isinstance(conf, (int, float)) else "C"
            parts.append(
                f'<p class="note">A pair is certified when the one-sided Clopper–Pearson upper bound on its breach '
                f"probability, at confidence {escape(conf_text)} from the certification scenarios (none of which "
                f"the plan was built on), is at most 1 − R = {1 - target:.4g}. The guarantee holds per pair at "
                "that confidence, not jointly across pairs (no correction for the number of pairs).</p>")
    if table_cols is not None and len(table_cols["kind"]):
        c = table_cols
        order = np.lexsort((c["node"], -np.nan_to_num(c["upper_bound"])))
        rows = []
        for i in order:
            where = ("all protected pairs (joint)" if c["kind"][i] == "joint" and not c["node"][i]
                     else f"{safe(c['node'][i])} · {safe(c['commodity'][i])}")
            target = c["target"][i]
            tr = f"{number(c['train_breaches'][i])} of {number(c['train_scenarios'][i])}"
            ce = f"{number(c['certify_breaches'][i])} of {number(c['certify_scenarios'][i])}"
            ok = bool(c["certified"][i])
            rows.append((where, c["kind"][i], target, tr, ce, c["upper_bound"][i],
                         1 - target if np.isfinite(target) else None,
                         Markup('<span class="status status-optimal">yes</span>' if ok
                                else '<span class="status status-error">no</span>'),
                         c["max_buffer"][i]))
        parts.append(table(
            ["protected pair", "event", "target", "breaches in training", "breaches in certification",
             "upper bound U", "allowed (1 − target)", "certified", "largest buffer (units)"],
            rows, caption="Certificate per protected pair, highest upper bound first",
            numeric=[False, False, True, False, False, True, True, False, True],
        ))
    return "".join(parts)


# ---------------------------------------------------------------- notebook summaries


def _wrap(title: str, body: str) -> str:
    return f'<div class="optimiser-summary"><style>{CSS}</style><p><b>{escape(title)}</b></p>{body}</div>'


def _inline_figure(draw: Any, alt: str) -> str:
    """A figure as an inline <img>, or nothing without matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ""
    from . import figures as fg

    fig = draw()
    png = fg.to_png(fig)
    w, hgt = (int(round(v * fig.dpi)) for v in fig.get_size_inches())
    return figure_html(png, alt=alt, caption="", width=w, height=hgt)


def plan_html(plan: Any, *, shadow_prices: Any = None, title: str = "Plan", max_rows: int = 8,
              figure: bool = True) -> str:
    """Compact HTML summary of a plan, for ``Plan._repr_html_``.

    ``plan`` is a ``Plan`` (its summary, stock and shadow prices are used,
    and the worst stock panels are drawn) or the dict of ``PLAN/summary.json``.
    """
    summary = plan if isinstance(plan, Mapping) else _mapping(getattr(plan, "summary", None))
    stock = None if isinstance(plan, Mapping) else getattr(plan, "stock", None)
    if shadow_prices is None and not isinstance(plan, Mapping):
        shadow_prices = getattr(plan, "shadow_prices", None)
    status = summary.get("status")
    head = (f"<p>{status_badge(status)} total cost <b>{number(summary.get('objective'))}</b> currency units</p>")
    parts = [head, '<div style="display:flex;flex-wrap:wrap;gap:0 2em">', breakdown_table(summary),
             totals_table(summary), "</div>"]
    if shadow_prices is not None:
        from .derive import binding_groups

        groups = binding_groups(d.columns(shadow_prices, d.SHADOW_SPEC, table="shadow_prices"))
        parts.append(binding_table(groups, None, max_rows=max_rows))
    if figure and stock is not None and status in PLAN_STATUSES:
        from . import figures as fg

        parts.append(_inline_figure(lambda: fg.stock_figure(stock, top=3), "end-of-day stock against floor"))
    return _wrap(title, "".join(parts))


def totals_table(summary: Mapping[str, Any]) -> str:
    """Per-commodity totals of summary.json (``totals.by_commodity``), or, with one commodity, the totals."""
    totals = _mapping(summary.get("totals"))
    byk = _mapping(totals.get("by_commodity"))
    if byk:
        rows = []
        for k, v in byk.items():
            v = _mapping(v)
            dem, un = v.get("demand"), v.get("unmet")
            fill = 1 - un / dem if isinstance(dem, (int, float)) and dem and isinstance(un, (int, float)) else None
            rows.append((k, v.get("ordered"), dem, un, Markup(number(fill, "%")), v.get("below_floor_unit_days")))
        return table(["commodity", "ordered", "demand", "unmet", "fill rate", "unit-days below floor"], rows,
                     caption="Per commodity (units of each)", numeric=[False] + [True] * 5)
    rows = [("stock below floor (unit-days)", totals.get("below_floor_unit_days")),
            ("days with a node below floor", totals.get("days_below_floor"))]
    rows = [r for r in rows if isinstance(r[1], (int, float))]
    return table(["total", "value"], rows, caption="Readiness", numeric=[False, True]) if rows else ""


def evaluation_html(evaluation: Any, *, title: str = "Scenario evaluation", figure: bool = True) -> str:
    """Compact HTML summary of an evaluation, for ``Evaluation._repr_html_``.

    ``evaluation`` is an ``Evaluation`` (its summary and scenarios; the
    histograms are drawn) or the dict of ``EVAL/summary.json`` (KPIs nested
    under "kpis" or at the top level).
    """
    summary = evaluation if isinstance(evaluation, Mapping) else _mapping(getattr(evaluation, "summary", None))
    scenarios = None if isinstance(evaluation, Mapping) else getattr(evaluation, "scenarios", None)
    by_k = None if isinstance(evaluation, Mapping) else (
        getattr(evaluation, "by_commodity", None) or getattr(evaluation, "scenarios_by_commodity", None))
    n = summary.get("scenarios")
    head = f"<p>Under {escape(n)} sampled futures (seed {escape(summary.get('seed'))}):</p>" if n else ""
    k = len(_mapping(summary.get("by_commodity"))) or None
    body = head + kpi_table(summary, commodities=k) + by_commodity_table(summary) + risk_table(summary, commodities=k)
    if figure and scenarios is not None:
        from . import figures as fg

        body += _inline_figure(lambda: fg.distribution_figure(scenarios, by_k, commodities=k),
                               "outcomes across the sampled futures")
    return _wrap(title, body)


# ---------------------------------------------------------------- the page


def figure_html(png: bytes, *, alt: str, caption: str, width: int | None = None, height: int | None = None) -> str:
    """A <figure> with the PNG inline as a data: URI (``caption`` is HTML)."""
    size = f' width="{width}" height="{height}"' if width and height else ""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure><img src="{src}" alt="{escape(alt)}"{size}>{cap}</figure>'


def fact(label: str, value: str) -> str:
    return f'<div class="fact">{escape(label)}<b>{value}</b></div>'


def page(title: str, top: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole report: the headline (HTML), a table of contents, then (id, heading, body) sections.

    A Content-Security-Policy forbids every fetch but inline images and
    styles, so the page cannot reach the network even by mistake.
    """
    nav = "".join(f'<a href="#{escape(i)}">{escape(h)}</a>' for i, h, _ in sections)
    body = "".join(f'<section id="{escape(i)}"><h2>{escape(h)}</h2>{b}</section>' for i, h, b in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}{PAGE_CSS}</style></head>"
        f'<body class="optimiser-summary" style="max-width:1400px"><h1>{escape(title)}</h1>'
        f"{top}<nav>{nav}</nav>{body}</body></html>\n"
    )
