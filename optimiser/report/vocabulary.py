"""Words the report uses for the engine's names: KPIs, cost terms, limits, requirements.

One dictionary per concept, read by the tables, the figures and the notebook
summaries alike. A name missing here is shown in plain words made from the
name itself ("readiness_floor" -> "readiness floor"), never dropped.
"""

from __future__ import annotations

# Scenario KPI -> (label, unit); unit "%" formats a 0..1 value as a percentage.
KPI_LABELS: dict[str, tuple[str, str]] = {
    "demand": ("total demand", "units"),
    "unmet": ("unmet consumption", "units"),
    "fill_rate": ("fill rate", "%"),
    "shortfall_days": ("days with any unmet", "days"),
    "below_floor": ("stock below floor", "unit-days"),
    "breach_days": ("days with any node below floor", "days"),
    "min_floor_ratio": ("lowest stock / floor", "ratio"),
    "cost": ("realised cost", "currency units"),
}
#: KPIs whose values add quantities of one commodity: meaningless summed over commodities.
QUANTITY_KPIS = frozenset({"demand", "unmet", "fill_rate", "below_floor"})

# Cost term of the objective -> label.
BREAKDOWN_LABELS: dict[str, str] = {
    "procurement": "procurement (price × quantity ordered)",
    "transport": "transport (lane cost × quantity moved)",
    "holding": "holding (end-of-day stock)",
    "shortfall_penalty": "shortfall penalty (unmet consumption)",
    "readiness_penalty": "readiness penalty (stock below floor)",
}

# Constraint kind of shadow_prices -> (label, what one more unit of it is).
CONSTRAINT_LABELS: dict[str, tuple[str, str]] = {
    "supplier_capacity": ("supplier daily capacity", "one more unit of that supplier's capacity that day"),
    "lane_capacity": ("lane daily capacity", "one more unit of that lane's capacity that day"),
    "contract_max": ("contract maximum", "one more unit allowed by the contract"),
    "contract_min": ("contract minimum", "one unit less that must be bought"),
    "budget": ("budget", "one more currency unit of budget"),
    "storage": ("storage limit", "one more unit of storage that day"),
    "readiness_floor": ("hard readiness floor", "the floor one unit lower that day"),
}

# Hard requirement of an infeasibility item -> label.
REQUIREMENT_LABELS: dict[str, str] = {
    "readiness_floor": "hard readiness floor",
    "storage": "storage limit",
    "contract_min": "contract minimum",
    "budget": "budget",
}

# Status -> what it means for the planner.
STATUS_MEANING: dict[str, str] = {
    "optimal": "the least-cost plan",
    "feasible": "a plan found before a limit stopped the solver; it may cost more than the best",
    "infeasible": "the hard requirements cannot all hold: there is no plan",
    "no_solution": "the solver found no plan within its limit",
    "error": "the solve failed: there is no plan to act on",
}
#: statuses whose plan tables are a real plan
PLAN_STATUSES = frozenset({"optimal", "feasible"})


def plain(name: str) -> str:
    return str(name).replace("_", " ")


def kpi_label(name: str) -> tuple[str, str]:
    return KPI_LABELS.get(name, (plain(name), ""))


def breakdown_label(name: str) -> str:
    return BREAKDOWN_LABELS.get(name, plain(name))


def constraint_label(name: str) -> str:
    return CONSTRAINT_LABELS.get(name, (plain(name), ""))[0]


def constraint_meaning(name: str) -> str:
    return CONSTRAINT_LABELS.get(name, ("", "one more unit of that limit"))[1]


def requirement_label(name: str) -> str:
    return REQUIREMENT_LABELS.get(name, plain(name))
