"""The LP's optimal solution and duals read off the network simplex, KKT-verified.

When the network is an exact integer scaling of the LP (model/network.py), the
network simplex's flow is an optimal LP point and its node potentials are an
optimal dual certificate: nothing is left for HiGHS to do. This module maps the
potentials to the LP's row duals (convention of model/duals.py: c = A^T y + d) and
checks the pair by the KKT conditions; only a verified pair replaces the HiGHS
solve (`certified`). Anything else (rounded data, a dual that fails the check)
goes to HiGHS from the network's basis as before.

The mapping (C the cost scale; pi LEMON's potentials, reduced cost of arc u->v is
cost + pi[u] - pi[v]; the LP's ground G stands for SRC, SINK and the suppliers
without a contract row, whose potentials can all be set to pi[SINK] without
losing dual feasibility: see below):

* balance row of N(i,t):   y = (pi[G] - pi[N]) / C;
* contract row of p:       y = (pi[G] - pi[A(p)]) / C;
* capacity row of (p,t):   y = min(rc(A(p) -> P(p,t)), 0) / C;
* soft-floor row of (i,t): the readiness penalty below the floor, 0 above it, and
  at it the stock arc's reduced cost clipped to [0, penalty].

SRC's out-arcs other than SRC -> SINK are all empty when SRC -> SINK is full and
full when it is empty (or SRC's potential is already SINK's when it is between),
so moving pi[SRC] to pi[SINK] keeps every reduced cost's sign; likewise A(p)
without a contract row (its arc from SRC empty: every procurement arc of p empty;
full: every one full), and a contract's A(p) whose arc from SRC is full below the
contract maximum (every procurement arc of p full).
"""

from __future__ import annotations

import numpy as np

from .build import LP


def network_duals(lp: LP, net, flow: np.ndarray, pot: np.ndarray) -> np.ndarray:
    """Row duals y of `lp` from the network's flow (scaled) and potentials."""
    inst, v, o, nd = lp.instance, lp.vars, net.offsets, net.nodes
    T, I, P = inst.horizon, inst.n_pairs, inst.n_supplier_pairs
    A0, SRC, SINK = nd["A0"], nd["SRC"], nd["SINK"]
    C = float(net.C)
    pi = np.asarray(pot, dtype=np.int64).copy()
    g = pi[SINK]
    pi[SRC] = g
    con_pairs = np.asarray(lp.block_meta["contract"]["pair"], dtype=np.int64)
    has_con = np.zeros(P, dtype=bool)
    has_con[con_pairs] = True
    pi[A0 + np.flatnonzero(~has_con)] = g
    ca = o["contract"] + con_pairs
    activity = (flow[ca] + net.cmin[con_pairs]) / net.Q
    below_max = activity < inst.contract_max[con_pairs] - 1e-12 * np.maximum(
        1.0, np.abs(np.where(np.isfinite(inst.contract_max[con_pairs]),
                             inst.contract_max[con_pairs], 0.0)))
    lift = (flow[ca] == net.caps[ca]) & below_max & (pi[A0 + con_pairs] > g)
    pi[A0 + con_pairs[lift]] = g

    y = np.zeros(lp.csr.shape[0])
    nN = I * T
    y[lp.blocks["balance"]] = (g - pi[:nN]) / C
    y[lp.blocks["contract"]] = (g - pi[A0 + con_pairs]) / C
    meta = lp.block_meta["supplier_capacity"]
    cp, ct = np.asarray(meta["pair"], np.int64), np.asarray(meta["day"], np.int64)
    pa_ = o["proc"] + cp * T + ct
    rc_proc = net.costs[pa_] + pi[net.tails[pa_]] - pi[net.heads[pa_]]
    y[lp.blocks["supplier_capacity"]] = np.minimum(rc_proc, 0) / C
    # soft-floor rows, in r order
    k = v.r_flat
    s1, s2 = o["slice1"] + k, o["slice2"] + k
    stock = flow[s1] + flow[s2] + np.round(net.lb[k]).astype(np.int64)
    fl = np.round(lp.row_lo[lp.blocks["readiness"]] * net.Q)
    pen = v.cost[v.r_start:]
    rc2 = (net.costs[s2] + pi[net.tails[s2]] - pi[net.heads[s2]]) / C
    rho = np.where(stock < fl, pen, np.where(stock > fl, 0.0, np.clip(rc2, 0.0, pen)))
    y[lp.blocks["readiness"]] = np.where(fl > 0, rho, np.where(stock == 0, np.clip(rc2, 0.0, pen),
                                                                0.0))
    return y


def certified(lp: LP, net, flow: np.ndarray, pot: np.ndarray | None, point: np.ndarray):
    """(duals, KKTReport) when the network's point and potentials are an optimal pair of
    `lp` by the KKT conditions (exact scaling only), else (None, report or None)."""
    if pot is None or not net.exact:
        return None, None
    from .duals import kkt_check

    y = network_duals(lp, net, flow, pot)
    report = kkt_check(lp, point, y)
    return (y if report.ok else None), report


def certified_solution(lp: LP, start):
    """The LP's optimum from the network alone: its point and KKT-verified duals (a
    RawSolution; as solve._certified_solution, the objective summed without BLAS)."""
    from .backends import RawSolution
    from .duals import dot
    from .status import Status

    v = start.point
    return RawSolution(status=Status.OPTIMAL, backend_status="kOptimal", values=v,
                       duals=start.duals, objective=dot(lp.vars.cost, v),
                       info={"simplex_iterations": 0, "ipm_iterations": 0,
                             "highs_method": "network certificate (KKT-verified, no HiGHS)"},
                       kkt=start.kkt)
