"""The reliability mode of the replay (the reduction inside the kernel's day loop, no stock
record) against the record-based reduction it replaced, and the certification fan binned
during the certification replay against the fan's own replay: the same bits, at every
seed, chunking, slicing and thread count tried."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from optimiser.execution import numba_threads
from optimiser.reliability import fan as rfan
from optimiser.reliability import replay
from optimiser.reliability.fan import certification_fan
from optimiser.reliability.record import pass1_chunk_record
from optimiser.reliability.replay import (
    DemandCache,
    Runner,
    certify_chunk,
    fan_pairs,
    pass1_chunk,
)
from optimiser.scenarios import ScenarioParams
from optimiser.scenarios.evaluate import evaluate_chunk, pair_indicators
from optimiser.scenarios.kernels import LANES

sys.path.insert(0, os.path.dirname(__file__))
from .reliability_cases import replay_case  # noqa: E402

PARAMS = ScenarioParams(demand_sigma=0.5, demand_phi=0.4, delay_prob=0.3, delay_max_days=2,
                        outage_prob=0.1, outage_days=2, loss_prob=0.1)


@pytest.fixture(scope="module")
def case():
    return replay_case(PARAMS)


def _same(r1, r2):
    """Two pass1 results: every array the same bytes (shortfall heaps included)."""
    assert r1[0] == r2[0]
    for x1, x2 in zip(r1[1:5], r2[1:5]):
        assert (x1 is None) == (x2 is None)
        if x1 is not None:
            assert x1.dtype == x2.dtype and x1.tobytes() == x2.tobytes()
    assert (r1[5] is None) == (r2[5] is None)
    if r1[5] is not None:
        for f in ("ready", "ready_ids", "service", "service_ids"):
            assert getattr(r1[5], f).tobytes() == getattr(r2[5], f).tobytes(), f


@pytest.mark.parametrize("seed", [0, 3, 11])
@pytest.mark.parametrize("threads", [1, 2])
def test_reliability_mode_equals_the_record_reduction(case, seed, threads):
    inst, x, u, a, va, H, ev, w_r, w_s = case
    start, stop = 5, 5 + 4 * LANES + 9  # a partial last block
    with numba_threads(min(threads, replay.numba.config.NUMBA_NUM_THREADS)):
        for arrays, shift in ((va, H), (a, None)):
            for keep in (0, 1, 4, stop - start + 1):
                want = pass1_chunk_record(arrays, PARAMS, seed, start, stop, ev, w_r, w_s,
                                          shift, keep=keep)
                got = pass1_chunk(arrays, PARAMS, seed, start, stop, ev, w_r, w_s, shift,
                                  keep=keep)
                _same(got, want)
            none = pass1_chunk(arrays, PARAMS, seed, start, stop, ev, None, None, shift)
            assert none[3] is None and none[4] is None and none[5] is None
            np.testing.assert_array_equal(none[1], want[1])
    assert want[1].any() and (~want[1]).any() and want[2].any()  # both outcomes exercised
    assert (want[5].ready_ids >= 0).any() and (want[5].service_ids >= 0).any()


def test_reliability_mode_slices_and_chunks_give_the_same_bits(case, monkeypatch):
    """Slices of a few blocks (the compact record reused) and chunks of any size: each
    scenario's flags and prices, and each heap, as one replay of the whole range."""
    inst, x, u, a, va, H, ev, w_r, w_s = case
    start, stop = 2, 2 + 3 * LANES + 5
    whole = pass1_chunk_record(va, PARAMS, 7, start, stop, ev, w_r, w_s, H, keep=3)
    monkeypatch.setattr(replay, "SLICE_BYTES", 1)
    sliced = pass1_chunk(va, PARAMS, 7, start, stop, ev, w_r, w_s, H, keep=3)
    _same(sliced, whole)
    mid = start + LANES + 3  # not on a block boundary
    parts = [pass1_chunk(va, PARAMS, 7, lo, hi, ev, w_r, w_s, H) for lo, hi in
             ((start, mid), (mid, stop))]
    for j in (1, 2, 3, 4):
        got = np.concatenate([p[j] for p in parts])
        assert got.tobytes() == whole[j].tobytes()


@pytest.mark.parametrize("threads", [1, 2])
def test_certify_chunk_bins_the_fan_of_evaluate(case, threads):
    """The certification replay's flags are pair_indicators', and the fan histograms it bins
    on the way are those evaluate_chunk bins for the same scenarios (the cells of the pairs
    with a target), merged over chunks in any order."""
    inst, x, u, a, va, H, ev, *_ = case
    first, count, fan_n = 3, 3 * LANES + 10, 2 * LANES + 7
    with numba_threads(min(threads, replay.numba.config.NUMBA_NUM_THREADS)):
        b, s = pair_indicators(a, PARAMS, 5, first, count)
        mid = first + LANES + 1
        parts = [certify_chunk(a, PARAMS, 5, lo, hi, ev, fan_stop=first + fan_n)
                 for lo, hi in ((first, mid), (mid, first + count))]
        ref = evaluate_chunk(a, PARAMS, 5, first, first + fan_n, fan=True)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), b[:, ev.ready])
    np.testing.assert_array_equal(np.concatenate([p[2] for p in parts]), s[:, ev.service])
    fp = fan_pairs(ev)
    cells = (np.arange(a.T)[:, None] * a.n_pairs + fp[None, :]).ravel()
    for order in (parts, parts[::-1]):
        h = order[0][3].merge(order[1][3])
        assert h.count == fan_n
        assert h.counts.tobytes() == ref.fan_counts[cells].tobytes()
        assert h.vmin.tobytes() == ref.fan_min[cells].tobytes()
        assert h.vmax.tobytes() == ref.fan_max[cells].tobytes()
    # a chunk past the fan's scenarios bins nothing; without fan_stop, the old 3-tuple
    assert certify_chunk(a, PARAMS, 5, first + fan_n, first + count, ev,
                         fan_stop=first + fan_n)[3] is None
    assert len(certify_chunk(a, PARAMS, 5, first, first + 4, ev)) == 3


def test_certification_fan_from_the_certification_replay(case, monkeypatch):
    """certification_fan with the runner that certified the plan: the table of its own
    replay, bit for bit, and no replay; another plan, range or params: replayed."""
    inst, x, u, a, va, H, ev, *_ = case
    runner = Runner(chunk=32, fan=2 * LANES + 5)
    first, count = 40, 3 * LANES
    runner.certify(a, PARAMS, 9, first, count, ev)
    pairs = np.zeros(inst.n_pairs, bool)
    pairs[fan_pairs(ev)] = True
    want = certification_fan(inst, x, u, PARAMS, 9, first, runner.fan, pairs)
    assert want.num_rows == pairs.sum() * inst.horizon

    def no_replay(*args, **kwargs):
        raise AssertionError("replayed")

    with monkeypatch.context() as m:
        m.setattr(rfan, "_replayed", no_replay)
        got = certification_fan(inst, x, u, PARAMS, 9, first, runner.fan, pairs,
                                runner=runner)
    assert got.equals(want)
    # not what the certification binned: replayed, so still right
    calls = []
    real = rfan._replayed
    monkeypatch.setattr(rfan, "_replayed", lambda *a_, **k: calls.append(1) or real(*a_, **k))
    other = ScenarioParams(demand_sigma=0.2)
    for args in ((x, u, PARAMS, 9, first + 1, runner.fan), (x, u, other, 9, first, runner.fan),
                 (x * 0.5, u, PARAMS, 9, first, runner.fan), (x, u, PARAMS, 9, first, 10)):
        ref = certification_fan(inst, *args, pairs)
        assert certification_fan(inst, *args, pairs, runner=runner).equals(ref)
    assert len(calls) == 8


SURGE = ScenarioParams(demand_sigma=0.4, demand_phi=0.6, surge_prob=0.2, surge_multiplier=1.7,
                       surge_days=2, delay_prob=0.2, delay_max_days=1, outage_prob=0.05,
                       outage_days=2, loss_prob=0.05)


@pytest.mark.parametrize("params", [PARAMS, SURGE])
def test_demand_kept_between_training_replays_gives_the_same_bits(case, monkeypatch, params):
    """The realised demand drawn by one replay and read back by the next (another plan:
    it does not depend on the plan), sliced or not: the bits of drawing it each time."""
    inst, x, u, a, va, H, ev, w_r, w_s = case
    start, stop = 4, 4 + 3 * LANES + 6
    cache = DemandCache.new(a, params, 2, start, stop)
    first = pass1_chunk(a, params, 2, start, stop, ev, w_r, w_s, None, keep=3, demand=cache)
    assert cache.filled
    _same(first, pass1_chunk_record(a, params, 2, start, stop, ev, w_r, w_s, None, keep=3))
    for slice_bytes in (replay.SLICE_BYTES, 1):
        monkeypatch.setattr(replay, "SLICE_BYTES", slice_bytes)
        got = pass1_chunk(va, params, 2, start, stop, ev, w_r, w_s, H, keep=3, demand=cache)
        _same(got, pass1_chunk_record(va, params, 2, start, stop, ev, w_r, w_s, H, keep=3))
    assert cache.fits(va, params, 2, start, stop)
    assert not cache.fits(va, params, 3, start, stop)
    assert not cache.fits(va, SURGE if params is PARAMS else PARAMS, 2, start, stop)


def test_runner_keeps_the_training_demand_locally_only(case):
    inst, x, u, a, va, H, ev, w_r, w_s = case
    local = Runner(chunk=64)
    want = [pass1_chunk_record(va, PARAMS, 1, 0, 150, ev, w_r, w_s, H, keep=2)]
    for _ in range(2):
        br, bs, pr, ps, kept = local.pass1(va, PARAMS, 1, 0, 150, ev, w_r, w_s, H, keep=2)
        assert br.tobytes() == want[0][1].tobytes() and pr.tobytes() == want[0][3].tobytes()
    assert len(local.demand) == 3 and all(c.filled for c in local.demand.values())
    mapped = Runner(chunk=64, map_fn=map)
    mapped.pass1(va, PARAMS, 1, 0, 150, ev, w_r, w_s, H, keep=2)
    assert not mapped.demand


def test_cached_draws_cover_lane_days_a_later_plan_adds(case):
    """The training cache (demand, outage days, shipment outcomes) filled by a plan that
    dispatches on half of the lane-days, then read by the full plan, which dispatches on
    lane-days the first never drew: the bits of drawing everything (the record-based
    reference), and the second replay drew exactly the outcomes it was missing."""
    inst, x, u, a, va, H, ev, w_r, w_s = case
    from optimiser.reliability.replay import make_events, virtual
    from optimiser.scenarios import prepare
    from optimiser.scenarios.kernels import SHIP_UNDRAWN

    lane, day = np.nonzero(x > 0)
    half = x.copy()
    half[lane[::2], day[::2]] = 0.0
    ready = (inst.floor > 0).any(axis=1)
    service = (inst.demand > 0).any(axis=1)
    ah = prepare(inst, half, u)
    vh, Hh = virtual(inst, ah, half, PARAMS, ready | service)
    evh = make_events(inst, ready, service, u)
    start, stop = 3, 3 + 2 * LANES + 7
    cache = DemandCache.new(va, PARAMS, 5, start, stop)
    got = pass1_chunk(vh, PARAMS, 5, start, stop, evh, w_r, w_s, Hh, keep=2, demand=cache)
    _same(got, pass1_chunk_record(vh, PARAMS, 5, start, stop, evh, w_r, w_s, Hh, keep=2))
    drawn = cache.ship[:, :, 0] != SHIP_UNDRAWN  # [blocks, T * L]
    cells = drawn.reshape(len(drawn), inst.horizon, inst.n_lanes).any(axis=0)
    assert cells[day[1::2], lane[1::2]].all() and not cells[day[::2], lane[::2]].any()
    got = pass1_chunk(va, PARAMS, 5, start, stop, ev, w_r, w_s, H, keep=2, demand=cache)
    _same(got, pass1_chunk_record(va, PARAMS, 5, start, stop, ev, w_r, w_s, H, keep=2))
    cells = (cache.ship[:, :, 0] != SHIP_UNDRAWN).reshape(len(drawn), inst.horizon,
                                                           inst.n_lanes).all(axis=0)
    assert cells[day, lane].all()
    assert (cache.outage == 1).any() and (cache.ship == -1).any() and (cache.ship > 0).any()
    # a cached outcome is the draw's: -1 lost, else the days late
    from optimiser.scenarios.rng import (
        STREAM_DELAY,
        STREAM_SHIP,
        bits_to_uniform,
        draw_bits,
        hi_uniform,
        lo_uniform,
        scenario_key,
    )

    for c, k in zip(*np.nonzero(cache.ship[1] != SHIP_UNDRAWN)):
        b = 1
        t, lane_ = divmod(int(c), inst.n_lanes)
        key = np.uint64(scenario_key(5, start + int(b) * LANES + int(k)))
        bits = np.uint64(draw_bits(key, STREAM_SHIP, lane_, t))
        want = 0
        if hi_uniform(bits) < PARAMS.loss_prob:
            want = -1
        elif lo_uniform(bits) < PARAMS.delay_prob:
            want = min(PARAMS.delay_max_days, 1 + int(bits_to_uniform(
                np.uint64(draw_bits(key, STREAM_DELAY, lane_, t))) * PARAMS.delay_max_days))
        assert cache.ship[b, c, k] == want
