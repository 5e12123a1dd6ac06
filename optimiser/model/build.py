"""The LP of docs/MODEL.md, assembled from the instance's numpy arrays.

One small function per block (variables, balance, readiness, supplier capacity,
contracts, budget); each returns its rows as COO triplets (row, col, value) and
bounds. No Python object or call per variable or per nonzero.

Variable order: x (lane-major, days 0..T-1-L_l), s (pair-major, all days),
u (where demand > 0), r (where floor > 0 and the floor is soft).
Row order: balance (pair-major), readiness, supplier capacity, contracts, budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..instance import Instance

if TYPE_CHECKING:  # scipy is imported only by the code that needs a scipy matrix
    import scipy.sparse as sp

INF = np.inf


@dataclass(frozen=True, eq=False)
class Variables:
    """Index maps from variable ids back to the instance's terms."""

    n: int
    x_start: int
    x_lane: np.ndarray  # [nx] lane of each x
    x_day: np.ndarray  # [nx] departure day
    x_offset: np.ndarray  # [L+1] first x id of each lane (relative to x_start)
    s_start: int  # s[i,t] = s_start + i*T + t
    u_start: int
    u_flat: np.ndarray  # [nu] flat (i*T + t) of each u
    r_start: int
    r_flat: np.ndarray  # [nr] flat (i*T + t) of each r
    lb: np.ndarray
    ub: np.ndarray
    cost: np.ndarray

    @property
    def nx(self) -> int:
        return len(self.x_lane)


@dataclass
class Block:
    """Rows of one constraint block as COO triplets, with row bounds and labels."""

    name: str
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    meta: dict = field(default_factory=dict)  # index maps back to the instance

    @property
    def n(self) -> int:
        return len(self.lo)


class Csr:
    """A CSR matrix as three numpy arrays, with the products the engine needs (A @ v,
    A.T @ y). Light: no scipy import on the solve path; `scipy()` gives the same matrix
    as a scipy.sparse.csr_matrix (sharing the arrays) for the code that needs one."""

    __slots__ = ("data", "indices", "indptr", "shape", "_rows")

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 shape: tuple[int, int]):
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = (int(shape[0]), int(shape[1]))
        self._rows = None

    @classmethod
    def of(cls, A) -> Csr:
        """A Csr of a scipy CSR matrix (or a Csr), sharing its arrays."""
        if isinstance(A, Csr):
            return A
        return cls(A.data, A.indices, A.indptr, A.shape)

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def rows(self) -> np.ndarray:
        """The row of each nonzero (computed once)."""
        if self._rows is None:
            self._rows = np.repeat(np.arange(self.shape[0], dtype=np.int32),
                                   np.diff(self.indptr))
        return self._rows

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return np.bincount(self.rows, weights=self.data * v[self.indices],
                           minlength=self.shape[0])

    @property
    def T(self) -> _CsrT:
        return _CsrT(self)

    def scipy(self) -> sp.csr_matrix:
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


class _CsrT:
    """The transpose of a Csr, for products only."""

    __slots__ = ("a",)

    def __init__(self, a: Csr):
        self.a = a

    @property
    def shape(self) -> tuple[int, int]:
        return self.a.shape[1], self.a.shape[0]

    def __matmul__(self, y: np.ndarray) -> np.ndarray:
        a = self.a
        return np.bincount(a.indices, weights=a.data * y[a.rows], minlength=a.shape[1])


class DeferredCsr:
    """A CSR matrix still to be assembled from its COO triplets: `build_lp` hands one to
    the LP, which assembles it on first use of `lp.csr`. The network stage needs only the
    LP's bounds and right-hand sides, so the matrix is assembled while the network simplex
    runs in a forked child (model/network.py, `solve_lemon`'s while_waiting), off the
    critical path."""

    __slots__ = ("parts", "shape", "nnz")

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 shape: tuple[int, int]):
        """parts: (rows, cols, vals) of each block, rows already offset."""
        self.parts = parts
        self.shape = (int(shape[0]), int(shape[1]))
        self.nnz = sum(len(p[2]) for p in parts)

    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(3))

    def assemble(self) -> Csr:
        return _csr(*self.triplets(), *self.shape)


class LP:
    """min cost·v s.t. row_lo <= A v <= row_hi, lb <= v <= ub; A is CSR.

    `csr`: the matrix as a light Csr (what the engine uses); `A`: the same matrix as a
    scipy.sparse.csr_matrix, made on first use (scipy is imported only then). Either may
    be given to the constructor, or a DeferredCsr (assembled on first use of `csr`)."""

    def __init__(self, instance: Instance, vars: Variables, A, row_lo: np.ndarray,
                 row_hi: np.ndarray, blocks: dict[str, slice], block_meta: dict[str, dict]):
        self.instance = instance
        self.vars = vars
        self._deferred = A if isinstance(A, DeferredCsr) else None
        self._csr = None if self._deferred is not None else Csr.of(A)
        self._A = None if isinstance(A, (Csr, DeferredCsr)) else A
        self.row_lo = row_lo
        self.row_hi = row_hi
        self.blocks = blocks  # block name -> row range
        self.block_meta = block_meta

    @property
    def csr(self) -> Csr:
        # no lock (a process forked while another thread held one would inherit it held):
        # two threads asking at once may both assemble the same matrix, one is kept
        c = self._csr
        if c is None:
            d = self._deferred
            if d is None:  # assembled by another thread meanwhile (_csr is set first)
                return self._csr
            c = d.assemble()
            self._csr = c
            self._deferred = None
        return c

    @property
    def A(self) -> sp.csr_matrix:
        if self._A is None:
            self._A = self.csr.scipy()
        return self._A

    @property
    def size(self) -> dict:
        m = self._csr if self._csr is not None else self._deferred
        if m is None:  # assembled by another thread meanwhile
            m = self.csr
        return {"variables": int(m.shape[1]), "constraints": int(m.shape[0]),
                "nonzeros": int(m.nnz)}


# variables ----------------------------------------------------------------
def define_variables(inst: Instance, full: bool = False, *,
                     unmet_cap: np.ndarray | None = None) -> Variables:
    """full: a u for every (pair, day) and an r (with its soft-floor row) for every one,
    bounds 0 where there is no demand or soft floor, so that later changes of demand or
    floors change bounds only (model/session.py keeps one model across such changes).
    unmet_cap [I, T] (optional): a further upper bound on u (planning for reliability
    caps consumption rationing at the expected-demand plan's)."""
    T = inst.horizon
    n_per_lane = np.maximum(T - inst.lane_lead, 0)
    x_offset = np.zeros(inst.n_lanes + 1, dtype=np.int64)
    np.cumsum(n_per_lane, out=x_offset[1:])
    nx = int(x_offset[-1])
    x_lane = np.repeat(np.arange(inst.n_lanes, dtype=np.int64), n_per_lane)
    x_day = np.arange(nx, dtype=np.int64) - x_offset[x_lane]
    I = inst.n_pairs
    ns = I * T
    soft = np.repeat(~inst.readiness_hard, T)
    if full:
        u_flat = r_flat = np.arange(I * T, dtype=np.int64)
    else:
        u_flat = np.flatnonzero(inst.demand.ravel() > 0)
        r_flat = np.flatnonzero((inst.floor.ravel() > 0) & soft)
    s_start, u_start = nx, nx + ns
    r_start = u_start + len(u_flat)
    n = r_start + len(r_flat)

    lb = np.zeros(n)
    ub = np.empty(n)
    cost = np.empty(n)
    ub[:nx] = inst.lane_capacity[x_lane]
    cost[:nx] = (inst.lane_price + inst.lane_cost)[x_lane]
    hard = np.repeat(inst.readiness_hard, T)
    lb[s_start:u_start] = np.where(hard, inst.floor.ravel(), 0.0)
    ub[s_start:u_start] = np.repeat(inst.max_stock, T)
    cost[s_start:u_start] = np.repeat(inst.holding_cost, T)
    ub[u_start:r_start] = inst.demand.ravel()[u_flat]
    if unmet_cap is not None:
        ub[u_start:r_start] = np.minimum(ub[u_start:r_start],
                                         np.maximum(np.asarray(unmet_cap, float).ravel()[u_flat], 0.0))
    cost[u_start:r_start] = inst.shortfall_penalty[u_flat // T]
    ub[r_start:] = np.where(soft[r_flat], inst.floor.ravel()[r_flat], 0.0)
    cost[r_start:] = inst.readiness_penalty[r_flat // T]
    return Variables(n=n, x_start=0, x_lane=x_lane, x_day=x_day, x_offset=x_offset,
                     s_start=s_start, u_start=u_start, u_flat=u_flat, r_start=r_start,
                     r_flat=r_flat, lb=lb, ub=ub, cost=cost)


# blocks -------------------------------------------------------------------
def define_balance(inst: Instance, v: Variables) -> Block:
    """s[i,t] - s[i,t-1] - arrivals + node dispatches - u[i,t] = pipeline - demand (+ initial at t=0)."""
    I, T = inst.n_pairs, inst.horizon
    flat = np.arange(I * T, dtype=np.int64)
    t = flat % T
    prev = flat[t > 0]
    lane, day = v.x_lane, v.x_day
    xid = v.x_start + np.arange(v.nx, dtype=np.int64)
    arr_row = inst.lane_dest[lane] * T + day + inst.lane_lead[lane]
    from_node = ~inst.lane_from_supplier[lane]
    dep_row = inst.lane_origin[lane[from_node]] * T + day[from_node]
    rows = np.concatenate([flat, prev, arr_row, dep_row, v.u_flat])
    cols = np.concatenate([v.s_start + flat, v.s_start + prev - 1, xid, xid[from_node],
                           v.u_start + np.arange(len(v.u_flat))])
    vals = np.concatenate([np.ones(I * T), -np.ones(len(prev)), -np.ones(v.nx),
                           np.ones(int(from_node.sum())), -np.ones(len(v.u_flat))])
    rhs = (inst.pipeline - inst.demand).ravel().copy()
    rhs[t == 0] += inst.initial_stock
    return Block("balance", rows, cols, vals, rhs, rhs.copy())


def define_readiness(inst: Instance, v: Variables) -> Block:
    """s[i,t] + r[i,t] >= floor[i,t] where the floor is soft and positive (full: every
    (pair, day), with 0 where the floor is hard or zero)."""
    n = len(v.r_flat)
    k = np.arange(n, dtype=np.int64)
    rows = np.concatenate([k, k])
    cols = np.concatenate([v.s_start + v.r_flat, v.r_start + k])
    soft = ~inst.readiness_hard[v.r_flat // inst.horizon]
    lo = np.where(soft, inst.floor.ravel()[v.r_flat], 0.0)
    return Block("readiness", rows, cols, np.ones(2 * n), lo, np.full(n, INF),
                 meta={"flat": v.r_flat})


def _supplier_x(inst: Instance, v: Variables) -> tuple[np.ndarray, np.ndarray]:
    """(x ids, supplier pair p) of every dispatch out of a supplier."""
    sel = inst.lane_from_supplier[v.x_lane]
    xid = v.x_start + np.flatnonzero(sel)
    return xid, inst.lane_origin[v.x_lane[sel]]


def define_supplier_capacity(inst: Instance, v: Variables) -> Block:
    """Σ_{l out of p} x[l,t] <= capacity[p,t], one row per (p, t) with a dispatch variable."""
    T = inst.horizon
    xid, p = _supplier_x(inst, v)
    code = p * T + v.x_day[xid - v.x_start]
    keys, row = np.unique(code, return_inverse=True)
    hi = inst.capacity.ravel()[keys]
    return Block("supplier_capacity", row.astype(np.int64), xid, np.ones(len(xid)),
                 np.full(len(keys), -INF), hi, meta={"pair": keys // T, "day": keys % T})


def define_contracts(inst: Instance, v: Variables, full: bool = False) -> Block:
    """contract_min <= Σ_{l out of p, t} x[l,t] <= contract_max, for p with a contract
    (full: for every supplier pair)."""
    has = (inst.contract_min > 0) | np.isfinite(inst.contract_max) | full
    pairs = np.flatnonzero(has)
    row_of = np.full(inst.n_supplier_pairs, -1, dtype=np.int64)
    row_of[pairs] = np.arange(len(pairs))
    xid, p = _supplier_x(inst, v)
    keep = row_of[p] >= 0
    return Block("contract", row_of[p[keep]], xid[keep], np.ones(int(keep.sum())),
                 inst.contract_min[pairs].astype(float), inst.contract_max[pairs].astype(float),
                 meta={"pair": pairs})


def define_budget(inst: Instance, v: Variables) -> Block:
    """Σ unit_price · x over dispatches out of suppliers <= budget."""
    if inst.budget is None:
        return Block("budget", *(np.zeros(0, dtype=np.int64),) * 2, np.zeros(0), np.zeros(0),
                     np.zeros(0))
    xid, p = _supplier_x(inst, v)
    price = inst.unit_price[p]
    nz = price != 0
    return Block("budget", np.zeros(int(nz.sum()), dtype=np.int64), xid[nz], price[nz],
                 np.array([-INF]), np.array([float(inst.budget)]))


BLOCKS = (define_balance, define_readiness, define_supplier_capacity, define_contracts,
          define_budget)


def build_lp(inst: Instance, full: bool = False, *, unmet_cap: np.ndarray | None = None) -> LP:
    """full: the structure stays the same when demand, floors, contracts change (every u, r,
    soft-floor row and contract row present, zero bounds where unused).
    unmet_cap: see define_variables."""
    v = define_variables(inst, full, unmet_cap=unmet_cap)
    blocks = [define_contracts(inst, v, full) if f is define_contracts else f(inst, v)
              for f in BLOCKS]
    offsets = np.cumsum([0] + [b.n for b in blocks])
    A = DeferredCsr([(b.rows + off, b.cols, b.vals) for b, off in zip(blocks, offsets)],
                    (int(offsets[-1]), v.n))  # assembled on first use of lp.csr
    return LP(instance=inst, vars=v, A=A,
              row_lo=np.concatenate([b.lo for b in blocks]),
              row_hi=np.concatenate([b.hi for b in blocks]),
              blocks={b.name: slice(int(o), int(o) + b.n) for b, o in zip(blocks, offsets)},
              block_meta={b.name: b.meta for b in blocks})


ZERO = 1e-9  # solver noise below this (relative to 1) is written as exact zero


def dispatch_and_rationing(lp: LP, values: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The plan's arrays from an LP solution: dispatches x [L, T] and rationing u [I, T] of
    lp.instance, solver noise below ZERO (relative) written as exact zero, each value held
    inside its bounds (zeros when there is no solution)."""
    inst = lp.instance
    x = np.zeros((inst.n_lanes, inst.horizon))
    u = np.zeros((inst.n_pairs, inst.horizon))
    if values is None:
        return x, u
    v = lp.vars
    xv = values[:v.nx]
    xv = np.where(xv > ZERO * np.maximum(1.0, np.abs(xv)), xv, 0.0)
    x[v.x_lane, v.x_day] = np.minimum(xv, v.ub[:v.nx])
    u.ravel()[v.u_flat] = np.clip(values[v.u_start:v.r_start], 0.0, v.ub[v.u_start:v.r_start])
    u[u < ZERO] = 0.0
    return x, u


def _csr(rows, cols, vals, m, n) -> Csr:
    """COO -> CSR by a counting sort on rows (no duplicate entries by construction)."""
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    return Csr(vals[order], cols[order].astype(np.int32), indptr.astype(np.int32), (m, n))


def lp_size(inst: Instance) -> dict:
    """Variables, constraints and nonzeros of the LP, counted without building it."""
    T = inst.horizon
    n_per_lane = np.maximum(T - inst.lane_lead, 0)
    nx = int(n_per_lane.sum())
    I = inst.n_pairs
    nu = int((inst.demand > 0).sum())
    nr = int(((inst.floor > 0) & ~inst.readiness_hard[:, None]).sum())
    from_node_x = int(n_per_lane[~inst.lane_from_supplier].sum())
    sup_lanes = inst.lane_from_supplier
    sup_x = int(n_per_lane[sup_lanes].sum())
    # capacity rows: distinct (p, t) with some dispatch: day t has a variable on lane l iff t < T - L_l
    P = inst.n_supplier_pairs
    max_days = np.zeros(P, dtype=np.int64)
    np.maximum.at(max_days, inst.lane_origin[sup_lanes], n_per_lane[sup_lanes])
    n_cap = int(max_days.sum())
    has_contract = (inst.contract_min > 0) | np.isfinite(inst.contract_max)
    contract_x = int(n_per_lane[sup_lanes][has_contract[inst.lane_origin[sup_lanes]]].sum())
    budget_x = 0
    if inst.budget is not None:
        priced = inst.unit_price[inst.lane_origin[sup_lanes]] != 0
        budget_x = int(n_per_lane[sup_lanes][priced].sum())
    variables = nx + I * T + nu + nr
    constraints = I * T + nr + n_cap + int(has_contract.sum()) + (inst.budget is not None)
    nonzeros = (I * T + I * (T - 1) + nx + from_node_x + nu + 2 * nr + sup_x + contract_x
                + budget_x)
    return {"variables": variables, "constraints": constraints, "nonzeros": nonzeros}


def refresh_lp(lp: LP, inst: Instance) -> LP:
    """`lp` (built with full=True, no budget) for changed data of the same shapes: new
    bounds, costs and right-hand sides, the same matrix (no re-assembly). What a session
    does between solves; equal to build_lp(inst, full=True) (tested)."""
    if inst.budget is not None or lp.instance.budget is not None:
        return build_lp(inst, full=True)
    v = define_variables(inst, full=True)
    T = inst.horizon
    lo, hi = lp.row_lo.copy(), lp.row_hi.copy()
    rhs = (inst.pipeline - inst.demand).ravel().copy()
    rhs[::T] += inst.initial_stock
    b = lp.blocks
    lo[b["balance"]] = rhs
    hi[b["balance"]] = rhs
    soft = ~inst.readiness_hard[v.r_flat // T]
    lo[b["readiness"]] = np.where(soft, inst.floor.ravel()[v.r_flat], 0.0)
    meta = lp.block_meta["supplier_capacity"]
    hi[b["supplier_capacity"]] = inst.capacity.ravel()[np.asarray(meta["pair"]) * T
                                                       + np.asarray(meta["day"])]
    pairs = lp.block_meta["contract"]["pair"]
    lo[b["contract"]] = inst.contract_min[pairs]
    hi[b["contract"]] = inst.contract_max[pairs]
    return LP(instance=inst, vars=v, A=lp.csr, row_lo=lo, row_hi=hi, blocks=lp.blocks,
              block_meta=lp.block_meta)
