"""Words the report uses for the engine's names: KPIs, cost terms, limits, requirements, statuses.

The names and their meanings are declared once, in ``optimiser.outputs``;
this module only adds the report's short labels where the declaration has
none (KPIs). A name missing anywhere is shown in plain words made from the
name itself ("readiness_floor" -> "readiness floor"), never dropped.
"""

from __future__ import annotations

from .. import outputs
from ..status import HAS_PLAN

_UNITS = {"units": "units", "unit-days": "unit-days", "days": "days", "ratio": "ratio", "money": "currency units"}
_KPI_SHORT = {
    "demand": "total demand",
    "unmet": "unmet consumption",
    "fill_rate": "fill rate",
    "shortfall_days": "days with any unmet",
    "below_floor": "stock below floor",
    "breach_days": "days with any node below floor",
    "min_floor_ratio": "lowest stock / floor",
    "cost": "realised cost",
}
# Scenario KPI -> (label, unit); unit "%" formats a 0..1 value as a percentage.
KPI_LABELS: dict[str, tuple[str, str]] = {
    k: (_KPI_SHORT.get(k, k.replace("_", " ")), "%" if k == "fill_rate" else _UNITS.get(unit, unit))
    for k, (unit, _meaning) in outputs.KPIS.items()
}
#: KPIs whose values add quantities: meaningless summed over different commodities.
QUANTITY_KPIS = frozenset(k for k, (unit, _m) in outputs.KPIS.items() if unit in ("units", "unit-days")) | {
    "fill_rate"}

#: statuses whose plan tables are a real plan
PLAN_STATUSES = frozenset(s.value for s in HAS_PLAN)


def plain(name: str) -> str:
    return str(name).replace("_", " ")


def kpi_label(name: str) -> tuple[str, str]:
    return KPI_LABELS.get(name, (plain(name), ""))


def breakdown_label(name: str) -> str:
    """"procurement (unit_price x quantity ordered from suppliers)"."""
    meaning = outputs.BREAKDOWN.get(name)
    if not meaning:
        return plain(name)
    return f"{plain(name)} ({meaning.removeprefix('sum of ').replace(' x ', ' × ')})"


def constraint_label(name: str) -> str:
    return outputs.CONSTRAINT_KINDS.get(name, (plain(name), ""))[0]


def constraint_meaning(name: str) -> str:
    return outputs.CONSTRAINT_KINDS.get(name, ("", "one more unit of that limit"))[1]


def requirement_label(name: str) -> str:
    return outputs.REQUIREMENTS.get(name, plain(name))


def status_meaning(status: str) -> str:
    return outputs.STATUSES.get(status, (0, "the solve did not produce a plan"))[1]
