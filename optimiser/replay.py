"""Deterministic stock recurrence of the LP's balance (docs/MODEL.md), used by plan readers."""

from __future__ import annotations

import numpy as np

from .instance import Instance


def arrivals_and_departures(inst: Instance, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """inflow[I,T] (arrivals on lanes, excluding pipeline) and outflow[I,T] (node dispatches)."""
    I, T = inst.n_pairs, inst.horizon
    inflow = np.zeros((I, T))
    outflow = np.zeros((I, T))
    L = inst.n_lanes
    if L == 0:
        return inflow, outflow
    lane, day = np.nonzero(x)
    arr = day + inst.lane_lead[lane]
    ok = arr < T
    np.add.at(inflow, (inst.lane_dest[lane[ok]], arr[ok]), x[lane[ok], day[ok]])
    node_origin = ~inst.lane_from_supplier[lane]
    np.add.at(outflow, (inst.lane_origin[lane[node_origin]], day[node_origin]),
              x[lane[node_origin], day[node_origin]])
    return inflow, outflow


def stock_from_flows(inst: Instance, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """End-of-day stock s[I,T] implied by the balance equations."""
    inflow, outflow = arrivals_and_departures(inst, x)
    net = inflow + inst.pipeline - outflow - (inst.demand - u)
    return inst.initial_stock[:, None] + np.cumsum(net, axis=1)
