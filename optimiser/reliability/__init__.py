"""Planning for reliability: the least-cost plan whose readiness holds with a stated
probability under the scenario model, certified on scenarios it was not built on
(docs/RELIABILITY.md)."""

from .api import solve_reliable
from .certificate import max_breaches, scenarios_needed, upper_bound, zero_breach_bound
from .results import ReliabilityPlan
from .targets import Targets

__all__ = ["ReliabilityPlan", "Targets", "max_breaches", "scenarios_needed", "solve_reliable",
           "upper_bound", "zero_breach_bound"]
