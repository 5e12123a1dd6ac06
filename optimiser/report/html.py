"""HTML for the report page and for notebook summaries (``_repr_html_``).

Everything here is plain strings: no template engine, no scripts, nothing
fetched from the network. Every value from a file is escaped.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from . import data as d

# KPI name -> (label, unit); unit "%" formats a 0..1 value as a percentage.
KPI_LABELS = {
    "demand": ("total demand", "units"),
    "unmet": ("unmet consumption", "units"),
    "fill_rate": ("fill rate", "%"),
    "shortfall_days": ("days with any unmet", "days"),
    "below_floor": ("stock below floor", "unit-days"),
    "breach_days": ("days with any node below floor", "days"),
    "min_floor_ratio": ("lowest stock / floor", "ratio"),
    "cost": ("realised cost", "currency units"),
}
BREAKDOWN_LABELS = {
    "procurement": "procurement (price × quantity ordered)",
    "transport": "transport (lane cost × quantity moved)",
    "holding": "holding (end-of-day stock)",
    "shortfall_penalty": "shortfall penalty (unmet consumption)",
    "readiness_penalty": "readiness penalty (stock below floor)",
}
CONSTRAINT_LABELS = {
    "supplier_capacity": "supplier daily capacity",
    "lane_capacity": "lane daily capacity",
    "contract_max": "contract maximum",
    "contract_min": "contract minimum",
    "budget": "budget",
    "storage": "storage limit",
}

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
"""


# ---------------------------------------------------------------- formatting


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
) -> str:
    """An HTML table; cells are escaped unless given as ``Markup``."""
    numeric = numeric or [False] * len(headers)
    cls = [' class="num"' if n else "" for n in numeric]
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
    return Markup(f'<span class="status status-{s}">{s}</span>')


# ---------------------------------------------------------------- plan tables


def objective_table(summary: Mapping[str, Any]) -> str:
    """The objective and its breakdown, each term with its share."""
    breakdown = _mapping(summary.get("breakdown"))
    objective = summary.get("objective")
    total = objective if isinstance(objective, (int, float)) and objective else sum(
        v for v in breakdown.values() if isinstance(v, (int, float))
    )
    rows = []
    keys = list(BREAKDOWN_LABELS) + [k for k in breakdown if k not in BREAKDOWN_LABELS]
    for k in keys:
        if k not in breakdown:
            continue
        v = breakdown[k]
        share = v / total if isinstance(v, (int, float)) and total else None
        rows.append((BREAKDOWN_LABELS.get(k, k), v, Markup(number(share, "%"))))
    rows.append((Markup("<b>objective</b>"), Markup(f"<b>{number(objective)}</b>"), ""))
    return table(["term", "cost (currency units)", "share"], rows, caption="Objective and breakdown",
                 numeric=[False, True, True])


def totals_table(summary: Mapping[str, Any]) -> str:
    totals = _mapping(summary.get("totals"))
    demand, unmet = totals.get("demand"), totals.get("unmet")
    fill = 1 - unmet / demand if isinstance(demand, (int, float)) and demand and isinstance(unmet, (int, float)) else None
    rows = [
        ("demand", demand, "units"),
        ("unmet consumption", unmet, "units"),
        ("fill rate", Markup(number(fill, "%")), ""),
        ("stock below floor", totals.get("below_floor_unit_days"), "unit-days"),
        ("days with a node below floor", totals.get("days_below_floor"), "days"),
    ]
    rows = [r for r in rows if r[1] is not None and r[1] != Markup("—")]
    return table(["total", "value", "unit"], rows, caption="Plan totals", numeric=[False, True, False]) if rows else ""


def ordered_table(summary: Mapping[str, Any], max_rows: int = 12) -> str:
    ordered = _mapping(_mapping(summary.get("totals")).get("ordered"))
    items = sorted(((str(k), v) for k, v in ordered.items() if isinstance(v, (int, float))), key=lambda kv: -kv[1])
    if not items:
        return ""
    note = f"{len(items) - max_rows} more suppliers not shown." if len(items) > max_rows else None
    return table(["supplier", "ordered (units)"], items[:max_rows], caption="Ordered by supplier",
                 numeric=[False, True], note=note)


def run_table(summary: Mapping[str, Any]) -> str:
    """Solver, model size and timings."""
    rows: list[tuple[str, Any]] = []
    solver = summary.get("solver")
    if isinstance(solver, Mapping):
        rows += [(f"solver {k}", v if isinstance(v, (int, float)) or v is None else str(v)) for k, v in solver.items()]
    elif solver is not None:
        rows.append(("solver", str(solver)))
    check = summary.get("check")
    if isinstance(check, Mapping) and "ok" in check:
        errors = check.get("errors") or []
        verdict = "passed" if check["ok"] else f"FAILED ({len(errors)} problems)"
        tol = check.get("tolerance")
        rows.append(("independent check", verdict + (f" (tolerance {tol:g})" if isinstance(tol, float) else "")))
    rows += [(f"{k}", v) for k, v in _mapping(summary.get("size")).items()]
    rows += [(f"time: {k} (s)", v) for k, v in _mapping(summary.get("timings")).items()]
    return table(["item", "value"], rows, caption="Solver, check, model size and timings",
                 numeric=[False, True]) if rows else ""


def binding_rows(shadow_prices: Any) -> tuple[list[tuple[Any, ...]], int]:
    """Binding constraints, largest shadow price first: (rows, total count)."""
    if shadow_prices is None:
        return [], 0
    c = d.columns(shadow_prices, d.SHADOW_SPEC, table="shadow_prices")
    limit, used, value = c["limit"], c["used"], c["value"]
    tight = np.isfinite(limit) & np.isfinite(used) & (np.abs(used - limit) <= 1e-6 * np.maximum(1.0, np.abs(limit)))
    keep = np.flatnonzero((np.abs(value) > 1e-12) | tight)
    keep = keep[np.argsort(-np.abs(value[keep]), kind="stable")]
    rows = [
        (
            CONSTRAINT_LABELS.get(c["constraint"][i], c["constraint"][i]),
            c["name"][i] or _describe(c, i),
            c["day"][i] if c["day"][i] >= 0 else "",
            limit[i],
            used[i],
            Markup(number(value[i])),
        )
        for i in keep
    ]
    return rows, len(keep)


def _describe(c: d.Columns, i: int) -> str:
    parts = [c[k][i] for k in ("supplier", "origin", "destination", "node", "commodity", "mode") if c[k][i]]
    return " · ".join(parts)


def shadow_table(shadow_prices: Any, max_rows: int = 20) -> str:
    rows, n = binding_rows(shadow_prices)
    if shadow_prices is None:
        return '<p class="note">The plan has no shadow prices (no shadow_prices table).</p>'
    if not rows:
        return '<p class="note">No constraint binds: no limit holds the plan back.</p>'
    note = f"{n - max_rows} more binding constraints not shown (smallest shadow prices)." if n > max_rows else None
    return table(
        ["constraint", "what", "day", "limit", "used", "shadow price (currency units per unit)"],
        rows[:max_rows],
        caption="Binding constraints, largest shadow price first",
        numeric=[False, False, True, True, True, True],
        note=note,
    )


# ---------------------------------------------------------------- evaluation tables


def kpi_table(summary: Mapping[str, Any]) -> str:
    stats = d.kpi_stats(summary)
    if not stats:
        return '<p class="note">The evaluation summary has no KPI statistics.</p>'
    rows = []
    for k, s in stats.items():
        label, unit = KPI_LABELS.get(k, (k, ""))
        u = "%" if unit == "%" else ""
        rows.append((label, "" if unit == "%" else unit,
                     *(Markup(number(s.get(q), u)) for q in ("mean", "sd", "p5", "p50", "p95"))))
    return table(["KPI (per scenario)", "unit", "mean", "sd", "p5", "p50", "p95"], rows,
                 caption="Scenario KPIs", numeric=[False, False, True, True, True, True, True])


def risk_table(summary: Mapping[str, Any]) -> str:
    rows = [
        ("probability of any shortfall (unmet > 0)", Markup(number(summary.get("p_any_shortfall"), "%"))),
        ("probability of any floor breach", Markup(number(summary.get("p_any_breach"), "%"))),
        ("CVaR95 of unmet (mean of the worst 5%, units)", summary.get("unmet_cvar95")),
        ("scenarios", summary.get("scenarios")),
        ("seed", summary.get("seed")),
    ]
    params = _mapping(summary.get("params"))
    rows += [(f"parameter {k}", v if isinstance(v, (int, float)) else str(v)) for k, v in params.items()]
    return table(["measure", "value"], rows, caption="Risk across scenarios", numeric=[False, True])


# ---------------------------------------------------------------- notebook summaries


def _wrap(title: str, body: str) -> str:
    return f'<div class="optimiser-summary"><style>{CSS}</style><p><b>{escape(title)}</b></p>{body}</div>'


def plan_html(summary: Mapping[str, Any], *, shadow_prices: Any = None, title: str = "Plan", max_rows: int = 8) -> str:
    """Compact HTML summary of a plan, for ``Plan._repr_html_``.

    ``summary`` is the dict of ``PLAN/summary.json``; ``shadow_prices`` the
    optional shadow price table (pyarrow Table or dict of columns).
    """
    head = f"<p>{status_badge(summary.get('status'))} objective <b>{number(summary.get('objective'))}</b> currency units</p>"
    parts = [head, '<div style="display:flex;flex-wrap:wrap;gap:0 2em">', objective_table(summary),
             totals_table(summary), ordered_table(summary, max_rows), "</div>"]
    if shadow_prices is not None:
        parts.append(shadow_table(shadow_prices, max_rows))
    return _wrap(title, "".join(parts))


def evaluation_html(summary: Mapping[str, Any], *, title: str = "Scenario evaluation") -> str:
    """Compact HTML summary of an evaluation, for ``Evaluation._repr_html_``.

    ``summary`` is the dict of ``EVAL/summary.json`` (KPIs nested under
    "kpis" or at the top level).
    """
    return _wrap(title, kpi_table(summary) + risk_table(summary))


# ---------------------------------------------------------------- the page


def figure_html(png: bytes, *, alt: str, caption: str, width: int | None = None, height: int | None = None) -> str:
    """A <figure> with the PNG inline as a data: URI."""
    size = f' width="{width}" height="{height}"' if width and height else ""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<figure><img src="{src}" alt="{escape(alt)}"{size}><figcaption>{caption}</figcaption></figure>'


def fact(label: str, value: str) -> str:
    return f'<div class="fact">{escape(label)}<b>{value}</b></div>'


def page(title: str, facts: Sequence[str], sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole report: header facts, a table of contents, then (id, heading, body) sections.

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
        f'<div class="facts">{"".join(facts)}</div><nav>{nav}</nav>{body}</body></html>\n'
    )
