"""A Session's network path (no budget): one retained network per commodity block.

Each commodity block keeps, between solves, its LP structure (`build_lp(full=True)`),
its LEMON graph with the last spanning-tree basis (network.solve_lemon keep=), and,
for data that cannot be scaled to exact integers, a HiGHS model of the block. A
re-solve then, block by block:

* reuses the block's last result when none of its data changed (a floor change on one
  commodity re-solves that commodity only);
* when the block's data did not scale to exact integers at its last solve (so HiGHS
  finished it), first pushes the changes into its kept HiGHS model and runs the dual
  simplex from the last basis with a small iteration budget (HIGHS_FIRST_FRACTION);
  only if that runs out does it go on the network's way below;
* otherwise pushes the new supplies, capacities and costs into the kept graph and
  restarts LEMON from its last tree (dual-ratio repair; `network_warm` says whether it
  stayed warm, read from LEMON's own counters). When many arcs' last flows are above
  their new capacities, or much flow must move (every capacity cut, stock raised on
  many pairs: network.WARM_MAX_OVER, WARM_MAX_MOVED), the restart measured 2-7x
  slower than a fresh solve on the 100k tier, so the graph is rebuilt instead —
  reported as such (`network_rebuilt`);
* with exact scaling the flow and the potentials' duals are KKT-verified
  (model/certificate.py) and are the block's answer; otherwise the tree becomes an LP
  basis for the block's kept HiGHS model, which finishes on the true data.

The changed blocks are solved side by side in threads when LEMON is the compiled
library's (its kept graph releases the interpreter lock: `_block_map`), else one after
the other; each block has its own state, so the answer is the same either way.

The returned plan is checked block by block (`check_blocks`: the blocks share no
constraint without a budget, so the checker's report of the whole plan is the merge
of its reports of the blocks' plans); an unchanged block keeps its last report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..execution import local_map, serial_map
from ..instance import Instance
from ..solve import BlockResult
from .build import LP, build_lp, dispatch_and_rationing, refresh_lp
from .decompose import Block, can_decompose, split_by_commodity
from .status import Status

#: the quantity scale a session starts with (model/network.py scales quantities to
#: integers): fine enough that demand or floors changed by a few percent stay exact
SESSION_QUANTITY_SCALE = 1000

#: data that do not scale to exact integers: a warm re-solve first gives HiGHS's dual
#: simplex, from the block's kept model and its last basis, this fraction of the block's
#: rows in iterations (session.run_within_budget), then goes the network's way.
#: Measured on the 100k-dec tier (two blocks of ~24,500 rows; CPU s of the whole warm
#: re-solve, the network's way first / HiGHS first with ~4,000 iterations, a fresh
#: session 3.6-4.5): demand +5% on 1% of cells 0.69 / 0.76, on 10% 2.77 / 1.58, floors
#: +20% on 5 pairs 1.20 / 0.67, floors +10% everywhere 2.31 / 1.61, initial stock +5%
#: 2.29 / 1.57, pipeline -20% 3.22 / 2.21, one supplier's capacity halved 1.57 / 0.75;
#: slower where the budget runs out first: 30% of floors made hard 3.92 / 4.91, every
#: capacity -10% 3.51 / 6.47 (docs/BENCHMARKS.md).
HIGHS_FIRST_FRACTION = 0.16

#: Instance fields that belong to a block (arrays indexed by its pairs, supplier pairs
#: or lanes); what a block's data are compared on
_FIELDS = ("demand", "floor", "readiness_hard", "initial_stock", "pipeline", "capacity",
           "max_stock", "contract_min", "contract_max", "lane_capacity", "unit_price",
           "lane_cost", "holding_cost", "shortfall_penalty", "readiness_penalty")


@dataclass
class _BlockState:
    keep: dict = field(default_factory=dict)  # the LEMON graph (network.solve_lemon)
    data: dict | None = None  # the block's arrays at its last solve
    result: object = None  # its last BlockResult
    lp: LP | None = None
    highs: object = None  # HiGHS model (non-exact data only)
    highs_lp: LP | None = None
    exact: bool = True  # its data scaled exactly at the last solve (else HiGHS finished it)
    check: tuple | None = None  # (CheckReport, x, s, u) last checked (check_blocks)


def blocks_of(inst: Instance) -> list[Block]:
    if can_decompose(inst):
        return split_by_commodity(inst)
    return [Block(0, inst, np.arange(inst.n_lanes), np.arange(inst.n_pairs),
                  np.arange(inst.n_supplier_pairs))]


def _data(sub: Instance, extra: dict) -> dict:
    d = {k: getattr(sub, k) for k in _FIELDS}
    d.update(extra)
    return d


def _same(a: dict | None, b: dict) -> bool:
    if a is None or a.keys() != b.keys():
        return False
    for k, v in b.items():
        w = a[k]
        if (v is None) != (w is None):
            return False
        if v is not None and not np.array_equal(v, w):
            return False
    return True


def solve_blocks(session, cold: bool) -> tuple[list[Block], list, dict]:
    """Solve every block of the session's instance; (blocks, BlockResults, stats)."""
    inst = session.instance
    blocks = blocks_of(inst)
    if cold or len(session._states) != len(blocks):
        session._states = [_BlockState() for _ in blocks]
    results, per_block, todo = [], [], []
    for i, (b, st) in enumerate(zip(blocks, session._states)):
        extra = {"unmet_max": None if session.unmet_max is None else session.unmet_max[b.pairs],
                 "stock_min": None if session.stock_min is None else session.stock_min[b.pairs]}
        data = _data(b.instance, extra)
        if st.result is not None and _same(st.data, data):
            results.append(st.result)
            per_block.append({"commodity": b.commodity, "how": "unchanged (last result kept)",
                              "warm": True})
        else:
            results.append(None)
            per_block.append(None)
            todo.append((i, b, st, extra, data))

    def one(item):
        i, b, st, extra, data = item
        warm_before = st.result is not None
        res, info = _solve_block(session, b.instance, st, extra)
        st.data, st.result, st.check = data, res, None  # new data: check again
        results[i] = res
        per_block[i] = {"commodity": b.commodity, **info,
                        "warm": warm_before and bool(info.get("warm"))}

    _block_map(session, len(todo))(one, todo)
    stats = {"warm": any(p["warm"] for p in per_block) and all(
        p["warm"] or p.get("cold_by_choice") for p in per_block), "blocks": per_block}
    return blocks, results, stats


def _block_map(session, n: int):
    """How the blocks to solve are mapped: in threads (one per block, at most the
    session's threads) when LEMON is the compiled library's, whose solves release the
    interpreter lock, so the blocks' network restarts run side by side (HiGHS releases it
    too); one after the other with pylmcf, which holds it. Each block has its own graph,
    HiGHS model and state, so the answer is the same either way (tested)."""
    from . import lemon_native

    if n < 2 or not lemon_native.available():
        return serial_map
    return local_map(session.options.threads, name="optimiser-session")


def _bounded_lp(sub: Instance, extra: dict, last: LP | None = None) -> LP:
    lp = build_lp(sub, full=True) if last is None else refresh_lp(last, sub)
    v = lp.vars
    if extra["unmet_max"] is not None:
        v.ub[v.u_start:v.r_start] = np.minimum(v.ub[v.u_start:v.r_start],
                                               np.maximum(extra["unmet_max"].ravel(), 0.0))
    if extra["stock_min"] is not None:
        v.lb[v.s_start:v.u_start] = np.maximum(v.lb[v.s_start:v.u_start],
                                               extra["stock_min"].ravel())
    return lp


def _solve_block(session, sub: Instance, st: _BlockState, extra: dict):
    from .certificate import certified_solution
    from .network import network_start

    t0 = time.perf_counter()
    lp = _bounded_lp(sub, extra, st.lp)
    info: dict = {}
    if not st.exact and st.highs is not None and _same_structure(st.highs_lp, lp):
        sol = _highs_first(session, lp, st, info)
        if sol is not None:
            return _result(session, lp, st, sol, "HiGHS from its last basis (warm)", True,
                           info, t0)
    t = time.perf_counter()
    if not st.keep:
        from .network import build_network

        # the finest quantity scale the data fit exactly (within int64 with the costs'
        # scale), so that small changes stay exact and the tree stays usable
        q = SESSION_QUANTITY_SCALE
        while q > 1:
            net, _ = build_network(sub, lp, (q, None, 0))
            if net is not None and net.exact:
                st.keep["scale"] = (net.Q, net.C, net.big)
                break
            q //= 10
        # the tree's own potentials (network._raw_potentials): the certificate checks them
        st.keep["raw_potentials"] = True
    try:
        start, net_info = network_start(sub, lp, keep=st.keep, certify=True,
                                        rebuild=True)
    except Exception as e:  # the network is only a start
        start, net_info = None, {"network": f"failed: {type(e).__name__}: {e}"}
    info.update(net_info)
    info["network_seconds"] = time.perf_counter() - t
    st.exact = bool(info.get("exact_scaling", True))
    warm = bool(info.get("network_warm"))
    info["cold_by_choice"] = bool(info.get("network_rebuilt"))
    if start is not None and start.duals is not None:
        sol = certified_solution(lp, start)
        how = "network certificate"
    elif (start is None and info.get("exact_scaling")
          and str(info.get("network_status", "OPTIMAL")) != "OPTIMAL"):
        # the network is the LP exactly (integral data): its infeasibility is the LP's
        from .backends import RawSolution

        sol = RawSolution(status=Status.INFEASIBLE, backend_status="network infeasible",
                          info={"simplex_iterations": 0})
        how = "network: infeasible"
    else:
        sol, how, highs_warm = _highs(session, lp, st, start)
        warm = warm or highs_warm
    return _result(session, lp, st, sol, how + (" (warm)" if warm else " (cold)"), warm, info,
                   t0)


def _result(session, lp: LP, st: _BlockState, sol, how: str, warm: bool, info: dict,
            t0: float):
    """The block's BlockResult from its LP's solution (duals KKT-checked), and the info."""
    from ..solve import _duals

    info.update(how=how, warm=warm, simplex_iterations=sol.info.get("simplex_iterations"))
    st.lp = lp
    x, u = dispatch_and_rationing(lp, sol.values)
    res = LazyShadowResult(status=sol.status, backend_status=sol.backend_status, x=x, u=u,
                           solver_objective=sol.objective, size=lp.size, timings={},
                           info={**sol.info, **{k: v for k, v in info.items()
                                                if k.startswith(("network", "exact"))}})
    if sol.status == Status.OPTIMAL and sol.kkt is not None and sol.kkt.ok:
        # the certificate's duals, KKT-verified already: the shadow-price table (names and
        # Arrow arrays, the slowest part of a small re-solve after LEMON) is built when read
        from .duals import shadow_prices

        res.duals = {"duals": {"source": "network", "kkt": sol.kkt.as_dict()}}
        res.later(partial(shadow_prices, lp, sol.values, sol.duals))
    elif sol.status == Status.OPTIMAL:
        res.duals, res.shadow = _duals(lp, sol, session.options)
    info["seconds"] = time.perf_counter() - t0
    res.timings = {"solve": info["seconds"]}
    return res, info


class LazyShadowResult(BlockResult):
    """A BlockResult whose shadow-price table is built on first read (`later`)."""

    _thunk = None

    @property
    def shadow(self):
        if self._thunk is not None:
            self.__dict__["_shadow"], self._thunk = self._thunk(), None
        return self.__dict__.get("_shadow")

    @shadow.setter
    def shadow(self, table):
        self.__dict__["_shadow"], self._thunk = table, None

    def later(self, thunk) -> None:
        self.__dict__["_shadow"], self._thunk = None, thunk

    def __getstate__(self):
        self.shadow  # noqa: B018 (a pending table is built before pickling)
        return self.__dict__


def merge_results(inst: Instance, blocks: list[Block], results: list):
    """solve._merge of the blocks' results, the shadow-price tables concatenated only when
    read (each block's is built lazily too)."""
    from ..solve import _merge
    from .decompose import concat_tables

    if len(results) == 1 and len(blocks[0].lanes) == inst.n_lanes \
            and len(blocks[0].pairs) == inst.n_pairs:
        return results[0]
    from .duals import SHADOW_SCHEMA

    empty = SHADOW_SCHEMA.empty_table()
    bare = []
    for r in results:
        c = object.__new__(type(r))  # a shallow copy (copy.copy would build the table)
        c.__dict__.update(r.__dict__)
        c.shadow = empty  # _merge concatenates these (nothing): the real ones when read
        bare.append(c)
    merged = _merge(inst, blocks, bare)
    res = LazyShadowResult(**{f: getattr(merged, f) for f in (
        "status", "backend_status", "x", "u", "solver_objective", "size", "timings", "info",
        "duals", "infeasibility", "infeasibility_info")})
    if all(r.duals for r in results):
        res.later(partial(_concat_shadow, results, SHADOW_SCHEMA, concat_tables))
    return res


def _concat_shadow(results, schema, concat_tables):
    return concat_tables([r.shadow for r in results], schema, "value")


def _highs(session, lp: LP, st: _BlockState, start):
    """HiGHS on the block's kept model: from the network's basis when there is one, else
    from its own last basis. (solution, how, warm)"""
    from .backends import highs

    reuse = st.highs is not None and _same_structure(st.highs_lp, lp)
    if not reuse:
        st.highs = highs.make_highs(lp, session.options)
        if session.deterministic:
            for k, val in (("parallel", "off"), ("simplex_strategy", 1), ("random_seed", 0)):
                st.highs.setOptionValue(k, val)
    else:
        push_changes(st.highs, st.highs_lp, lp)
    st.highs_lp = lp
    if start is not None and start.col_status is not None:
        highs.set_basis(st.highs, start.col_status, start.row_status)
        how = "HiGHS from the network's basis"
    elif start is not None:
        import highspy

        hs = highspy.HighsSolution()
        hs.col_value = start.point
        hs.value_valid = True
        st.highs.setSolution(hs)
        how = "HiGHS from the network's point"
    else:
        how = "HiGHS from its last basis" if reuse else "HiGHS"
    sol = highs.run(st.highs, lp, session.options, warm=reuse or start is not None)
    return sol, how, reuse and start is None


def _highs_first(session, lp: LP, st: _BlockState, info: dict):
    """Data that do not scale to exact integers: HiGHS's dual simplex from the kept model's
    last basis first, with the changes pushed in and a small iteration budget (after
    changes of supplies, bounds and right-hand sides the last basis stays dual feasible and
    often needs few pivots, while the network path re-solves the rounded network, builds a
    basis from its tree and still polishes); the solution, or None when the budget ran out
    (the network path then continues on the same model)."""
    from .session import run_within_budget

    push_changes(st.highs, st.highs_lp, lp)
    st.highs_lp = lp
    sol = run_within_budget(st.highs, lp, session.options, HIGHS_FIRST_FRACTION)
    if sol.status != Status.OPTIMAL:
        info["warm_highs_iterations"] = sol.info.get("simplex_iterations")
        info["warm_highs"] = sol.backend_status
        return None
    return sol


def _same_structure(old: LP | None, lp: LP) -> bool:
    return (old is not None and old.csr.shape == lp.csr.shape and old.csr.nnz == lp.csr.nnz
            and np.array_equal(old.csr.indptr, lp.csr.indptr)
            and np.array_equal(old.csr.indices, lp.csr.indices))


def push_changes(h, old: LP, lp: LP) -> None:
    """Bounds, costs, right-hand sides and matrix values that differ, into HiGHS model h."""
    v, w = lp.vars, old.vars
    idx = np.flatnonzero((v.lb != w.lb) | (v.ub != w.ub))
    if len(idx):
        h.changeColsBounds(len(idx), idx.astype(np.int32), v.lb[idx], v.ub[idx])
    idx = np.flatnonzero(v.cost != w.cost)
    if len(idx):
        h.changeColsCost(len(idx), idx.astype(np.int32), v.cost[idx])
    idx = np.flatnonzero((lp.row_lo != old.row_lo) | (lp.row_hi != old.row_hi))
    if len(idx):
        h.changeRowsBounds(len(idx), idx.astype(np.int32), lp.row_lo[idx], lp.row_hi[idx])
    if old.csr.nnz == lp.csr.nnz and not np.array_equal(old.csr.data, lp.csr.data):
        diff = np.flatnonzero(old.csr.data != lp.csr.data)  # the budget row's prices
        rows = np.searchsorted(lp.csr.indptr, diff, side="right") - 1
        for i, j, val in zip(rows, lp.csr.indices[diff], lp.csr.data[diff]):
            h.changeCoeff(int(i), int(j), float(val))


# the check, block by block ---------------------------------------------------------
def check_blocks(session, blocks: list[Block], plan):
    """The independent check of `plan` (the merged plan of `blocks`), block by block.

    Without a budget the blocks share no constraint, so every check the checker makes
    (optimiser/check.py: per lane, supplier pair, (pair, day), and the objective's sum)
    falls in exactly one block: each block's part of the plan is checked as a plan of
    its own sub-instance, through the checker's ordinary path (its flows and stock
    tables), and the reports are merged (worst relative violation, counts and breakdown
    summed). Each block's part is a slice of the returned plan's arrays (its lanes' flows,
    its pairs' stock and unmet), so the report is of the plan returned; a block whose
    slice equals the one checked last keeps its last report. The merged plan's reported
    objective is compared with the blocks' recomputed sum."""
    from ..check import CheckReport, Violation, check_plan
    from ..plan import Plan

    reports = []
    for b, st in zip(blocks, session._states):
        x, s, u = plan.x[b.lanes], plan.s[b.pairs], plan.u[b.pairs]
        last = st.check
        if last is None or not (np.array_equal(last[1], x) and np.array_equal(last[2], s)
                                and np.array_equal(last[3], u)):
            sub = Plan(instance=b.instance, status=plan.status, x=x, s=s, u=u,
                       r=plan.r[b.pairs], summary={"status": plan.status.value})
            st.check = last = (check_plan(b.instance, sub), x, s, u)
        reports.append(last[0])
    tol = reports[0].tolerance
    out = CheckReport(ok=True, tolerance=tol)
    for rep in reports:
        out.errors += rep.errors
        for k, v in rep.violations.items():
            if k == "objective":
                continue
            w = out.violations.get(k)
            if w is None or v.amount > w.amount:
                out.violations[k] = Violation(k, v.amount, v.where, v.count
                                              + (w.count if w else 0))
            else:
                w.count += v.count
        for k, v in rep.breakdown.items():
            out.breakdown[k] = out.breakdown.get(k, 0.0) + v
    out.conclude(plan.summary.get("objective"))
    return out
