"""The instance format (docs/FORMAT.md), declared once as data.

Everything else derives from these declarations: the Arrow schemas used to write
tables, the defaults filled in on read, the type/null/range checks of validation,
the value and size limits, and the format reference in docs/FORMAT.md
(``python -m optimiser.schema`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

Kind = Literal["string", "int", "float", "bool"]

#: Largest magnitude of a finite quantity or money-per-unit value. The solvers work in
#: double precision with tolerances near 1e-7 relative to the largest coefficient: past
#: about 1e12 a penalty of 1e6 per unit can no longer be told apart from rounding, and a
#: feasible instance could be called infeasible. Larger values are refused at validation.
VALUE_LIMIT = 1e12
#: Largest budget (total money, not per unit): 1e12 units x 1e6 per unit.
BUDGET_LIMIT = 1e18
#: Longest horizon, and longest lead time: 100,000 days (about 274 years) keeps every
#: day + lead time inside 32 bits and any daily plan of one pair under a megabyte.
MAX_HORIZON_DAYS = 100_000
#: Largest file instance.json may be (it holds a few keys).
META_MAX_BYTES = 1 << 20

ARROW_TYPE: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    doc: str
    required: bool = True  # False: the column may be absent and `default` applies
    default: object = None  # value used when the column is absent (None: null)
    nullable: bool = False  # a null is allowed (and means "none": no limit)
    minimum: float | None = None  # smallest allowed value (inclusive)
    unit: str = ""
    maximum: float | None = None  # largest allowed finite value (inclusive)

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPE[self.kind]


@dataclass(frozen=True)
class Table:
    name: str  # file stem: suppliers -> suppliers.arrow / suppliers.parquet
    required: bool
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str
    # for the per-day tables: which entity table the (who, commodity) must exist in
    parent: str | None = None
    parent_who: str | None = None
    extra: dict = field(default_factory=dict)
    # a per-day table: a `date` column (date32, needs start_date) may stand instead of `day`
    dated: bool = False

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])


def _day_table(name: str, who: str, parent: str, value: str, doc: str, value_doc: str) -> Table:
    return Table(
        name=name,
        required=False,
        key=(who, "commodity", "day"),
        parent=parent,
        parent_who=who,
        dated=True,
        doc=doc,
        columns=(
            Column(who, "string", f"the {who} (must exist with this commodity in {parent})"),
            Column("commodity", "string", "commodity name"),
            Column("day", "int", "day index, 0 <= day < horizon_days (or a `date` column instead, "
                   "when instance.json has start_date)", minimum=0, unit="day"),
            Column(value, "float", value_doc, minimum=0.0, maximum=VALUE_LIMIT, unit="units"),
        ),
    )


SUPPLIERS = Table(
    name="suppliers",
    required=True,
    key=("supplier", "commodity"),
    doc="One row per (supplier, commodity) that the supplier sells.",
    columns=(
        Column("supplier", "string", "supplier name"),
        Column("commodity", "string", "commodity name"),
        Column("unit_price", "float", "paid per unit ordered", minimum=0.0, maximum=VALUE_LIMIT, unit="money/unit"),
        Column("daily_capacity", "float", "most units that can be dispatched per day",
               minimum=0.0, maximum=VALUE_LIMIT, unit="units/day"),
        Column("contract_min", "float", "least total units over the horizon",
               required=False, default=0.0, minimum=0.0, maximum=VALUE_LIMIT, unit="units"),
        Column("contract_max", "float", "most total units over the horizon (null: none)",
               required=False, default=None, nullable=True, minimum=0.0, maximum=VALUE_LIMIT, unit="units"),
    ),
)

NODES = Table(
    name="nodes",
    required=True,
    key=("node", "commodity"),
    doc="One row per (node, commodity) that a node holds or consumes.",
    columns=(
        Column("node", "string", "node name (never also a supplier's name)"),
        Column("commodity", "string", "commodity name"),
        Column("initial_stock", "float", "stock at the start of day 0",
               required=False, default=0.0, minimum=0.0, maximum=VALUE_LIMIT, unit="units"),
        Column("floor", "float", "readiness floor on end-of-day stock",
               required=False, default=0.0, minimum=0.0, maximum=VALUE_LIMIT, unit="units"),
        Column("max_stock", "float", "storage limit on end-of-day stock (null: none)",
               required=False, default=None, nullable=True, minimum=0.0, maximum=VALUE_LIMIT, unit="units"),
        Column("holding_cost", "float", "per unit of end-of-day stock per day",
               required=False, default=0.0, minimum=0.0, maximum=VALUE_LIMIT, unit="money/unit/day"),
        Column("shortfall_penalty", "float", "per unit of consumption not met",
               required=False, default=1e6, minimum=0.0, maximum=VALUE_LIMIT, unit="money/unit"),
        Column("readiness_penalty", "float", "per unit below the floor per day",
               required=False, default=1e3, minimum=0.0, maximum=VALUE_LIMIT, unit="money/unit/day"),
        Column("readiness_hard", "bool", "the floor may not be broken at all",
               required=False, default=False),
    ),
)

LANES = Table(
    name="lanes",
    required=True,
    key=("origin", "destination", "commodity", "mode"),
    doc="A way to move one commodity from an origin (supplier or node) to a destination node.",
    columns=(
        Column("origin", "string", "a supplier or a node that supplies or holds the commodity"),
        Column("destination", "string", "a node that holds the commodity"),
        Column("commodity", "string", "commodity name"),
        Column("mode", "string", "distinguishes parallel lanes (sea, air)",
               required=False, default=""),
        Column("lead_time_days", "int",
               "days from dispatch to arrival; >= 1 when the origin is a node",
               minimum=0, maximum=MAX_HORIZON_DAYS, unit="days"),
        Column("unit_cost", "float", "per unit moved", required=False, default=0.0,
               minimum=0.0, maximum=VALUE_LIMIT, unit="money/unit"),
        Column("daily_capacity", "float", "most units dispatched per day (null: none)",
               required=False, default=None, nullable=True, minimum=0.0, maximum=VALUE_LIMIT, unit="units/day"),
    ),
)

DEMAND = _day_table("demand", "node", "nodes", "quantity",
                    "Daily consumption; absent rows mean 0.", "units consumed that day")
CAPACITY = _day_table("capacity", "supplier", "suppliers", "capacity",
                      "Per-day supplier capacity; a row replaces daily_capacity on that day.",
                      "most units dispatched that day")
FLOORS = _day_table("floors", "node", "nodes", "floor",
                    "Per-day readiness floor; a row replaces the node's floor on that day.",
                    "readiness floor on that day's end-of-day stock")
PIPELINE = _day_table("pipeline", "node", "nodes", "quantity",
                      "Arrivals already scheduled; absent rows mean 0.",
                      "units arriving that day")

TABLES: tuple[Table, ...] = (SUPPLIERS, NODES, LANES, DEMAND, CAPACITY, FLOORS, PIPELINE)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: instance.json keys: name -> (type description, required, doc)
INSTANCE_JSON: dict[str, tuple[str, bool, str]] = {
    "format": ('"optimiser-instance"', True, "identifies the file"),
    "version": ("1", True, "format version; a higher version is refused"),
    "name": ("string", True, "instance name"),
    "horizon_days": (f"int, 1 to {MAX_HORIZON_DAYS:,}", True, "T; days are numbered 0..T-1"),
    "budget": (f"number, 0 to {BUDGET_LIMIT:g}, or null", False,
               "cap on total procurement spend (sum of unit_price x quantity ordered)"),
    "description": ("string", False, "free text"),
    "start_date": ("ISO 8601 date (YYYY-MM-DD)", False,
                   "calendar date of day 0; day t is start_date + t days"),
}

FORMAT_NAME = "optimiser-instance"
FORMAT_VERSION = 1


def format_reference() -> str:
    """The Markdown format reference (docs/FORMAT.md is generated from this)."""
    out = ["# Instance format (generated from optimiser/schema.py)", "",
           "An instance is a directory holding `instance.json` and one Arrow IPC file "
           "(`.arrow`, Feather v2) or Parquet file (`.parquet`) per table.", "",
           "## instance.json", "", "| key | type | required | meaning |", "|---|---|---|---|"]
    for k, (typ, req, doc) in INSTANCE_JSON.items():
        out.append(f"| `{k}` | {typ} | {'yes' if req else 'no'} | {doc} |")
    for t in TABLES:
        out += ["", f"## {t.name} ({'required' if t.required else 'optional'})", "", t.doc,
                f"Key (unique): {', '.join(t.key)}."]
        if t.dated:
            out.append("With `start_date` in instance.json, a `date` column (Arrow date32; an "
                       "ISO date string in CSV) may stand instead of `day`; not both.")
        out += ["", "| column | type | default | nulls | min | max | unit | meaning |",
                "|---|---|---|---|---|---|---|---|"]
        for c in t.columns:
            default = "required" if c.required else ("null" if c.default is None else repr(c.default))
            mn = "" if c.minimum is None else str(c.minimum)
            mx = "" if c.maximum is None else f"{c.maximum:g}"
            if c.name == "day":
                mx = "horizon_days - 1"
            out.append(f"| `{c.name}` | {c.kind} | {default} | {'null = none' if c.nullable else 'no'}"
                       f" | {mn} | {mx} | {c.unit} | {c.doc} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(format_reference(), end="")
