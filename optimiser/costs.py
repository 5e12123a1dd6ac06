"""The objective of the LP (docs/MODEL.md) and its breakdown, recomputed from a plan's arrays."""

from __future__ import annotations

import numpy as np

from .instance import Instance


def breakdown(inst: Instance, x: np.ndarray, s: np.ndarray, u: np.ndarray,
              r: np.ndarray) -> dict[str, float]:
    dispatched = x.sum(axis=1)  # per lane
    return {
        "procurement": float(inst.lane_price @ dispatched),
        "transport": float(inst.lane_cost @ dispatched),
        "holding": float(inst.holding_cost @ s.sum(axis=1)),
        "shortfall_penalty": float(inst.shortfall_penalty @ u.sum(axis=1)),
        "readiness_penalty": float(inst.readiness_penalty @ r.sum(axis=1)),
    }
