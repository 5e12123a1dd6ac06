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
* rationing caps (the baseline's u) DOWN, never up by more than 1e-7 x max(1, demand) (a
  tenth of the tolerance on unmet consumption; HiGHS noise on the baseline is no reason
  to give up a grid step): the plan never rations more than the expected plan.

The grid (`grid_scale`, chosen at the block's first solve) is the finest of 1/1000,
1/100, 1/10, 1 at which the block's own data (capacities, stock, demand, pipeline,
contracts, the instance floors) and that solve's snapped floors and bounds are exact and
costs x flows stay inside integer range with room (HEADROOM) for the capacity standing
for "unbounded" to grow: a thousandth of a unit where it fits, so a one-unit instance
keeps its precision (the closed-form least-cost case), and coarser only where the
quantities are too large for the finer one (on the 100k-few tier, whole units).

The blocks' graphs are the compiled library's kept graphs (model/lemon_native.py), whose
solves release the interpreter lock, so concurrent blocks restart side by side in threads.
Without that library they are pylmcf's, which holds the lock, and when the blocks are
solved concurrently a large block's graph lives in a worker process of its own
(`LemonWorker`).
docs/RELIABILITY.md ("The LP's exact network path") has the why and the measurements.
"""

from __future__ import annotations

import sys
import time

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


def solve_exact(sub: Instance, lp: LP, keep: dict, worker: LemonWorker | None = None):
    """LEMON on the block's network (from its kept tree) and the KKT certificate.

    (solution, start, info): `solution` is a RawSolution when the network's point and
    duals pass the KKT check (exact scaling), else None; `start` is the network's
    NetworkStart (its LP basis built when the certificate did not hold) or None when the
    network could not be solved (infeasible, out of integer range, star-shaped).
    worker: the block's LemonWorker (its graph lives there), or None: in this process,
    the graph in keep. Either way `_lemon` solves it: from the last tree, or fresh when
    the change is large."""
    from ..model.certificate import certified, certified_solution
    from ..model.network import (
        FAN_IN_LIMIT,
        NetworkStart,
        build_network,
        lp_point,
    )

    net, info = build_network(sub, lp, keep.get("scale"))
    if net is None:
        return None, None, info
    keep["scale"] = (net.Q, net.C, net.big)
    if int(np.bincount(net.heads[:lp.vars.nx], minlength=net.n_nodes).max(initial=0)) \
            > FAN_IN_LIMIT:  # star-shaped: dual simplex (model/network.py)
        return None, None, {**info, "network": "star-shaped"}
    t = time.perf_counter()
    try:
        if worker is not None:
            flow, pot, flags = worker.solve(net)
        else:
            c = time.thread_time()
            flow, pot = _lemon(net, keep)
            flags = {**_flags(keep), "network_cpu_seconds": time.thread_time() - c}
    except RuntimeError as e:  # infeasible network: HiGHS says why
        return None, None, {**info, "network_status": str(e) or "INFEASIBLE"}
    except (EOFError, OSError) as e:  # the worker is gone: HiGHS answers
        return None, None, {**info, "network": f"worker failed: {type(e).__name__}: {e}"}
    info.update(network_status="OPTIMAL", network_solve_seconds=time.perf_counter() - t,
                **flags)
    start = NetworkStart(point=lp_point(sub, lp, net, flow), flow=flow, potentials=pot)
    start.duals, start.kkt = certified(lp, net, flow, pot, start.point)
    if start.duals is not None:
        return certified_solution(lp, start), start, info
    from ..model.basis import lp_basis

    basis, why = lp_basis(sub, lp, net, flow, pot, start.point)
    if basis is not None:
        start.col_status, start.row_status = basis
    info["network_basis"] = why or "spanning tree"
    return None, start, info


#: a re-solve restarts LEMON from its last tree unless the new data leave more than this
#: share of the supply to move (or as many arcs over their new capacity as
#: network.WARM_MAX_OVER): then a fresh solve. Measured on the 100k-few run's own floors
#: (LEMON CPU seconds per block, fresh 0.3-0.55): raises moving 13% / 7% of the supply
#: restart warm in 2.6-9.5 / 0.9-3.0 s, raises moving 0.6-1% in 0.1-0.2 s against 0.4-0.5
#: fresh; with 2% the run's LEMON CPU fell from 3.5 s (network.WARM_MAX_MOVED, 0.5%) to 2.8
WARM_MAX_MOVED = 0.02


def _lemon(net, keep: dict):
    """network.solve_lemon on the kept graph, from its last tree unless the change is
    large (this loop's WARM_MAX_MOVED): then fresh (keep["rebuilt"])."""
    from ..model import network as nw

    return nw.solve_lemon(net, keep, rebuild=True, max_moved=WARM_MAX_MOVED)


def _flags(keep: dict) -> dict:
    """What solve_lemon recorded in keep about the last solve (warm, rebuilt, ...)."""
    out = {f"network_{k}": keep.pop(k) for k in ("warm", "fell_back", "rebuilt") if k in keep}
    if "changed" in keep:
        out["network_changed"] = keep["changed"]
    return out


#: without the compiled library, a block's LEMON graph lives in a worker process of its
#: own (LemonWorker) when the blocks are solved concurrently and its LP has at least this
#: many variables: pylmcf holds the interpreter lock while it solves, so in threads the
#: blocks would take turns; a worker keeps the graph, so it restarts from its last tree as
#: in process. The compiled library's kept graph (lemon_native.KeptGraph) releases the
#: lock: the blocks restart side by side in threads, no worker, no arrays piped.
WORKER_MIN_VARS = 20_000


def worker_pays(n_vars: int, concurrent: bool) -> bool:
    """Linux only (elsewhere forking a process with threads is unsafe or unavailable), and
    only for pylmcf's graphs (no compiled library)."""
    from ..model import lemon_native

    return (sys.platform.startswith("linux") and concurrent and n_vars >= WORKER_MIN_VARS
            and not lemon_native.available())


class LemonWorker:
    """A forked process holding one block's LEMON graph between solves: `solve(net)` sends
    the network (its arrays) and gets back (flow, potentials, flags) of
    `_lemon(net, keep)` run there on the worker's own keep — the
    same calls, in the same order, as in process, so the same bits. The waiting thread
    releases the interpreter lock, so two blocks solve on two cores. The process ends on
    `close` (also called when its session is collected) or with the parent (a daemon)."""

    def __init__(self):
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True,
                                name="optimiser-lemon")
        self.proc.start()
        child.close()

    def solve(self, net):
        self.conn.send(net)
        ok, payload = self.conn.recv()
        if not ok:
            raise RuntimeError(payload)
        return payload

    def close(self) -> None:
        """Ask the worker to end (None: a pipe's end can be held open by workers forked
        later, so EOF alone may never come) and wait for it."""
        try:
            self.conn.send(None)
            self.conn.close()
        except OSError:
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def _serve(conn) -> None:
    """The worker's loop: solve each network received, keeping the graph."""
    keep: dict = {}
    while True:
        try:
            net = conn.recv()
        except (EOFError, OSError):
            break
        if net is None:
            break
        try:
            c = time.thread_time()
            flow, pot = _lemon(net, keep)
            conn.send((True, (flow, pot, {**_flags(keep),
                                          "network_cpu_seconds": time.thread_time() - c})))
        except RuntimeError as e:
            conn.send((False, str(e) or "INFEASIBLE"))
