"""The reproducibility promise (docs/REPRODUCIBILITY.md): a seed gives the same futures
in every release. The committed golden file pins the first draws of every random
stream and the KPIs of one fixed evaluation; changing them is a deliberate, versioned
decision (`python -m tests.golden_values --write`, a new VERSION, a CHANGELOG line)."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.scenarios import rng

from . import golden_values as gv

CHANGED = ("the random streams changed: a seed no longer gives the same futures. If this is "
           "deliberate, raise tests/golden_values.py VERSION, rewrite the golden file with "
           "`python -m tests.golden_values --write` and say so in the CHANGELOG")


@pytest.fixture(scope="module")
def golden():
    g = gv.load()
    assert g["format"] == gv.FORMAT and g["version"] == gv.VERSION
    return g


def test_every_stream_is_pinned_and_distinct(golden):
    assert gv.streams() == golden["streams"], CHANGED
    ids = list(golden["streams"].values())
    assert len(set(ids)) == len(ids), "two purposes share a stream id"
    assert all(0 <= i < 256 for i in ids)
    assert golden["streams"] == {"demand": 1, "surge": 2, "outage": 3, "ship": 4, "delay": 5}


def test_scenario_keys(golden):
    for seed, scenario, key in golden["scenario_keys"]:
        assert int(rng.scenario_key(np.uint64(seed), np.uint64(scenario))) == int(key, 16), CHANGED
        assert rng.py_scenario_key(seed, scenario) == int(key, 16)


@pytest.mark.parametrize("stream", ["demand", "surge", "outage", "ship", "delay"])
def test_first_draws_of_each_stream(golden, stream):
    sid = golden["streams"][stream]
    assert golden["draws"][stream], stream
    for seed, scenario, entity, day, bits, u, hi, lo, z in golden["draws"][stream]:
        key = np.uint64(rng.scenario_key(np.uint64(seed), np.uint64(scenario)))
        b = np.uint64(rng.draw_bits(key, sid, entity, day))
        assert int(b) == int(bits, 16), (CHANGED, stream, seed, scenario, entity, day)
        assert rng.py_draw_bits(int(key), sid, entity, day) == int(bits, 16)
        # the conversions are exact arithmetic on the bits
        assert float(rng.bits_to_uniform(b)) == u
        assert float(rng.hi_uniform(b)) == hi and float(rng.lo_uniform(b)) == lo
        assert float(rng.normal(key, sid, entity, day)) == pytest.approx(z, rel=1e-12, abs=1e-15)


def test_kpis_of_the_fixed_evaluation(golden):
    from optimiser import load_instance
    from optimiser.scenarios import KPI_NAMES, ScenarioParams, evaluate_chunk, prepare

    ev = golden["evaluation"]
    assert list(KPI_NAMES) == ev["kpi_names"]
    inst = load_instance(gv.ROOT / "instances" / "tiny")
    x, u = gv.fixed_plan(inst)
    arrays = prepare(inst, x, u)
    params = ScenarioParams.from_mapping(ev["params"])
    want = np.array(ev["kpis"])
    got = evaluate_chunk(arrays, params, ev["seed"], 0, len(want), fan=False).kpis
    # the same on one machine to the bit; across machines to round-off of libm
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=CHANGED)
    # scenarios are pure functions of (seed, scenario): a later chunk gives the same rows
    tail = evaluate_chunk(arrays, params, ev["seed"], 5, len(want), fan=False).kpis
    np.testing.assert_array_equal(tail, got[5:])
    # every stream is switched on and moves something: the golden rows differ
    assert len({tuple(r) for r in want.round(9).tolist()}) == len(want)


def test_the_golden_file_is_what_the_generator_writes(golden):
    assert gv.compute() == golden
