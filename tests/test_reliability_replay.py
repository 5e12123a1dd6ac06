"""The reliability replays' Numba reductions against the plain numpy expressions they
replace (stock record of run_kernel, where / any / einsum / max over [n, t, p]): the same
bits, on a case where scenarios breach both kinds of target, with and without the virtual
stock, across slices and blocks; and the shortfalls pass 1 keeps per (pair, day) reduce to
the buffers the whole record gives, for every cover that leaves at most keep - 1 breaching
scenarios of a pair out (the loop's rule), across chunks merged in any order."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from optimiser.reliability import replay
from optimiser.reliability.replay import Shortfalls, pass1_chunk
from optimiser.scenarios import ScenarioParams
from optimiser.scenarios.evaluate import replay_record, run_kernel
from optimiser.scenarios.kernels import LANES

sys.path.insert(0, os.path.dirname(__file__))
from .reliability_cases import replay_case  # noqa: E402

PARAMS = ScenarioParams(demand_sigma=0.5, demand_phi=0.4, delay_prob=0.3, delay_max_days=2,
                        outage_prob=0.1, outage_days=2, loss_prob=0.1)


def _needed(a, ev, seed, start, stop, shift):
    """(bad_r, bad_s, need_r, need_s) [n, T, pairs] in plain numpy from run_kernel's stock."""
    n = stop - start
    S = np.empty((n, a.T, a.n_pairs))
    run_kernel(a, PARAMS, seed, start, n, stock_out=S)
    if shift is not None:
        S -= shift
    Sr, Ss = S[:, :, ev.ready], S[:, :, ev.service]
    bad_r = Sr < ev.floor - ev.ftol
    bad_s = (Ss <= ev.stol) & ev.serve
    need_r = np.where(bad_r, ev.floor - Sr, 0.0)
    need_s = np.where(bad_s, ev.stol - Ss + ev.margin, 0.0)
    return bad_r, bad_s, need_r, need_s


def _numpy_reference(a, ev, seed, start, stop, shift, w_r, w_s, cover_r, cover_s):
    """What the replays computed before the reductions moved into Numba (pass 2 took the
    buffers from a second replay of the whole record)."""
    bad_r, bad_s, need_r, need_s = _needed(a, ev, seed, start, stop, shift)
    pr = np.einsum("ntp,tp->np", need_r, w_r)
    ps = np.einsum("ntp,tp->np", need_s, w_s)
    bufr = np.maximum(0.0, np.where(cover_r[:, None, :], need_r, 0.0).max(axis=0))
    bufs = np.maximum(0.0, np.where(cover_s[:, None, :], need_s, 0.0).max(axis=0))
    return bad_r.any(axis=1), bad_s.any(axis=1), pr, ps, bufr, bufs


@pytest.fixture(scope="module")
def case():
    inst, _, _, a, va, H, ev, w_r, w_s = replay_case(PARAMS)
    return inst, a, va, H, ev, w_r, w_s


@pytest.mark.parametrize("virtual_stock", [False, True])
@pytest.mark.parametrize("slice_bytes", [None, 1])
def test_passes_equal_the_numpy_expressions_bit_for_bit(case, monkeypatch, virtual_stock,
                                                        slice_bytes):
    inst, a, va, H, ev, w_r, w_s = case
    arrays, shift = (va, H) if virtual_stock else (a, None)
    if slice_bytes:  # one block per slice: several slices per chunk
        monkeypatch.setattr(replay, "SLICE_BYTES", slice_bytes)
    start, stop = 5, 5 + 2 * LANES + 7  # partial last block
    rng = np.random.default_rng(1)
    cover_r = rng.random((stop - start, len(ev.ready))) < 0.6
    cover_s = rng.random((stop - start, len(ev.service))) < 0.6
    fr, fs, pr, ps, bufr, bufs = _numpy_reference(arrays, ev, 3, start, stop, shift, w_r,
                                                  w_s, cover_r, cover_s)
    assert fr.any() and fs.any() and (~fr).any()  # the case exercises both outcomes
    n = stop - start
    s0, br, bs, qr, qs, kept = pass1_chunk(arrays, PARAMS, 3, start, stop, ev, w_r, w_s,
                                           shift, keep=n + 1)
    assert s0 == start
    np.testing.assert_array_equal(br, fr)
    np.testing.assert_array_equal(bs, fs)
    assert qr.tobytes() == pr.tobytes() and qs.tobytes() == ps.tobytes()
    _, cr, cs, nr, ns, none = pass1_chunk(arrays, PARAMS, 3, start, stop, ev, None, None, shift)
    np.testing.assert_array_equal(cr, fr)
    np.testing.assert_array_equal(cs, fs)
    assert nr is None and ns is None and none is None
    # keeping every scenario, any cover at all gives the buffers of the whole record
    gr, gs = kept.buffers(cover_r, cover_s, first=start)
    assert gr.tobytes() == bufr.tobytes() and gs.tobytes() == bufs.tobytes()
    assert (gr > 0).any() and (gs > 0).any()


@pytest.mark.parametrize("keep", [1, 3])
def test_kept_shortfalls_give_the_buffers_of_the_whole_record(case, monkeypatch, keep):
    """With `keep` kept per (pair, day), any cover leaving at most keep - 1 breaching
    scenarios of each pair out gives the bits of the max over the whole record; chunks
    (several slices each) merged in either order."""
    inst, a, va, H, ev, w_r, w_s = case
    monkeypatch.setattr(replay, "SLICE_BYTES", 1)
    start, stop = 3, 3 + 3 * LANES + 5
    bad_r, bad_s, need_r, need_s = _needed(va, ev, 9, start, stop, H)
    rng = np.random.default_rng(keep)
    covers = []
    for bad in (bad_r.any(axis=1), bad_s.any(axis=1)):
        cover = bad.copy()
        for p in range(bad.shape[1]):  # leave up to keep - 1 breaching scenarios out
            out = rng.permutation(np.flatnonzero(bad[:, p]))[:keep - 1]
            cover[out, p] = False
        covers.append(cover)
    cover_r, cover_s = covers
    assert (cover_r != bad_r.any(axis=1)).any() or keep == 1
    want_r = np.where(cover_r[:, None, :], need_r, 0.0).max(axis=0)
    want_s = np.where(cover_s[:, None, :], need_s, 0.0).max(axis=0)
    mid = start + LANES + 7
    parts = [pass1_chunk(va, PARAMS, 9, lo, hi, ev, w_r, w_s, H, keep=keep)[5]
             for lo, hi in ((start, mid), (mid, stop))]
    for order in (parts, parts[::-1]):
        gr, gs = Shortfalls.merge(order).buffers(cover_r, cover_s, first=start)
        assert gr.tobytes() == want_r.tobytes() and gs.tobytes() == want_s.tobytes()
    assert (want_r > 0).any() and (want_s > 0).any()
    # each (pair, day) keeps the `keep` largest shortfalls of the chunk, with their scenario
    k = parts[0]
    n0 = mid - start
    for p in range(len(ev.ready)):
        for t in range(va.T):
            col = need_r[:n0, t, p]
            top = np.sort(col[col > 0])[::-1][:keep]
            got = k.ready[p, t][k.ready_ids[p, t] >= 0]
            np.testing.assert_array_equal(np.sort(got)[::-1], top)
            ids = k.ready_ids[p, t][k.ready_ids[p, t] >= 0]
            np.testing.assert_array_equal(need_r[ids - start, t, p], got)


def test_replay_record_is_the_stock_record_without_a_copy(case):
    inst, a, *_ = case
    n = LANES + 3
    S = np.empty((n, a.T, a.n_pairs))
    k1 = run_kernel(a, PARAMS, 8, 2, n, stock_out=S)
    rec = np.empty((2, a.T * a.n_pairs, LANES))
    k2 = replay_record(a, PARAMS, 8, 2, n, rec)
    np.testing.assert_array_equal(k1, k2)
    got = rec.transpose(0, 2, 1).reshape(-1, a.T, a.n_pairs)[:n]
    np.testing.assert_array_equal(got, S)
    with pytest.raises(ValueError, match="record of shape"):
        replay_record(a, PARAMS, 8, 2, n, np.empty((1, a.T * a.n_pairs, LANES)))


def _pair(inst, node, com):
    return int(np.flatnonzero((inst.node_names[inst.nc_node] == node)
                              & (inst.commodities[inst.nc_commodity] == com))[0])


def test_upstream_is_the_pairs_that_can_send_stock_to_the_targets(case):
    inst = case[0]
    I = inst.n_pairs
    hub_a, hub_b = _pair(inst, "hub", "a"), _pair(inst, "hub", "b")
    c1_a, c2_a, c2_b = _pair(inst, "c1", "a"), _pair(inst, "c2", "a"), _pair(inst, "c2", "b")
    one = np.zeros(I, bool)
    one[c1_a] = True
    assert set(np.flatnonzero(replay.upstream(inst, one))) == {c1_a, hub_a}
    one[:] = False
    one[hub_a] = True  # fed by suppliers only: nothing else counts
    assert set(np.flatnonzero(replay.upstream(inst, one))) == {hub_a}
    one[:] = False
    one[c2_b] = True
    assert set(np.flatnonzero(replay.upstream(inst, one))) == {c2_b, hub_b}
    # closed: every lane out of a node into a needed pair starts at a needed pair
    node = ~inst.lane_from_supplier
    for bits in range(1, 2 ** I):
        pairs = np.array([(bits >> i) & 1 for i in range(I)], bool)
        need = replay.upstream(inst, pairs)
        assert (need >= pairs).all()
        assert need[inst.lane_origin[node & need[inst.lane_dest]]].all()
    assert replay.upstream(inst, np.ones(I, bool)).all()
    assert c2_a not in np.flatnonzero(replay.upstream(inst, one))


@pytest.mark.parametrize("target", ["c1/a", "hub/a", "c2/b", "c1/a+c2/b"])
def test_a_restricted_replay_gives_the_needed_pairs_their_stock_bit_for_bit(case, target):
    """Only the pairs the targets depend on are replayed: their end-of-day stock in every
    scenario is the whole replay's to the bit, the others draw no demand and nothing is
    dispatched to them."""
    inst, a, *_ = case
    pairs = np.zeros(inst.n_pairs, bool)
    for name in target.split("+"):
        pairs[_pair(inst, *name.split("/"))] = True
    need = replay.upstream(inst, pairs)
    assert not need.all()
    r = replay.restrict(a, need)
    assert not r.pair_has_demand[~need].any() and not r.demand[:, ~need].any()
    assert (r.pair_live == need).all() and a.pair_live.all()
    assert need[r.lane_dest[r.sup_lane]].all() and need[r.lane_dest[r.node_lane]].all()
    assert need[r.grp_pair].all() and len(r.sup_lane) + len(r.node_lane) < \
        len(a.sup_lane) + len(a.node_lane)
    n = 2 * LANES + 5
    full = np.empty((n, a.T, a.n_pairs))
    part = np.empty((n, a.T, a.n_pairs))
    run_kernel(a, PARAMS, 11, 7, n, stock_out=full)
    run_kernel(r, PARAMS, 11, 7, n, stock_out=part)
    assert full[:, :, need].tobytes() == part[:, :, need].tobytes()
    assert (full[:, :, need].std(axis=0) > 0).any()  # the noise reaches them
    assert replay.restrict(a, np.ones(a.n_pairs, bool)) is a


def test_the_runner_replays_only_the_pairs_the_targets_need(case):
    """Training (virtual stock, prices, kept shortfalls) and certification (flags, fan)
    through a Runner restricted to the upstream of the readiness pairs equal the whole
    replays; the cells counted are the restricted network's."""
    inst, a, va, H, ev, w_r, w_s = case
    ready = np.zeros(inst.n_pairs, bool)
    ready[ev.ready] = True
    evr = replay.make_events(inst, ready, np.zeros(inst.n_pairs, bool), a.unmet_plan.T)
    need = replay.upstream(inst, ready)
    assert not need.all()
    n = 3 * LANES + 3
    got = {}
    for key, runner in (("all", replay.Runner(chunk=64)),
                        ("need", replay.Runner(chunk=64, need=need))):
        wr = np.ascontiguousarray(w_r)
        tr = runner.pass1(va, PARAMS, 2, 0, n, evr, wr, np.zeros((a.T, 0)), H, keep=4)
        tr2 = runner.pass1(va, PARAMS, 2, 0, n, evr, wr, np.zeros((a.T, 0)), H, keep=4)
        cr, cs = runner.certify(a, PARAMS, 2, n, n, evr)
        hist = runner.fan_of(a, PARAMS, 2, n, min(n, runner.fan), replay.fan_pairs(evr))
        got[key] = (tr, tr2, cr, cs, hist, runner.cells)
    (t1, t2, c1, s1, h1, cells1), (u1, u2, d1, z1, h2, cells2) = got["all"], got["need"]
    for x, y in ((t1, u1), (t2, u2), (t1, u2)):
        for p, q in zip(x[:4], y[:4]):
            assert p.tobytes() == q.tobytes()
        gr, _ = x[4].buffers(x[0], x[1])
        hr, _ = y[4].buffers(y[0], y[1])
        assert gr.tobytes() == hr.tobytes() and (gr > 0).any()
    assert t1[0].any() and c1.any() and (~c1).any()
    np.testing.assert_array_equal(c1, d1)
    np.testing.assert_array_equal(s1, z1)
    assert h1 is not None and h2 is not None
    assert h1.counts.tobytes() == h2.counts.tobytes()
    assert cells2 < cells1 == 3 * (a.n_pairs + a.n_lanes) * a.T * n
    assert cells2 == 3 * (need.sum() + need[a.lane_dest].sum()) * a.T * n
