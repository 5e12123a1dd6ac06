"""Figures of a plan and its evaluation, as matplotlib Figure objects.

matplotlib is an optional extra (``pip install 'optimiser[plot]'``): it is
imported inside each function, never at module import. Figures are built
with ``matplotlib.figure.Figure`` on an Agg canvas, not through pyplot, so
no global backend or figure registry is touched: safe in scripts, threads
and notebooks (where a returned Figure displays itself).

Tables may be a ``pyarrow.Table``, a dict of columns or a pandas DataFrame
with the columns of the plan and evaluation files (docs/OUTPUTS.md).
Instances with hundreds of nodes stay readable: each figure shows the
``top`` worst (node, commodity) pairs first and says how many it left out.
Quantities of different commodities are never drawn on one axis: each
commodity has its own panels. Names are drawn as written: ``$`` is not
math, control characters are shown escaped.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..errors import UsageError
from . import data as d
from . import derive
from .text import safe

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..instance import Instance

MATPLOTLIB_MISSING = "matplotlib is not installed: pip install 'optimiser[plot]'"
TOP = 12

STOCK_COLOUR = "#1f77b4"
FLOOR_COLOUR = "#d62728"
PLANNING_COLOUR = "#ff7f0e"
PLAN_COLOUR = "#555555"

F = TypeVar("F", bound=Callable[..., Any])


def literal_text(draw: F) -> F:
    """Draw every text of the figure as written: math parsing off (``$`` is a dollar sign)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            import matplotlib
        except ImportError as exc:
            raise UsageError(MATPLOTLIB_MISSING) from exc
        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            fig = draw(*args, **kwargs)
        _no_math(fig)
        return fig

    return wrapper  # type: ignore[return-value]


def _no_math(fig: Figure) -> None:
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        t.set_parse_math(False)


# ---------------------------------------------------------------- helpers


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise UsageError(MATPLOTLIB_MISSING) from exc
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    # Without pyplot, IPython may not have registered its Figure formatter; this shows it anyway.
    fig._repr_png_ = lambda: to_png(fig)  # type: ignore[attr-defined]
    return fig


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes (names drawn as written)."""
    import matplotlib

    buf = io.BytesIO()
    _no_math(fig)
    # Tick labels made while drawing take the setting from rcParams: drawn as written too.
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def human(x: float, _pos: Any = None) -> str:
    """Short tick label: 1,200 / 45k / 2.3M / 1.1bn."""
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.3g}bn"
    if a >= 1e6:
        return f"{x / 1e6:.3g}M"
    if a >= 1e4:
        return f"{x / 1e3:.3g}k"
    if a >= 100 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _human_axis(axis: Any) -> None:
    """Tick labels in one style per axis, scaled to its largest value: 500 / 1,000 / 10k / 2.5M."""
    from matplotlib.ticker import Formatter

    class Human(Formatter):
        def __call__(self, x: float, pos: Any = None) -> str:
            if x == 0:
                return "0"
            top = max(abs(v) for v in self.axis.get_view_interval()) if self.axis is not None else abs(x)
            for threshold, scale, suffix in ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
                if top >= threshold:
                    return f"{x / scale:,.4g}{suffix}"
            return f"{x:,.0f}" if top >= 10 or x == int(x) else f"{x:.3g}"

    axis.set_major_formatter(Human())


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _left_out(shown: int, total: int, what: str, order: str, plural: str | None = None) -> str:
    """'all 5 pairs' or 'worst 12 of 340 pairs by ...; 328 not shown' (``what`` is a singular noun)."""
    if total <= shown:
        return "the only " + what if total == 1 else f"all {_count(total, what, plural)}"
    return f"worst {shown} of {_count(total, what, plural)} by {order}; {total - shown} not shown"


def _message(fig: Figure, text: str) -> Figure:
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, wrap=True)
    return fig


def _grid(fig: Figure, n: int, ncols: int) -> tuple[list[Axes], int]:
    rows = max(1, math.ceil(n / ncols))
    axes = fig.subplots(rows, ncols, sharex=True, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n], rows


def _label_grid(axes: list[Axes], ncols: int, xlabel: str, ylabel: str) -> None:
    n = len(axes)
    for j, ax in enumerate(axes):
        if j % ncols == 0:
            ax.set_ylabel(ylabel)
        # Bottom-most visible panel of each column carries the x label.
        if j + ncols >= n:
            ax.set_xlabel(xlabel)
            ax.tick_params(labelbottom=True)
        _human_axis(ax.yaxis)
        ax.grid(True, alpha=0.3, linewidth=0.5)
        ax.set_ylim(bottom=0)


def _shade(ax: Axes, days: np.ndarray, mask: np.ndarray, colour: str, label: str | None = None) -> None:
    if mask.any():
        ax.fill_between(
            days, 0, 1, where=mask, step="mid", transform=ax.get_xaxis_transform(),
            color=colour, alpha=0.15, linewidth=0, label=label,
        )


def _legend_handles(*items: tuple[str, dict[str, Any]]) -> tuple[list[Any], list[str]]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    for kind, style in items:
        handles.append(Patch(**style) if kind == "patch" else Line2D([], [], **style))
    return handles, [style["label"] for _, style in items]


# ---------------------------------------------------------------- plan figures


@literal_text
def stock_figure(stock: Any, *, top: int = TOP, ncols: int = 3, horizon: int | None = None) -> Figure:
    """End-of-day stock against the readiness floor, one panel per (node, commodity).

    Panels are the ``top`` pairs with the most unit-days below floor (then
    the most unmet consumption), worst first; days below floor are shaded.
    When the stock table has a ``planning_floor`` column (a reliability
    plan), the floor the plan was made to hold is drawn above the floor.
    """
    c = d.columns(stock, d.STOCK_SPEC, table="stock")
    below = np.where(np.isnan(c["below_floor"]), np.maximum(c["floor"] - c["stock"], 0), c["below_floor"])
    pairs = d.group_pairs(c["node"], c["commodity"])
    T = horizon or (int(c["day"].max()) + 1 if len(c["day"]) else 0)
    chosen, _ = d.worst_first(pairs.total(below), pairs.total(c["unmet"]), top=top)
    ncols = max(1, min(ncols, len(chosen)))
    rows = max(1, math.ceil(len(chosen) / ncols))
    fig = _figure(4.4 * ncols + 0.6, 1.3 + 2.4 * rows)
    if not len(chosen):
        return _message(fig, "The plan has no stock rows.")
    days = np.arange(T)
    stock_m = pairs.series(c["day"], c["stock"], T)
    floor_m = pairs.series(c["day"], c["floor"], T)
    planning_m = pairs.series(c["day"], c["planning_floor"], T)
    below_m = pairs.series(c["day"], below, T, fill=0.0)
    breach_m = below_m > 1e-6 * np.maximum(1.0, np.nan_to_num(floor_m))
    axes, _ = _grid(fig, len(chosen), ncols)
    marker = "o" if T <= 45 else None
    any_planning = False
    for ax, i in zip(axes, chosen):
        _shade(ax, days, breach_m[i], FLOOR_COLOUR)
        ax.plot(days, stock_m[i], color=STOCK_COLOUR, marker=marker, markersize=2.5, linewidth=1.4)
        has_floor = bool(np.nan_to_num(floor_m[i]).any())
        if has_floor:
            ax.plot(days, floor_m[i], color=FLOOR_COLOUR, linestyle="--", linewidth=1.2, drawstyle="steps-mid")
        raised = np.nan_to_num(planning_m[i] - np.nan_to_num(floor_m[i])) > 1e-9
        if raised.any():
            any_planning = True
            ax.plot(days, planning_m[i], color=PLANNING_COLOUR, linestyle="-.", linewidth=1.2,
                    drawstyle="steps-mid")
        total = below_m[i][breach_m[i]].sum()
        sub = (f"{human(total)} unit-days below floor" if total > 0 else "never below floor" if has_floor
               else "no floor")
        ax.set_title(f"{pairs.label(i)}\n{sub}", fontsize=9.5)
    _label_grid(axes, ncols, "day", "stock (units)")
    items = [
        ("line", {"color": STOCK_COLOUR, "marker": marker, "markersize": 3, "label": "end-of-day stock"}),
        ("line", {"color": FLOOR_COLOUR, "linestyle": "--", "label": "readiness floor"}),
        ("patch", {"color": FLOOR_COLOUR, "alpha": 0.15, "label": "day below floor"}),
    ]
    if any_planning:
        items.insert(2, ("line", {"color": PLANNING_COLOUR, "linestyle": "-.",
                                  "label": "planning floor (floor + reliability buffer)"}))
    handles, labels = _legend_handles(*items)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(items), frameon=False)
    fig.suptitle(
        "Stock against floor: " + _left_out(len(chosen), len(pairs), "node·commodity pair", "unit-days below floor"),
        fontsize=11,
    )
    return fig


@literal_text
def unmet_figure(stock: Any, *, top: int = TOP, horizon: int | None = None) -> Figure:
    """Heatmap of unmet consumption by consumer (node, commodity with demand) and day."""
    c = d.columns(stock, d.STOCK_SPEC, table="stock")
    pairs = d.group_pairs(c["node"], c["commodity"])
    T = horizon or (int(c["day"].max()) + 1 if len(c["day"]) else 0)
    demand, unmet = pairs.total(c["demand"]), pairs.total(c["unmet"])
    consumers = np.flatnonzero(demand > 0)
    short = consumers[unmet[consumers] > 1e-9]
    chosen, _ = d.worst_first(unmet[short], top=top)
    chosen = short[chosen]
    fig = _figure(11.0, 1.9 + 0.38 * max(len(chosen), 2))
    if not len(chosen):
        what = f"all {len(consumers)} consumers" if len(consumers) else "no consumer has demand"
        return _message(fig, f"No unmet consumption: {what}; demand met in full every day.")
    matrix = pairs.series(c["day"], c["unmet"], T, fill=0.0)[chosen]
    ax = fig.subplots()
    from matplotlib import colormaps

    cmap = colormaps["Reds"].with_extremes(bad="white")
    # One colour scale per commodity would need one axis each; the scale here is the share of
    # that consumer's demand of the day, comparable across commodities.
    dem = np.maximum(pairs.series(c["day"], c["demand"], T, fill=0.0)[chosen], 1e-12)
    share = np.where(matrix > 1e-9, np.minimum(matrix / dem, 1.0), np.nan)
    image = ax.imshow(
        np.ma.masked_invalid(share), aspect="auto", cmap=cmap, interpolation="nearest",
        vmin=0, vmax=1, extent=(-0.5, T - 0.5, len(chosen) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(chosen)))
    ax.set_yticklabels(
        [f"{pairs.label(i)}  ({human(unmet[i])} units, {100 * unmet[i] / demand[i]:.1f}% of demand)" for i in chosen],
        fontsize=8.5,
    )
    ax.set_xlabel("day")
    ax.set_xlim(-0.5, T - 0.5)
    bar = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.04)
    bar.set_label("unmet share of the day's demand")
    bar.ax.yaxis.set_major_formatter(_percent_formatter())
    met = len(consumers) - len(short)
    note = _left_out(len(chosen), len(short), "consumer with unmet demand", "total unmet",
                     "consumers with unmet demand")
    ax.set_title(
        f"Unmet consumption by consumer and day (white: demand met in full)\n{note}; "
        f"{_count(met, 'consumer')} fully supplied",
        fontsize=10.5,
    )
    return fig


def _percent_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{100 * x:.0f}%")


@literal_text
def procurement_figure(
    orders: Any,
    instance: Instance,
    *,
    horizon: int | None = None,
    top_suppliers: int = 8,
    top_commodities: int = 4,
) -> Figure:
    """Orders by supplier over time and totals against contract limits, one row per commodity.

    ``orders`` has the columns of the orders table (supplier, commodity,
    order_day, quantity); ``instance`` gives capacities and contracts. Left:
    units ordered per order day, stacked by supplier; segments are hatched on
    the days a supplier ships its full daily capacity. Right: each supplier's
    total against its contract minimum and maximum and its capacity over the
    horizon. Each commodity has its own axes (its own unit).
    """
    o = d.columns(orders, d.ORDERS_SPEC, table="orders")
    T = int(horizon or instance.horizon)
    p = derive.procurement(o, instance, T)
    totals = p.ordered.sum(axis=1)
    # commodities something was ordered of (or that a contract minimum obliges to order)
    commodities = [k for k in dict.fromkeys(p.commodity.tolist())
                   if totals[p.commodity == k].sum() > 0 or p.contract_min[p.commodity == k].sum() > 0]
    commodities.sort(key=lambda k: (-totals[p.commodity == k].sum(), k))
    shown_k = commodities[:top_commodities]
    fig = _figure(12.5, 1.0 + 3.0 * max(len(shown_k), 1))
    if not totals.any():
        return _message(fig, "The plan orders nothing from any supplier.")
    axes = fig.subplots(len(shown_k), 2, squeeze=False, width_ratios=(2.4, 1.0))
    colours = _supplier_colours(p.supplier, totals)
    # Long horizons: one bar per `width` days (the mean units/day over them), else bars blur together.
    width = 1 if T <= 90 else 7 if T <= 630 else 30
    edges = np.arange(0, T, width)
    if len(edges) > 1 and T - edges[-1] < width / 2:
        edges = edges[:-1]  # fold a short last period into the one before
    span = np.diff(np.r_[edges, T])  # days per bar; the last may be short
    ordered = np.add.reduceat(p.ordered, edges, axis=1) / span
    binds = np.add.reduceat(p.capacity_binds().astype(float), edges, axis=1) / span >= 0.5
    x, bar_w = edges + (span - 1) / 2, 0.85 * span
    per = "order day" if width == 1 else f"{width}-day period"
    cap_label = "at daily capacity" if width == 1 else "at daily capacity on most days"
    for (ax, cax), k in zip(axes, shown_k):
        rows = np.flatnonzero(p.commodity == k)
        rows = rows[np.argsort(-totals[rows], kind="stable")]
        bought = rows[totals[rows] > 0]  # the legend lists only suppliers that ordered this commodity
        main, rest = bought[:top_suppliers], bought[top_suppliers:]
        bottom = np.zeros(len(edges))
        for i in main:
            ax.bar(x, ordered[i], bottom=bottom, width=bar_w, color=colours[p.supplier[i]],
                   label=safe(p.supplier[i]))
            hit = binds[i]
            if hit.any():
                ax.bar(x[hit], ordered[i][hit], bottom=bottom[hit], width=bar_w[hit], facecolor="none",
                       edgecolor="black", hatch="////", linewidth=0)
            bottom += ordered[i]
        if len(rest):
            ax.bar(x, ordered[rest].sum(axis=0), bottom=bottom, width=bar_w, color="#bbbbbb",
                   label=f"{len(rest)} other suppliers")
        handles, labels = ax.get_legend_handles_labels()
        if len(main) and binds[main].any():
            handles += _legend_handles(("patch", {"facecolor": "white", "edgecolor": "black", "hatch": "////",
                                                  "label": cap_label}))[0]
            labels.append(cap_label)
        if handles:
            ax.legend(handles, labels, loc="upper right", fontsize=8, title="supplier", title_fontsize=8,
                      framealpha=0.85)
        ax.set_title(f"Orders of {safe(k)} by {per}", fontsize=10.5, loc="left")
        ax.set_ylabel(f"{safe(k)} ordered\n(units/day)" if width == 1
                      else f"{safe(k)} ordered\n(units/day, {width}-day mean)")
        ax.set_xlabel("order day")
        ax.set_xlim(-0.7, T - 0.3)
        _human_axis(ax.yaxis)
        ax.grid(True, axis="y", alpha=0.3, linewidth=0.5)
        with_contract = rows[(totals[rows] > 0) | (p.contract_min[rows] > 0) | np.isfinite(p.contract_max[rows])]
        _contract_panel(cax, p, with_contract, colours, k)
    left = len(commodities) - len(shown_k)
    title = "Procurement by supplier, per commodity"
    if left:
        title += f" ({len(shown_k)} of {len(commodities)} commodities with most ordered; {left} not shown)"
    fig.suptitle(title, fontsize=11)
    return fig


def _supplier_colours(names: np.ndarray, totals: np.ndarray) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors + colormaps["Dark2"].colors
    by_total: dict[str, float] = {}
    for n, t in zip(names.tolist(), totals.tolist()):
        by_total[n] = by_total.get(n, 0.0) + t
    ranked = sorted(by_total, key=lambda n: (-by_total[n], n))
    return {n: palette[j % len(palette)] for j, n in enumerate(ranked)}


def _contract_panel(ax: Axes, p: derive.Procurement, rows: np.ndarray, colours: dict[str, Any],
                    commodity: str) -> None:
    if not len(rows):
        ax.set_axis_off()
        return
    ordered = p.ordered.sum(axis=1)
    horizon_cap = np.where(np.isfinite(p.capacity), p.capacity, np.nan).sum(axis=1)
    finite_cap = np.isfinite(p.capacity).all(axis=1)
    y = np.arange(len(rows))
    cap_rows = finite_cap[rows]
    ax.barh(y[cap_rows], horizon_cap[rows][cap_rows], height=0.7, color="#e6e6e6", label="capacity over horizon")
    ax.barh(y, ordered[rows], height=0.45, color=[colours[p.supplier[i]] for i in rows])
    lo, hi = p.contract_min[rows], p.contract_max[rows]
    has_lo, has_hi = lo > 0, np.isfinite(hi)
    ax.plot(lo[has_lo], y[has_lo], linestyle="none", marker="|", markersize=18, markeredgewidth=3,
            color="black", label="contract minimum", zorder=4)
    ax.plot(hi[has_hi], y[has_hi], linestyle="none", marker="|", markersize=18, markeredgewidth=3,
            color=FLOOR_COLOUR, label="contract maximum", zorder=4)
    xmax = max(np.nanmax(np.r_[ordered[rows], horizon_cap[rows][cap_rows], hi[has_hi], lo, 1.0]) * 1.25, 1.0)
    for yy, i in zip(y, rows):
        tol = 1e-6 * max(1.0, ordered[i])
        notes = []
        if np.isfinite(p.contract_max[i]) and ordered[i] > p.contract_max[i] + tol:
            notes.append("over max")
        elif np.isfinite(p.contract_max[i]) and ordered[i] >= p.contract_max[i] - tol:
            notes.append("at max")
        if p.contract_min[i] > 0 and ordered[i] < p.contract_min[i] - tol:
            notes.append("under min")
        elif p.contract_min[i] > 0 and ordered[i] <= p.contract_min[i] + tol:
            notes = ["min = max"] if notes == ["at max"] else [*notes, "at min"]
        text = f" {human(ordered[i])}" + (f" ({', '.join(notes)})" if notes else "")
        ticks = [v for v in (p.contract_min[i], p.contract_max[i]) if np.isfinite(v) and v > 0]
        at = max([ordered[i]] + [v for v in ticks if abs(v - ordered[i]) <= 0.03 * xmax])
        ax.annotate(text, (at, yy), xytext=(6, -1), textcoords="offset points", va="center", fontsize=8,
                    fontweight="bold" if notes else "normal")
    ax.set_yticks(y)
    ax.set_yticklabels([safe(p.supplier[i]) for i in rows], fontsize=8.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(f"{safe(commodity)} ordered over the horizon (units)")
    ax.set_xlim(0, xmax)
    _human_axis(ax.xaxis)
    ax.grid(True, axis="x", alpha=0.3, linewidth=0.5)
    ax.set_title("Totals against contract limits", fontsize=10, loc="left")
    if any(ax.get_legend_handles_labels()[1]):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncols=2, fontsize=7.5, frameon=False)


# ---------------------------------------------------------------- evaluation figures


@literal_text
def fan_figure(fan: Any, stock: Any = None, *, top: int = TOP, ncols: int = 3, horizon: int | None = None) -> Figure:
    """Fan chart of end-of-day stock across scenarios, one panel per (node, commodity).

    Draws the p5–p95 band, the median, the floor and (when ``stock`` is
    given) the plan's own stock and planning floor. Panels are the pairs
    whose p5 falls furthest below the floor (unit-days), worst first.
    """
    c = d.columns(fan, d.FAN_SPEC, table="fan")
    pairs = d.group_pairs(c["node"], c["commodity"])
    T = horizon or (int(c["day"].max()) + 1 if len(c["day"]) else 0)
    p5, p50, p95 = (pairs.series(c["day"], c[k], T) for k in ("p5", "p50", "p95"))
    floor = np.zeros_like(p5)
    planning = np.full_like(p5, np.nan)
    plan = None
    if stock is not None:
        s = d.columns(stock, d.STOCK_SPEC, table="stock")
        lookup = {(n, k): i for i, (n, k) in enumerate(zip(pairs.node, pairs.commodity))}
        idx = np.fromiter((lookup.get((n, k), -1) for n, k in zip(s["node"], s["commodity"])), np.int64, len(s["node"]))
        ok = (idx >= 0) & (s["day"] >= 0) & (s["day"] < T)
        floor[idx[ok], s["day"][ok]] = s["floor"][ok]
        planning[idx[ok], s["day"][ok]] = s["planning_floor"][ok]
        plan = np.full_like(p5, np.nan)
        plan[idx[ok], s["day"][ok]] = s["stock"][ok]
    gap5 = np.nansum(np.maximum(floor - p5, 0), axis=1)
    gap50 = np.nansum(np.maximum(floor - p50, 0), axis=1)
    chosen, _ = d.worst_first(gap5, gap50, top=top)
    ncols = max(1, min(ncols, len(chosen)))
    rows = max(1, math.ceil(len(chosen) / ncols))
    fig = _figure(4.4 * ncols + 0.6, 1.3 + 2.4 * rows)
    if not len(chosen):
        return _message(fig, "The evaluation has no fan rows.")
    days = np.arange(T)
    axes, _ = _grid(fig, len(chosen), ncols)
    any_planning = False
    for ax, i in zip(axes, chosen):
        ax.fill_between(days, p5[i], p95[i], color=STOCK_COLOUR, alpha=0.25, linewidth=0)
        ax.plot(days, p50[i], color=STOCK_COLOUR, linewidth=1.5)
        if plan is not None:
            ax.plot(days, plan[i], color=PLAN_COLOUR, linewidth=1.0, linestyle=":")
        has_floor = bool(floor[i].any())
        if has_floor:
            ax.plot(days, floor[i], color=FLOOR_COLOUR, linestyle="--", linewidth=1.2, drawstyle="steps-mid")
        if (np.nan_to_num(planning[i] - floor[i]) > 1e-9).any():
            any_planning = True
            ax.plot(days, planning[i], color=PLANNING_COLOUR, linestyle="-.", linewidth=1.1, drawstyle="steps-mid")
        if not has_floor:
            sub = "no floor"
        elif gap5[i] > 0:
            sub = f"p5 below floor: {human(gap5[i])} unit-days"
        else:
            sub = "p5 never below floor"
        ax.set_title(f"{pairs.label(i)}\n{sub}", fontsize=9.5)
    _label_grid(axes, ncols, "day", "stock (units)")
    items = [
        ("patch", {"color": STOCK_COLOUR, "alpha": 0.25, "label": "5th–95th percentile"}),
        ("line", {"color": STOCK_COLOUR, "linewidth": 1.5, "label": "median (p50)"}),
        ("line", {"color": FLOOR_COLOUR, "linestyle": "--", "label": "readiness floor"}),
    ]
    if any_planning:
        items.append(("line", {"color": PLANNING_COLOUR, "linestyle": "-.", "label": "planning floor"}))
    if plan is not None:
        items.append(("line", {"color": PLAN_COLOUR, "linestyle": ":", "label": "plan (expected demand)"}))
    handles, labels = _legend_handles(*items)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(items), frameon=False)
    fig.suptitle(
        "End-of-day stock across sampled futures: "
        + _left_out(len(chosen), len(pairs), "node·commodity pair", "unit-days of p5 below floor"),
        fontsize=11,
    )
    return fig


# KPI column -> (panel title, x label, label of the probability of a non-zero value)
DISTRIBUTIONS = {
    "unmet": ("Unmet consumption", "units per scenario", "P(any unmet)"),
    "below_floor": ("Stock below floor", "unit-days per scenario", "P(any breach)"),
    "cost": ("Realised cost", "currency units per scenario", None),
}


@literal_text
def distribution_figure(scenarios: Any, by_commodity: Any = None, *, commodities: int | None = None) -> Figure:
    """Histograms across scenarios: unmet consumption and unit-days below floor, and realised cost.

    Quantities are per commodity: with ``by_commodity`` (the rows of
    scenarios_by_commodity) each commodity gets its own unmet and
    below-floor panels. Without it, the all-commodity columns of
    ``scenarios`` are drawn only when there is one commodity
    (``commodities`` = 1 or not given); money is drawn always.
    """
    c = d.columns(scenarios, d.SCENARIO_SPEC, table="scenarios")
    panels: list[tuple[np.ndarray, str, str, str | None]] = []  # values, title, x label, P label
    if by_commodity is not None:
        b = d.columns(by_commodity, d.BY_COMMODITY_SPEC, table="scenarios_by_commodity")
        for k in dict.fromkeys(b["commodity"].tolist()):
            m = b["commodity"] == k
            for key in ("unmet", "below_floor"):
                title, xlabel, p = DISTRIBUTIONS[key]
                panels.append((b[key][m], f"{title}: {safe(k)}", xlabel.replace("units", f"{safe(k)} units"), p))
    elif commodities in (None, 1):
        panels += [(c[key], *DISTRIBUTIONS[key]) for key in ("unmet", "below_floor")]
    panels.append((c["cost"], *DISTRIBUTIONS["cost"]))
    panels = [p for p in panels if np.isfinite(p[0]).any()]
    ncols = min(max(len(panels), 1), 3)
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig = _figure(4.2 * ncols + 0.4, 0.6 + 3.2 * nrows)
    if not panels:
        return _message(fig, "The evaluation has no scenario rows.")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    n = len(c["scenario"])
    for ax, (values, title, xlabel, p_label) in zip(axes, panels):
        x = values[np.isfinite(values)]
        lo, hi = float(x.min()), float(x.max())
        bins = min(40, max(8, int(np.sqrt(len(x))))) if hi > lo else 1
        ax.hist(x, bins=bins, range=None if hi > lo else (lo - 0.5, hi + 0.5), color=STOCK_COLOUR, alpha=0.8,
                edgecolor="white", linewidth=0.5)
        p50, p95 = np.percentile(x, [50, 95])
        ax.axvline(p50, color="black", linestyle="-", linewidth=1.2, label=f"median {human(p50)}")
        ax.axvline(p95, color=FLOOR_COLOUR, linestyle="--", linewidth=1.2, label=f"95th percentile {human(p95)}")
        if p_label:
            ax.plot([], [], linestyle="none", label=f"{p_label} = {np.mean(x > 1e-9):.0%}")
        ax.set_title(title, fontsize=10.5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("scenarios")
        _human_axis(ax.xaxis)
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(True, axis="y", alpha=0.3, linewidth=0.5)
        ax.legend(fontsize=8, framealpha=0.85, loc="best")
    fig.suptitle(f"Outcomes across {n} sampled futures", fontsize=11)
    return fig


# ---------------------------------------------------------------- reliability


@literal_text
def frontier_figure(frontier: Any) -> Figure:
    """Cost against reliability target: one point per target; certified points filled, others hollow."""
    f = d.columns(frontier, d.FRONTIER_SPEC, table="frontier")
    order = np.argsort(f["reliability"], kind="stable")
    r, cost, ok = f["reliability"][order], f["objective"][order], f["certified"][order]
    ub, extra = f["upper_bound"][order], f["extra_cost"][order]
    fig = _figure(8.5, 4.4)
    if not len(r):
        return _message(fig, "The frontier has no rows.")
    ax = fig.subplots()
    ax.plot(r, cost, color=PLAN_COLOUR, linewidth=1.0, zorder=1)
    ax.scatter(r[ok], cost[ok], s=60, color=STOCK_COLOUR, zorder=3, label="certified")
    ax.scatter(r[~ok], cost[~ok], s=60, facecolors="white", edgecolors=FLOOR_COLOUR, linewidths=1.6, zorder=3,
               label="not certified")
    for xi, yi, u, e in zip(r, cost, ub, extra):
        bits = [f"U={u:.3g}"] if np.isfinite(u) else []
        if np.isfinite(e):
            bits.append(f"+{human(e)}")
        ax.annotate(", ".join(bits), (xi, yi), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8)
    ax.margins(x=0.08, y=0.15)
    ax.set_xlabel("reliability target R (probability the floors hold)")
    ax.set_ylabel("plan cost (currency units)")
    _human_axis(ax.yaxis)
    ax.grid(True, alpha=0.3, linewidth=0.5)
    ax.legend(loc="upper left", fontsize=8.5)
    ax.set_title("Cost of reliability: each point a plan; U = certified upper bound on the breach probability, "
                 "+ = extra cost over the expected-demand plan", fontsize=9.5, wrap=True)
    return fig
