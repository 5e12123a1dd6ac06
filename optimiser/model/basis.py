"""An LP basis from a network flow: what makes HiGHS's "polish" almost free.

A point hands simplex a crossover problem (tens of thousands of iterations on a
100k-variable block); a basis hands it a vertex. The LP of one commodity without
a budget is, after invertible row operations, a network matrix plus the soft-floor
rows:

* every balance row is a node N(i,t); every supplier-capacity row a node P(p,t),
  whose row activity (sum of the day's dispatches) is an arc A(p) -> P(p,t); every
  contract row a node A(p) (the contract row minus the capacity rows of p), whose
  activity is an arc from the ground;
* the ground G stands for what is not a row: SRC, SINK, and A(p) without a contract;
* the columns x, s, u are arcs (x: lane, s: N(i,t) -> N(i,t+1) or -> G after the last
  day, u: G -> N(i,t)); a soft-floor row s + r >= floor has two columns of its own,
  r and its activity z, each appearing in that row only.

A set of arcs is a basis of the network part exactly when it is a spanning tree of
those nodes plus G; each soft-floor row then adds one basic variable of its own
(r, or z, or s itself when s sits between its bounds but is not a tree arc). So:
arcs strictly between their LP bounds must be basic (they form a forest in a
vertex); the tree is completed from arcs whose network reduced cost is zero (the
ones that keep the network's potentials dual-feasible), then from any others — a
minimum spanning tree with weights 1 / 2 / 3. Nonbasic arcs sit at the bound their
value is at. When every tree arc has a zero reduced cost the basis is optimal and
HiGHS needs no iteration; otherwise it needs a few (primal simplex from a feasible
vertex).
"""

from __future__ import annotations

import numpy as np

from ..instance import Instance
from .build import LP

LOWER, BASIC, UPPER = 0, 1, 2  # HighsBasisStatus codes


def _fail(reason: str):
    return None, reason


def _rounded(a: np.ndarray, Q: float) -> np.ndarray:
    return np.where(np.isfinite(a), np.round(a * Q) / Q, a)


def _at(value, bound):
    return np.isfinite(bound) & (np.abs(value - bound) <= 1e-9 * np.maximum(1.0, np.abs(bound)))


def lp_basis(inst: Instance, lp: LP, net, flow: np.ndarray, pot: np.ndarray | None,
             point: np.ndarray):
    """((col_status, row_status) as HighsBasisStatus codes, "") or (None, why not)."""
    v, o, nd = lp.vars, net.offsets, net.nodes
    T, I = inst.horizon, inst.n_pairs
    A0, SRC, SINK = nd["A0"], nd["SRC"], nd["SINK"]
    Q = float(net.Q)
    # the ground: SINK and A(p) without a contract are SRC in the LP's network
    con_pairs = np.asarray(lp.block_meta["contract"]["pair"], dtype=np.int64)
    ground = np.arange(net.n_nodes, dtype=np.int64)
    ground[SINK] = SRC
    has_con = np.zeros(inst.n_supplier_pairs, dtype=bool)
    has_con[con_pairs] = True
    ground[A0 + np.flatnonzero(~has_con)] = SRC
    if pot is not None:
        # reduced costs with the ground's potential shared (the LP's duals are 0 there): a
        # tree of such zero arcs is dual feasible in the LP, not only in the network
        pot = pot[ground]
        rc = np.abs(net.costs + pot[net.tails] - pot[net.heads]).astype(np.float64)
    else:
        rc = np.ones(net.n_arcs)
    zero = rc == 0

    cap_meta = lp.block_meta["supplier_capacity"]
    cap_p, cap_t = np.asarray(cap_meta["pair"], np.int64), np.asarray(cap_meta["day"], np.int64)
    cap_arc = o["proc"] + cap_p * T + cap_t
    n_stock = I * T
    s1 = o["slice1"] + np.arange(n_stock)
    s2 = o["slice2"] + np.arange(n_stock)
    nu = len(v.u_flat)
    un = o["unmet"] + np.arange(nu)
    con_arc = o["contract"] + con_pairs
    lane = np.arange(v.nx)

    # the LP's arcs, group by group: x, s, u, capacity rows, contract rows
    groups = [
        (net.tails[lane], net.heads[lane], point[:v.nx], v.lb[:v.nx], v.ub[:v.nx], rc[lane]),
        (net.tails[s1], net.heads[s1], point[v.s_start:v.u_start], v.lb[v.s_start:v.u_start],
         v.ub[v.s_start:v.u_start], np.minimum(rc[s1], rc[s2])),
        (net.tails[un], net.heads[un], point[v.u_start:v.r_start], v.lb[v.u_start:v.r_start],
         v.ub[v.u_start:v.r_start], rc[un]),
        (net.tails[cap_arc], net.heads[cap_arc], flow[cap_arc] / Q,
         lp.row_lo[lp.blocks["supplier_capacity"]], lp.row_hi[lp.blocks["supplier_capacity"]],
         rc[cap_arc]),
        (np.full(len(con_pairs), SRC), A0 + con_pairs, (flow[con_arc] + net.cmin[con_pairs]) / Q,
         lp.row_lo[lp.blocks["contract"]], lp.row_hi[lp.blocks["contract"]], rc[con_arc]),
    ]
    tail = ground[np.concatenate([g[0] for g in groups])]
    head = ground[np.concatenate([g[1] for g in groups])]
    val = np.concatenate([g[2] for g in groups])
    # bounds as the network saw them (rounded to its quantity scale when the data are not
    # exact): the statuses say which bound is active; HiGHS computes the values from the
    # true bounds, so a basis of the rounded network is a near-feasible vertex of the LP
    lo = _rounded(np.concatenate([g[3] for g in groups]), Q)
    hi = _rounded(np.concatenate([g[4] for g in groups]), Q)
    arc_rc = np.concatenate([g[5] for g in groups])
    at_lo, at_hi = _at(val, lo), _at(val, hi)
    interior = ~at_lo & ~at_hi
    # a stock level between its bounds need not be a tree arc: at a soft floor (first slice
    # full, second empty) the floor's row makes it basic; the tree needs it only when a
    # slice is strictly between its bounds
    free = (flow > 0) & (flow < net.caps)
    sl = slice(len(lane), len(lane) + n_stock)
    interior[sl] &= free[s1] | free[s2]
    # then arcs of zero reduced cost; then the others, smallest reduced cost first (binned
    # by powers of two): each such tree arc costs HiGHS about one pivot
    weight = np.where(interior, 1, np.where(arc_rc == 0, 2, 3 + np.floor(np.log2(1 + arc_rc))))
    # graph on the nodes that are rows, plus G
    used = np.unique(np.concatenate([tail, head, [SRC]]))
    a = np.searchsorted(used, tail)
    b = np.searchsorted(used, head)
    loop = a == b
    if (loop & interior).any():
        return _fail('an interior arc is a loop of the ground')
    in_tree = np.zeros(len(val), dtype=bool)
    n_tree = _spanning_forest(len(used), a, b, weight, ~loop, in_tree)
    if n_tree != len(used) - 1:
        return _fail("the rows' network is not connected")
    status = np.where(in_tree, BASIC, np.where(at_lo, LOWER, np.where(at_hi, UPPER, -1)))
    sizes = np.cumsum([0] + [len(g[2]) for g in groups])
    col = np.empty(v.n, dtype=np.int8)
    row = np.full(lp.csr.shape[0], LOWER, dtype=np.int8)
    col[:v.nx] = status[sizes[0]:sizes[1]]
    s_stat = status[sizes[1]:sizes[2]].copy()
    col[v.u_start:v.r_start] = status[sizes[2]:sizes[3]]
    row[lp.blocks["supplier_capacity"]] = status[sizes[3]:sizes[4]]
    row[lp.blocks["contract"]] = status[sizes[4]:sizes[5]]
    # soft-floor rows: one more basic each (r, the row's activity, or s off the tree)
    k = v.r_flat
    s_val = point[v.s_start + k]
    fl = _rounded(lp.row_lo[lp.blocks["readiness"]], Q)
    s_tree = in_tree[sizes[1] + k]
    s_extra = (s_stat[k] == -1)
    below = s_val < fl - 1e-9 * np.maximum(1.0, fl)
    above = s_val > fl + 1e-9 * np.maximum(1.0, fl)
    r_open = v.ub[v.r_start:] > 0  # a fixed r (no soft floor that day) is never the one
    r_basic = np.where(s_tree, below | (~above & zero[s1[k]]), ~above) & ~s_extra & r_open
    z_basic = ~r_basic & ~s_extra
    s_stat[k[s_extra]] = BASIC
    col[v.s_start:v.u_start] = s_stat
    r_ub = _rounded(v.ub[v.r_start:], Q)
    r_val = np.maximum(r_ub - s_val, 0.0)
    r_nb = np.where(_at(r_val, r_ub) & ~_at(r_val, 0.0), UPPER, LOWER)
    if (s_extra & ~_at(r_val, 0.0)).any():
        return _fail('a stock level off the tree away from its floor')
    col[v.r_start:] = np.where(r_basic, BASIC, r_nb)
    row[lp.blocks["readiness"]] = np.where(z_basic, BASIC, LOWER)
    if (col < 0).any() or (row < 0).any():
        return _fail('a variable off the tree between its bounds')
    if int((col == BASIC).sum() + (row == BASIC).sum()) != lp.csr.shape[0]:
        return _fail('basic count differs from the rows')
    n_off = int((in_tree & (weight >= 3)).sum())
    return (col, row), f"spanning tree ({n_off} tree arcs of nonzero reduced cost)"


def _spanning_forest(n: int, a: np.ndarray, b: np.ndarray, weight: np.ndarray,
                     usable: np.ndarray, in_tree: np.ndarray) -> int:
    """A minimum spanning forest for weights taken class by class (lowest first): within a
    class, rounds in which every component root hooks onto a smaller root through one
    crossing edge (hooks point to smaller ids, so they never close a cycle), then the
    labels are compressed. Marks in_tree; returns the number of tree edges. numpy only
    (no scipy.sparse.csgraph import on the solve path)."""
    parent = np.arange(n, dtype=np.int64)
    count = 0
    for w in np.unique(weight[usable]):
        edges = np.flatnonzero(usable & (weight == w))
        while len(edges):
            ca, cb = parent[a[edges]], parent[b[edges]]
            cross = ca != cb
            edges, ca, cb = edges[cross], ca[cross], cb[cross]
            if not len(edges):
                break
            lo, hi = np.minimum(ca, cb), np.maximum(ca, cb)
            roots, first = np.unique(hi, return_index=True)
            parent[roots] = lo[first]
            in_tree[edges[first]] = True
            count += len(roots)
            while True:  # pointer jumping: every node points at its root
                nxt = parent[parent]
                if np.array_equal(nxt, parent):
                    break
                parent = nxt
    return count
