"""The scenario KPIs, declared once: name, unit, meaning, and the column each one has in
the KPI arrays the replay kernel writes (kpis [n, N_KPI], per commodity kpis_c
[n, commodities, N_CKPI]).

The order of `KPIS` is the order of those columns and of the columns of scenarios.arrow
(after `scenario`); the kernel and every reader of its arrays index them through the
named constants below (`K_UNMET`, ...), never by a number of their own. `outputs` builds
the output tables from this vocabulary.

numba: constants compiled into kernels -- the scenario kernels freeze these indices at
compile time, so this module is part of their cache digest (optimiser/_numba.py): a change
here recompiles them instead of leaving a cached kernel writing the old columns. Keep it
free of anything else (no heavy imports, nothing that changes often).
"""

from __future__ import annotations

#: scenario KPIs: name -> (unit, meaning); per-scenario columns of scenarios.arrow, in order
KPIS: dict[str, tuple[str, str]] = {
    "demand": ("units", "consumption drawn in the scenario (all pairs)"),
    "unmet": ("units", "consumption not met"),
    "fill_rate": ("ratio", "1 - unmet / demand (1 when there is no demand)"),
    "shortfall_days": ("days", "days on which some consumption is unmet"),
    "below_floor": ("unit-days", "sum over pairs and days of max(floor - stock, 0)"),
    "breach_days": ("days", "days on which some pair's stock is below its floor"),
    "min_floor_ratio": ("ratio", "smallest stock / floor over pairs with a floor and days"),
    "cost": ("money", "cost of the plan as replayed in the scenario"),
}
KPI_NAMES: tuple[str, ...] = tuple(KPIS)
N_KPI = len(KPI_NAMES)
#: KPIs reported per commodity (cost is money and is summed across commodities); the same
#: columns as in KPI_NAMES, so one index names a KPI in both arrays
COMMODITY_KPI_NAMES: tuple[str, ...] = tuple(k for k in KPI_NAMES if k != "cost")
N_CKPI = len(COMMODITY_KPI_NAMES)

#: column of each KPI in the kernel's KPI arrays
K_DEMAND = KPI_NAMES.index("demand")
K_UNMET = KPI_NAMES.index("unmet")
K_FILL_RATE = KPI_NAMES.index("fill_rate")
K_SHORTFALL_DAYS = KPI_NAMES.index("shortfall_days")
K_BELOW_FLOOR = KPI_NAMES.index("below_floor")
K_BREACH_DAYS = KPI_NAMES.index("breach_days")
K_MIN_FLOOR_RATIO = KPI_NAMES.index("min_floor_ratio")
K_COST = KPI_NAMES.index("cost")

if COMMODITY_KPI_NAMES != KPI_NAMES[:N_CKPI]:  # pragma: no cover - a vocabulary edit
    raise ImportError("the per-commodity KPIs must be the first columns of KPI_NAMES "
                      "(one index per KPI in both KPI arrays): keep 'cost' last in KPIS")
