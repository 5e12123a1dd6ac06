"""Every output file the engine writes, declared once as data.

Plan directories (flows, stock, orders, shadow_prices, infeasibility, summary.json)
and evaluation directories (scenarios, scenarios_by_commodity, fan, summary.json):
the columns, their Arrow types, units and meaning; the vocabularies (KPI names --
declared with their column indices in optimiser/kpis.py, which the kernels compile in --,
cost-breakdown keys, constraint kinds, infeasibility requirements); the shape of a
plan's summary.json. The Arrow schemas the writers use, the readers' column checks,
the report's labels and docs/OUTPUTS.md (``python -m optimiser.outputs``) all derive
from these declarations, so a column or a constraint kind is added in one place.

Output tables are written as Arrow IPC (``NAME.arrow``) or Parquet (``NAME.parquet``);
every reader here accepts either.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa

from .errors import InvalidPlanError
from .kpis import COMMODITY_KPI_NAMES, KPI_NAMES, KPIS  # noqa: F401  (re-exported)

SUFFIX = {"arrow": ".arrow", "parquet": ".parquet"}
FORMATS = tuple(SUFFIX)

#: day column -> the date32 column added beside it when the instance has a start_date
DATE_OF = {"day": "date", "depart_day": "depart_date", "arrive_day": "arrive_date",
           "order_day": "order_date"}


@dataclass(frozen=True)
class OutCol:
    name: str
    type: pa.DataType
    doc: str
    unit: str = ""
    nullable: bool = False  # null allowed (e.g. node of a supplier constraint)
    optional: bool = False  # may be absent from a file (written only in some runs)
    needed: bool = True  # a reader insists on it (False: a file from another tool may omit it)


@dataclass(frozen=True)
class OutputTable:
    name: str  # file stem: NAME.arrow or NAME.parquet
    directory: str  # "plan" or "evaluation"
    doc: str
    columns: tuple[OutCol, ...]
    when: str = "always"

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the columns always written (no optional, no date columns)."""
        return pa.schema([pa.field(c.name, c.type) for c in self.columns if not c.optional])

    @property
    def required(self) -> tuple[str, ...]:
        """Columns a reader insists on (a file from another tool must have them)."""
        return tuple(c.name for c in self.columns
                     if not c.optional and not c.nullable and c.needed)

    def column(self, name: str) -> OutCol:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def day_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.name in DATE_OF)

    def empty(self) -> pa.Table:
        return self.schema.empty_table()


def _c(name, typ, doc, unit="", **kw) -> OutCol:
    return OutCol(name, typ, doc, unit, **kw)


S, I32, I64, F = pa.string(), pa.int32(), pa.int64(), pa.float64()
_PLANNED = "plans with status optimal or feasible (and kept, labelled, when a plan failed the check)"

FLOWS = OutputTable("flows", "plan", "Every movement of the plan, one row per lane and dispatch "
                    "day with quantity > 0: orders from suppliers and shipments between nodes.", (
    _c("origin", S, "supplier or node the units leave"),
    _c("destination", S, "node the units reach"),
    _c("commodity", S, "commodity moved"),
    _c("mode", S, "lane mode ('' when the lane has none)", needed=False),
    _c("depart_day", I32, "day of dispatch (0-based)", "day"),
    _c("arrive_day", I32, "depart_day + the lane's lead time", "day", needed=False),
    _c("quantity", F, "units dispatched", "units"),
), when=_PLANNED)

STOCK = OutputTable("stock", "plan", "End-of-day stock of every (node, commodity) on every day.", (
    _c("node", S, "node"),
    _c("commodity", S, "commodity"),
    _c("day", I32, "day (0-based)", "day"),
    _c("stock", F, "end-of-day stock", "units", needed=False),
    _c("floor", F, "readiness floor of the instance that day", "units", needed=False),
    _c("below_floor", F, "max(floor - stock, 0)", "units", needed=False),
    _c("demand", F, "consumption planned that day", "units", needed=False),
    _c("unmet", F, "consumption the plan leaves unmet that day", "units"),
    _c("planning_floor", F, "the floor the final LP used (planning for reliability only)",
       "units", optional=True),
), when=_PLANNED)

ORDERS = OutputTable("orders", "plan", "What to buy, from whom, when: one row per supplier lane "
                     "and dispatch day with quantity > 0. `cost` sums to the breakdown's "
                     "procurement.", (
    _c("supplier", S, "supplier ordered from"),
    _c("commodity", S, "commodity bought"),
    _c("destination", S, "node the order is delivered to"),
    _c("mode", S, "lane mode ('' when the lane has none)"),
    _c("order_day", I32, "day the supplier dispatches (the order must be placed by then)", "day"),
    _c("arrive_day", I32, "day the units arrive at the destination", "day"),
    _c("quantity", F, "units ordered", "units"),
    _c("unit_price", F, "the supplier's price per unit", "money/unit"),
    _c("cost", F, "quantity x unit_price", "money"),
    _c("transport_cost", F, "quantity x the lane's unit_cost", "money"),
), when=_PLANNED)

SHADOW_PRICES = OutputTable(
    "shadow_prices", "plan", "The limits that bind the plan and what one more unit of each is "
    "worth (how much the objective falls if the limit is relaxed by one unit), largest first. "
    "Written when the solve is optimal and its duals pass the KKT check.", (
        _c("constraint", S, "constraint kind (see Constraint kinds)"),
        _c("name", S, "readable label of the constraint"),
        _c("supplier", S, "supplier (supplier capacity, contracts)", nullable=True),
        _c("node", S, "node (storage, readiness floor)", nullable=True),
        _c("origin", S, "lane origin (lane capacity)", nullable=True),
        _c("destination", S, "lane destination (lane capacity)", nullable=True),
        _c("commodity", S, "commodity (null for the budget)", nullable=True),
        _c("mode", S, "lane mode (lane capacity)", nullable=True),
        _c("day", I32, "day the limit applies (null for contracts and the budget)", "day",
           nullable=True),
        _c("limit", F, "the limit's value", "units or money"),
        _c("used", F, "how much of it the plan uses", "units or money"),
        _c("value", F, "objective decrease per unit of relaxation", "money/unit"),
    ), when="optimal plans with verified duals")

INFEASIBILITY = OutputTable(
    "infeasibility", "plan", "Why an infeasible instance has no plan: every hard requirement "
    "that must give way, per day, by the least total violation. summary.json "
    "`infeasibility.items` groups these rows into day ranges; `item` links a row to its group.", (
        _c("requirement", S, "requirement kind (see Infeasibility requirements)"),
        _c("name", S, "readable label"),
        _c("supplier", S, "supplier (contract_min)", nullable=True),
        _c("node", S, "node (readiness_floor, storage)", nullable=True),
        _c("commodity", S, "commodity (null for the budget)", nullable=True),
        _c("day", I32, "day (null for contracts and the budget)", "day", nullable=True),
        _c("required", F, "what the requirement asks", "units or money"),
        _c("achievable", F, "what the least-violation point reaches", "units or money"),
        _c("violation", F, "by how much the requirement must give way", "units or money"),
        _c("item", I32, "index of the grouped item in summary.json infeasibility.items",
           optional=True),
    ), when="infeasible instances")

# the scenario KPIs (name -> (unit, meaning), in the order of their columns) and their
# column indices are declared in optimiser/kpis.py, which the kernels compile in

SCENARIOS = OutputTable("scenarios", "evaluation", "One row of KPIs per scenario. demand, unmet "
                        "and below_floor are sums over all pairs: meaningful alone only when the "
                        "commodities share a unit (see scenarios_by_commodity).",
                        (_c("scenario", I64, "scenario index 0..N-1"),)
                        + tuple(_c(k, F, doc, unit) for k, (unit, doc) in KPIS.items()))

SCENARIOS_BY_COMMODITY = OutputTable(
    "scenarios_by_commodity", "evaluation", "One row per (scenario, commodity): the KPIs of "
    "that commodity's pairs alone.",
    (_c("scenario", I64, "scenario index 0..N-1"), _c("commodity", S, "commodity"))
    + tuple(_c(k, F, KPIS[k][1], KPIS[k][0]) for k in COMMODITY_KPI_NAMES))

FAN = OutputTable("fan", "evaluation", "Percentiles of end-of-day stock over the scenarios.", (
    _c("node", S, "node"), _c("commodity", S, "commodity"), _c("day", I32, "day", "day"),
    _c("p5", F, "5th percentile of end-of-day stock", "units"),
    _c("p50", F, "median end-of-day stock", "units"),
    _c("p95", F, "95th percentile of end-of-day stock", "units"),
))

_RELIABLE = "plans made with --reliability (docs/RELIABILITY.md)"

RELIABILITY = OutputTable(
    "reliability", "plan", "The certificate of a reliability plan: one row per target event -- "
    "readiness of every protected pair (floor > 0 on some day), service of every pair with "
    "demand (with --service), and under scope joint one last row for all protected pairs "
    "together (node and commodity null).", (
        _c("node", S, "node (null on the joint row)", nullable=True),
        _c("commodity", S, "commodity (null on the joint row)", nullable=True),
        _c("target", F, "the target probability (R, or S for service)", "probability"),
        _c("kind", S, "readiness, service or joint"),
        _c("train_breaches", I64, "training scenarios in which the event happened", "scenarios"),
        _c("train_scenarios", I64, "training scenarios (N)", "scenarios"),
        _c("certify_breaches", I64, "certification scenarios of the last attempt in which the "
           "event happened (k)", "scenarios"),
        _c("certify_scenarios", I64, "certification scenarios of the last attempt (M)",
           "scenarios"),
        _c("upper_bound", F, "one-sided Clopper-Pearson upper bound on the event's probability "
           "at the stated confidence", "probability"),
        _c("certified", pa.bool_(), "upper_bound <= 1 - target"),
        _c("max_buffer", F, "the most the planning floor rose above the instance floor on any "
           "day", "units"),
    ), when=_RELIABLE)

FRONTIER = OutputTable(
    "frontier", "plan", "Cost against reliability: one row per target of --frontier (the "
    "plan's own R only when listed), ordered by reliability; planning floors nested, so cost "
    "never falls as reliability rises.", (
        _c("reliability", F, "the target R", "probability"),
        _c("certified", pa.bool_(), "every target event certified"),
        _c("upper_bound", F, "the largest upper bound over the target events (the joint bound "
           "under scope joint)", "probability", nullable=True),
        _c("objective", F, "the plan's objective against the instance's own floors", "money"),
        _c("procurement", F, "its procurement cost", "money"),
        _c("extra_cost", F, "objective - the expected-demand plan's objective", "money"),
    ), when="plans made with --reliability and --frontier")

RELIABILITY_FAN = OutputTable(
    "reliability_fan", "plan", "End-of-day stock of every pair with a target (readiness, and "
    "service with --service) across the first 2,000 certification scenarios of the plan's "
    "last attempt (all when fewer; summary.json reliability_run.fan: seed, first, count): "
    "the stock the certificate was judged on. Percentiles as in an evaluation's fan.", (
        _c("node", S, "node"), _c("commodity", S, "commodity"), _c("day", I32, "day", "day"),
        _c("p5", F, "5th percentile of end-of-day stock", "units"),
        _c("p50", F, "median end-of-day stock", "units"),
        _c("p95", F, "95th percentile of end-of-day stock", "units"),
    ), when=_RELIABLE)

PLAN_TABLES: tuple[OutputTable, ...] = (FLOWS, STOCK, ORDERS, SHADOW_PRICES, INFEASIBILITY)
RELIABILITY_TABLES: tuple[OutputTable, ...] = (RELIABILITY, FRONTIER, RELIABILITY_FAN)
EVALUATION_TABLES: tuple[OutputTable, ...] = (SCENARIOS, SCENARIOS_BY_COMMODITY, FAN)
OUTPUT_TABLES: dict[str, OutputTable] = {
    t.name: t for t in PLAN_TABLES + RELIABILITY_TABLES + EVALUATION_TABLES}

#: cost breakdown of the objective: key -> meaning
BREAKDOWN: dict[str, str] = {
    "procurement": "sum of unit_price x quantity ordered from suppliers",
    "transport": "sum of the lanes' unit_cost x quantity moved",
    "holding": "sum of holding_cost x end-of-day stock",
    "shortfall_penalty": "sum of shortfall_penalty x unmet consumption",
    "readiness_penalty": "sum of readiness_penalty x units below a soft floor per day",
}
BREAKDOWN_KEYS: tuple[str, ...] = tuple(BREAKDOWN)

#: constraint kinds of shadow_prices.constraint: kind -> (label, meaning of one more unit)
CONSTRAINT_KINDS: dict[str, tuple[str, str]] = {
    "supplier_capacity": ("supplier capacity", "one more unit a supplier can dispatch that day"),
    "lane_capacity": ("lane capacity", "one more unit a lane can carry that day"),
    "contract_max": ("contract maximum", "one more unit allowed over the horizon"),
    "contract_min": ("contract minimum", "one unit less required over the horizon"),
    "budget": ("budget", "one more unit of money to spend"),
    "storage": ("storage limit", "one more unit of storage at a node that day"),
    "readiness_floor": ("hard readiness floor", "a floor one unit lower that day"),
}

#: requirements of infeasibility.requirement: kind -> label
REQUIREMENTS: dict[str, str] = {
    "readiness_floor": "hard readiness floor",
    "storage": "storage limit",
    "contract_min": "contract minimum",
    "budget": "budget",
}

#: statuses of summary.json `status`: status -> (exit code, meaning)
STATUSES: dict[str, tuple[int, str]] = {
    "optimal": (0, "a plan of least cost"),
    "feasible": (0, "a limit stopped the solver with a plan in hand, verified but maybe not "
                    "the cheapest"),
    "infeasible": (3, "the hard requirements cannot all hold; no plan tables are written, see "
                      "infeasibility"),
    "no_solution": (4, "no plan was found within the time limit; no plan tables are written"),
    "error": (1, "the solver failed, or its plan failed the independent check (exit 3 then)"),
}


# sweep directory -------------------------------------------------------------
#: a sweep variant that raised (a solver malfunction, a lost worker beyond the retries)
FAILED = "failed"
#: statistics of each scenario KPI a sweep reports per variant, and the whole-run ones
SWEEP_EVAL_STATS: tuple[str, ...] = ("mean", "p95")
SWEEP_EVAL_EXTRA: dict[str, tuple[str, str]] = {
    "unmet_cvar95": ("units", "mean unmet of the worst 5% of scenarios"),
    "p_any_shortfall": ("probability", "share of scenarios with some unmet consumption"),
    "p_any_breach": ("probability", "share of scenarios with stock below a floor on some day"),
}
_EVALUATED = "only when the sweep evaluated its plans (--scenarios > 0)"

VARIANTS = OutputTable(
    "variants", "sweep", "One row per variant: its status, the plan's cost and totals and, "
    "when evaluated, its scenario KPIs (every variant on the same futures).", (
        _c("variant", S, "the variant's name (its plan is plans/<variant>/)"),
        _c("description", S, "the variant's description"),
        _c("status", S, f"the plan's status, or {FAILED} when the variant raised"),
        _c("objective", F, "objective of the plan", "money", nullable=True),
        *(_c(k, F, v, "money", nullable=True) for k, v in BREAKDOWN.items()),
        _c("unmet", F, "unmet consumption of all commodities together", "units", nullable=True),
        _c("below_floor_unit_days", F, "units below the floor summed over pairs and days",
           "unit-days", nullable=True),
        *(_c(f"eval_{k}_{st}", F, f"{st} over the scenarios of: {KPIS[k][1]}", KPIS[k][0],
             nullable=True, optional=True) for k in KPI_NAMES for st in SWEEP_EVAL_STATS),
        *(_c(f"eval_{k}", F, doc, unit, nullable=True, optional=True)
          for k, (unit, doc) in SWEEP_EVAL_EXTRA.items()),
        _c("seconds", F, "wall time of the variant", "s"),
        _c("error", S, "why the variant failed or has no plan", nullable=True),
    ), when="always; eval_* columns " + _EVALUATED)

#: variants_by_commodity: plan columns (from summary.json totals.by_commodity) and evaluation
#: columns -> path in the evaluation's by_commodity entry of that commodity
SWEEP_BY_COMMODITY_PLAN: tuple[str, ...] = ("ordered", "demand", "unmet",
                                            "below_floor_unit_days", "days_below_floor")
SWEEP_BY_COMMODITY_EVAL: dict[str, tuple[str, ...]] = {
    "eval_unmet_mean": ("unmet", "mean"), "eval_unmet_p95": ("unmet", "p95"),
    "eval_fill_rate_mean": ("fill_rate", "mean"), "eval_below_floor_mean": ("below_floor", "mean"),
    "eval_unmet_cvar95": ("unmet_cvar95",), "eval_p_any_shortfall": ("p_any_shortfall",),
    "eval_p_any_breach": ("p_any_breach",),
}
VARIANTS_BY_COMMODITY = OutputTable(
    "variants_by_commodity", "sweep", "One row per (variant, commodity): that commodity's "
    "quantities alone (quantities of different commodities are never added); every variant "
    "has a row for every commodity, null where it has no plan or no evaluation.", (
        _c("variant", S, "the variant's name"), _c("commodity", S, "commodity"),
        *(_c(k, F, f"totals.by_commodity.{k} of the variant's plan", "units", nullable=True)
          for k in SWEEP_BY_COMMODITY_PLAN),
        *(_c(k, F, "the evaluation's by_commodity." + ".".join(path), "", nullable=True)
          for k, path in SWEEP_BY_COMMODITY_EVAL.items()),
    ))
SWEEP_TABLES: tuple[OutputTable, ...] = (VARIANTS, VARIANTS_BY_COMMODITY)
OUTPUT_TABLES.update({t.name: t for t in SWEEP_TABLES})


class CommodityTotals(TypedDict):
    ordered: float
    demand: float
    unmet: float
    below_floor_unit_days: float
    days_below_floor: int


class Totals(TypedDict):
    ordered: dict[str, dict[str, float]]  # supplier -> commodity -> units
    by_commodity: dict[str, CommodityTotals]
    procurement_spend: float
    demand: float  # all commodities together: meaningful alone only with one unit
    unmet: float
    below_floor_unit_days: float
    days_below_floor: int


class InfeasibilityItem(TypedDict):
    requirement: str
    node: str | None
    supplier: str | None
    commodity: str | None
    first_day: int | None
    last_day: int | None
    violation: float
    why: str
    fix: str


class PlanSummary(TypedDict, total=False):
    format: str  # "optimiser-plan"
    version: int
    instance: str
    start_date: str | None
    status: str
    message: str
    objective: float | None
    solver_objective: float | None
    breakdown: dict[str, float]
    totals: Totals
    plan_tables: bool
    solver: dict[str, Any]
    size: dict[str, int]
    timings: dict[str, float]
    duals: dict[str, Any]
    duals_rejected: dict[str, Any]
    binding: dict[str, Any]
    check: dict[str, Any]
    status_before_check: str
    infeasibility: dict[str, Any]
    reliability: dict[str, Any]


#: summary.json keys of a plan: key -> meaning (the documented shape of PlanSummary)
PLAN_SUMMARY_KEYS: dict[str, str] = {
    "format": '"optimiser-plan"',
    "version": "format version of the plan directory",
    "instance": "the instance's name",
    "start_date": "the instance's start_date (ISO date) or null: day t is start_date + t",
    "status": "optimal, feasible, infeasible, no_solution or error (see Statuses)",
    "message": "why the status is not optimal, and what to do (absent when optimal)",
    "objective": "the objective recomputed from the plan and the instance (null without a plan)",
    "solver_objective": "the objective the solver reported",
    "breakdown": "the objective by term (see Breakdown)",
    "totals.ordered": "{supplier: {commodity: units ordered}}",
    "totals.by_commodity": "{commodity: {ordered, demand, unmet, below_floor_unit_days, "
                           "days_below_floor}}",
    "totals.procurement_spend": "money spent on orders (equals breakdown.procurement)",
    "totals.demand": "consumption of all commodities together (one unit only if they share it)",
    "totals.unmet": "unmet consumption of all commodities together",
    "totals.below_floor_unit_days": "sum over pairs and days of units below the floor",
    "totals.days_below_floor": "days on which some pair is below its floor",
    "plan_tables": "true when flows, stock and orders were written",
    "solver": "solver name, settings, backend, how the LP was solved",
    "size": "variables, constraints, nonzeros",
    "timings": "seconds per stage",
    "duals": "source of the duals and their KKT check",
    "binding": "count of binding limits by constraint kind and the top ones",
    "check": "the independent checker's report",
    "infeasibility": "explained, total_violation, by_requirement, items: [{requirement, node, "
                     "supplier, commodity, first_day, last_day, violation, why, fix}] "
                     "(consecutive days grouped, largest violation first)",
    "reliability": "plans made with --reliability: scope, target, service, confidence, "
                   "train_scenarios, certify_scenarios, seeds, params, iterations, attempts, "
                   "baseline_objective, extra_cost, certified, joint_upper_bound, worst "
                   "(docs/RELIABILITY.md)",
    "reliability_run": "plans made with --reliability: how the run went (LP solves, replays, "
                       "per target its iterations, attempts and ranges, the certification fan's "
                       "range, limits of unreachable pairs)",
}


# dates --------------------------------------------------------------------
def start_date_of(inst) -> _dt.date | None:
    """The instance's start_date as a date, or None (accepts a date or an ISO string)."""
    v = getattr(inst, "start_date", None)
    if v is None or v == "":
        return None
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    return _dt.date.fromisoformat(str(v))


def with_dates(table: pa.Table, start: _dt.date | None) -> pa.Table:
    """Add the date32 column right after each day column (day -> date, ...) when `start`."""
    if start is None:
        return table
    epoch = np.int64((start - _dt.date(1970, 1, 1)).days)
    for day_col, date_col in DATE_OF.items():
        if day_col not in table.column_names or date_col in table.column_names:
            continue
        days = table.column(day_col).combine_chunks()
        mask = np.asarray(days.is_null()) if days.null_count else None
        vals = days.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) + epoch
        arr = pa.array(vals.astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())
        table = table.add_column(table.schema.get_field_index(day_col) + 1, date_col, arr)
    return table


# reading and writing output directories -------------------------------------
def table_path(directory: str | os.PathLike, name: str) -> Path | None:
    """NAME.arrow or NAME.parquet in `directory`; None if neither; both is an error."""
    directory = Path(directory)
    found = [directory / f"{name}{s}" for s in SUFFIX.values() if (directory / f"{name}{s}").is_file()]
    if len(found) > 1:
        raise InvalidPlanError(f"{directory} holds both {found[0].name} and {found[1].name}; "
                               "keep only one")
    return found[0] if found else None


def read_output_table(directory: str | os.PathLike, name: str,
                      required: bool = False) -> pa.Table | None:
    """Read table `name` of a plan or evaluation directory (Arrow IPC or Parquet).

    Checks the declared required columns; returns None when absent and not required.
    """
    from .io import read_raw

    path = table_path(directory, name)
    if path is None:
        if required:
            raise InvalidPlanError(f"{directory} has no {name}.arrow or {name}.parquet")
        return None
    try:
        table = read_raw(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidPlanError(f"cannot read {path}: {e}") from e
    decl = OUTPUT_TABLES.get(name)
    if decl is not None:
        missing = [c for c in decl.required if c not in table.column_names]
        if missing:
            raise InvalidPlanError(f"{path.name} lacks column(s) {', '.join(missing)}")
    return table


def write_output_table(table: pa.Table, directory: str | os.PathLike, name: str,
                       fmt: str = "arrow") -> Path:
    """Write `table` as NAME.arrow or NAME.parquet (fmt) in `directory`."""
    from .io import write_table

    if fmt not in SUFFIX:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(directory) / f"{name}{SUFFIX[fmt]}"
    write_table(table, path)
    return path


# docs ------------------------------------------------------------------------
def _type_name(t: pa.DataType) -> str:
    return {"string": "string", "int32": "int32", "int64": "int64", "double": "float64",
            "date32[day]": "date32"}.get(str(t), str(t))


def outputs_reference() -> str:
    """The Markdown reference of every output file (docs/OUTPUTS.md is generated from it)."""
    out = ["# Output files (generated from optimiser/outputs.py)", "",
           "Every table is written as Arrow IPC (`NAME.arrow`, the default) or, with "
           "`--format parquet`, as Parquet (`NAME.parquet`); every command that reads a plan or "
           "an evaluation accepts either (a directory holding both for one table is refused). "
           "Parquet files can be queried with DuckDB: "
           "`SELECT * FROM read_parquet('PLAN/orders.parquet')`.", "",
           "When the instance has `start_date`, every table with a day column also has the "
           "matching date32 column right after it: "
           + ", ".join(f"`{d}` -> `{c}`" for d, c in DATE_OF.items()) + ".", "",
           "## Plan directory", "",
           "A plan with status optimal or feasible holds flows, stock, orders (and "
           "shadow_prices when its duals were verified) and summary.json. An infeasible plan "
           "holds only summary.json and infeasibility; no_solution and error hold only "
           "summary.json (an error from a plan that failed the independent check keeps the "
           "failing tables for diagnosis, and `plan_tables` says so). `check`, `evaluate` and "
           "`simulate` refuse a plan whose status is not optimal or feasible (exit 2) unless "
           "given `--allow-nonoptimal`. A plan directory without summary.json (written by "
           "another tool) is taken to be feasible: `check` verifies it.", ""]
    for directory in ("plan", "evaluation", "sweep"):
        if directory == "evaluation":
            out += ["## Evaluation directory", ""]
        if directory == "sweep":
            out += ["## Sweep directory", "",
                    "`optimiser sweep` writes plans/<variant>/ (plan directories), "
                    "evaluations/<variant>/ (evaluation directories, when evaluated), "
                    "summary.json and these two tables (Arrow IPC).", ""]
        for t in OUTPUT_TABLES.values():
            if t.directory != directory:
                continue
            out += [f"### {t.name}", "", t.doc, "",
                    f"Written: {t.when}.", "", "| column | type | unit | meaning |",
                    "|---|---|---|---|"]
            for c in t.columns:
                flags = " (may be null)" if c.nullable else ""
                flags += " (optional)" if c.optional else ""
                out.append(f"| `{c.name}` | {_type_name(c.type)} | {c.unit} | {c.doc}{flags} |")
            out.append("")
    out += ["## Choices where the contract is silent", "",
            "- An infeasible plan writes no relaxed plan: the point that breaks the fewest "
            "requirements is a plan for a different instance, and figures of it (fill rate, "
            "cost) read as if real. The planner gets `infeasibility.items` instead: each "
            "requirement that must give way, grouped into day ranges (with `first_date`/"
            "`last_date` when the instance has a start_date), `required` and `achievable` at "
            "the worst day, `why` it cannot hold (lead times against the days it starts, "
            "capacity over the horizon, stock already above a storage limit) and `fix` (the "
            "floor, contract or limit to set, making a floor soft, initial stock to add). "
            "`breakdown` values and `totals` are null when there is no plan.",
            "- `orders` rows are sorted by order day, then lane: the order in which to place "
            "them. `flows` keeps lane order.",
            "- Below the floor counts where stock < floor - 1e-6 x max(1, floor), for "
            "`below_floor_unit_days` and `days_below_floor` alike.",
            "- `optimiser show PLAN [orders|shipments|stock|binding|infeasibility]` reads only "
            "the plan directory; shipments are flows whose origin is a node of the plan's "
            "stock table; binding limits are grouped into runs of consecutive days with the "
            "smallest and largest shadow price of the run, largest first. Dates come from "
            "summary.json `start_date`.", ""]
    out += ["## Plan summary.json", "", "| key | meaning |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in PLAN_SUMMARY_KEYS.items()]
    out += ["", "## Statuses", "", "| status | exit code | meaning |", "|---|---|---|"]
    out += [f"| `{k}` | {code} | {doc} |" for k, (code, doc) in STATUSES.items()]
    out += ["", "## Breakdown", "", "| key | meaning |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in BREAKDOWN.items()]
    out += ["", "## Constraint kinds", "", "| constraint | label | one more unit means |",
            "|---|---|---|"]
    out += [f"| `{k}` | {lab} | {doc} |" for k, (lab, doc) in CONSTRAINT_KINDS.items()]
    out += ["", "## Infeasibility requirements", "", "| requirement | label |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in REQUIREMENTS.items()]
    out += ["", "## Scenario KPIs", "", "| KPI | unit | meaning |", "|---|---|---|"]
    out += [f"| `{k}` | {unit} | {doc} |" for k, (unit, doc) in KPIS.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(outputs_reference(), end="")
