"""The reliability LP of one commodity block on the exact network path.

Without a budget each commodity block of the reliability LP (reliability/lp.py) is a
minimum-cost network flow (docs/MODEL.md, "The network"): the planning floor P is a soft
floor whose shortfall r is priced at BIG, the rationing cap u <= baseline u bounds the
unmet arc, and the hard floors a lower target held are lower bounds on the stock arcs.
LEMON's network simplex solves it, restarting from its last spanning tree after each raise
of P (network.solve_lemon with a kept graph), and when the network is an exact integer
scaling of the LP, its flow and potentials are an optimal LP point and dual, checked by the
KKT conditions (model/certificate.py): then no HiGHS model is needed.

Exactness needs every quantity on one grid 1/Q (Q a power of ten, model/network.py), and
the planning floors the loop computes (the plan's stock plus simulated shortfalls) are
arbitrary decimals. So the data the loop changes are snapped to the block's grid:

* planning floors UP (`snap_up`): a floor only ever rises, by less than 1/Q — the plan
  holds more stock, never less, and reliability never falls;
* hard lower bounds on stock UP as well: they are floors an earlier solve held, which sat
  on the grid (a vertex of an exactly scaled network is on it), so rounding up only
  removes floating noise; if it ever made the block infeasible, the block is solved by
  HiGHS at the bounds as given;
* rationing caps (the baseline's u) DOWN, never up by more than floating noise (1e-9
  relative): the plan never rations more than the expected plan.

The grid (`grid_scale`) is the finest of 1/1000, 1/100, 1/10, 1 at which the block's own
data (capacities, stock, demand, pipeline, contracts, the instance floors) are exact and
costs x flows stay inside integer range: a thousandth of a unit where it fits, so a
one-unit instance keeps its precision (the closed-form least-cost case), and a coarser
grid only where the quantities are too large for the finer one (then still one unit or
finer).
"""

from __future__ import annotations

import numpy as np

from ..instance import Instance
from ..model.build import LP

GRID_SCALES = (1000, 100, 10, 1)
HEADROOM = 2.0  # the growth of the network's "unbounded" capacity a grid must leave room for
_NOISE = 1e-9  # relative: what a value may be off its grid point by floating arithmetic


def grid_scale(sub: Instance, lp: LP, put=None) -> tuple[int, int, float] | None:
    """(Q, C, BIG) of the finest quantity scale at which the block's network is an exact
    scaling of `lp`, or None when none is (the block stays on HiGHS). put(q), when given,
    first snaps the LP's changing data onto the grid 1/q. A scale counts only when it stays
    exact with HEADROOM times the capacity that stands for "unbounded" (which grows with
    the hard bounds, as a frontier's targets hold more): costs x flows must stay inside
    integer range (model/network.py), or the cost scale would be coarsened and the
    network no longer exact."""
    from ..model.network import build_network

    for q in GRID_SCALES:
        if put is not None:
            put(q)
        net, _ = build_network(sub, lp, (q, None, 0))
        if net is None or not net.exact:
            continue
        roomy, _ = build_network(sub, lp, (q, net.C, HEADROOM * net.big))
        if roomy is not None and roomy.exact:
            return net.Q, net.C, net.big
    return None


def snap_up(a: np.ndarray, q: int) -> np.ndarray:
    """The least grid point (multiple of 1/q) >= a, a value already on the grid (within
    floating noise) staying where it is."""
    w = np.asarray(a, dtype=np.float64) * q
    k = np.ceil(w - _NOISE * np.maximum(1.0, np.abs(w)))
    return k / q


def snap_down(a: np.ndarray, q: int, tol=0.0) -> np.ndarray:
    """The largest grid point <= a + tol (tol in units, >= 0; a value on the grid within
    floating noise staying where it is)."""
    w = np.asarray(a, dtype=np.float64) * q
    k = np.floor(w + np.maximum(_NOISE * np.maximum(1.0, np.abs(w)), np.asarray(tol) * q))
    return k / q


def solve_exact(sub: Instance, lp: LP, keep: dict):
    """LEMON on the block's network (from its kept tree) and the KKT certificate.

    (solution, start, info): `solution` is a RawSolution when the network's point and
    duals pass the KKT check (exact scaling), else None; `start` is the network's
    NetworkStart (its LP basis built when the certificate did not hold) or None when the
    network could not be solved (infeasible, out of integer range)."""
    from ..model.network import network_start
    from ..solve import _certified_solution

    try:
        start, info = network_start(sub, lp, "lemon", keep=keep, certify=True, rebuild=True)
    except Exception as e:  # the network is only one way to the answer: HiGHS remains
        return None, None, {"network": f"failed: {type(e).__name__}: {e}"}
    if start is not None and start.duals is not None:
        return _certified_solution(lp, start), start, info
    return None, start, info
