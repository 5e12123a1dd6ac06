"""Scenario evaluation (SPEC section 5): replay a plan against sampled futures.

    from optimiser.scenarios import evaluate
    ev = evaluate("instances/tiny", "PLAN", scenarios=10_000, seed=1, demand_sigma=0.3)

Public: `evaluate`, `Evaluation`, `ScenarioParams`, `evaluate_chunk`, `ChunkResult`,
`prepare`, `ReplayArrays`, `KPI_NAMES`. docs/SCENARIOS.md describes the model,
the random numbers and every choice the spec leaves open.
"""

from __future__ import annotations

from .arrays import ReplayArrays, prepare
from .evaluate import ChunkResult, Evaluation, evaluate, evaluate_chunk, summarise
from .kernels import KPI_NAMES
from .params import PARAMETERS, ScenarioParams

__all__ = [
    "KPI_NAMES",
    "PARAMETERS",
    "ChunkResult",
    "Evaluation",
    "ReplayArrays",
    "ScenarioParams",
    "evaluate",
    "evaluate_chunk",
    "prepare",
    "summarise",
]
