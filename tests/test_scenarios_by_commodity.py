"""Per-commodity scenario KPIs and the per-pair indicators, against a plain-Python
reference; scenarios_by_commodity.arrow, the summary's by_commodity, Parquet output."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from scenario_reference import small_case  # noqa: E402
from simulate_reference import replay_plan  # noqa: E402

from optimiser.scenarios.arrays import prepare  # noqa: E402
from optimiser.scenarios.evaluate import (  # noqa: E402
    ChunkResult,
    Evaluation,
    evaluate_chunk,
    pair_indicators,
    replay_full,
)
from optimiser.scenarios.kernels import COMMODITY_KPI_NAMES  # noqa: E402
from optimiser.scenarios.params import ScenarioParams  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISY = ScenarioParams(demand_sigma=0.4, demand_phi=0.6, surge_prob=0.15, surge_days=3,
                       surge_multiplier=1.8, outage_prob=0.1, outage_days=2, delay_prob=0.3,
                       delay_max_days=3, loss_prob=0.1)


@pytest.fixture(scope="module")
def case():
    inst, x, u = small_case(T=14)
    return inst, x, u, prepare(inst, x, u)


@pytest.mark.parametrize("params", [ScenarioParams(), NOISY,
                                    ScenarioParams(outage_prob=0.3, outage_days=4)])
def test_commodity_kpis_and_flags_equal_reference(case, params):
    inst, x, u, a = case
    kpi, kc, flags = replay_full(a, params, 5, 40, 6, pair_flags=True)
    assert kc.shape == (6, len(inst.commodities), len(COMMODITY_KPI_NAMES))
    for j in range(6):
        ref = replay_plan(inst, x, u, params, 5, 40 + j)
        by = ref.by_commodity()
        for ci, c in enumerate(inst.commodities):
            for m, name in enumerate(COMMODITY_KPI_NAMES):
                want, got = by[str(c)][name], kc[j, ci, m]
                if math.isnan(want):
                    assert math.isnan(got), (c, name)
                else:
                    assert got == pytest.approx(want, rel=1e-12, abs=1e-9), (c, name)
        breach, short = ref.pair_flags()
        np.testing.assert_array_equal((flags[j] & 1) != 0, breach)
        np.testing.assert_array_equal((flags[j] & 2) != 0, short)
        # the commodities' quantities add up to the all-pairs KPIs (same units here)
        for name in ("demand", "unmet", "below_floor"):
            assert kc[j, :, COMMODITY_KPI_NAMES.index(name)].sum() == \
                pytest.approx(kpi[j, COMMODITY_KPI_NAMES.index(name)], rel=1e-12, abs=1e-9)
    b, s = pair_indicators(a, params, 5, 40, 6)
    np.testing.assert_array_equal(b, (flags & 1) != 0)
    np.testing.assert_array_equal(s, (flags & 2) != 0)


def test_partition_invariance_of_commodity_kpis(case):
    inst, x, u, a = case
    whole = evaluate_chunk(a, NOISY, 11, 0, 70, fan=False)
    parts = [evaluate_chunk(a, NOISY, 11, lo, hi, fan=False)
             for lo, hi in ((33, 70), (0, 5), (5, 33))]
    merged = ChunkResult.merge_all(parts)
    np.testing.assert_array_equal(merged.kpis_c, whole.kpis_c)


def test_summary_by_commodity_and_table(case, tmp_path):
    inst, x, u, a = case
    res = evaluate_chunk(a, NOISY, 2, 0, 64)
    ev = Evaluation.from_result(inst, a, res, 2, NOISY)
    byc = ev.summary["by_commodity"]
    assert set(byc) == {"a", "b"}
    for c, st in byc.items():
        assert set(st) == set(COMMODITY_KPI_NAMES) | {"unmet_cvar95", "p_any_shortfall",
                                                       "p_any_breach"}
        ci = list(inst.commodities).index(c)
        col = res.kpis_c[:, ci, COMMODITY_KPI_NAMES.index("unmet")]
        assert st["unmet"]["mean"] == pytest.approx(col.mean(), rel=1e-12)
        assert st["p_any_shortfall"] == pytest.approx(
            np.mean(res.kpis_c[:, ci, COMMODITY_KPI_NAMES.index("shortfall_days")] > 0))
    t = ev.scenarios_by_commodity
    assert t.column_names == ["scenario", "commodity", *COMMODITY_KPI_NAMES]
    assert t.num_rows == 64 * 2
    assert t.column("commodity").to_pylist()[:4] == ["a", "b", "a", "b"]
    ev.write(tmp_path / "ev", fmt="parquet")
    names = sorted(p.name for p in (tmp_path / "ev").iterdir())
    assert names == ["fan.parquet", "scenarios.parquet", "scenarios_by_commodity.parquet",
                     "summary.json"]
    back = pq.read_table(tmp_path / "ev" / "scenarios_by_commodity.parquet")
    assert back.equals(t)
    from optimiser.scenarios.results import read_result_table
    assert read_result_table(tmp_path / "ev", "scenarios").equals(ev.scenarios)
    ev.write(tmp_path / "ev2")
    assert read_result_table(tmp_path / "ev2", "scenarios_by_commodity").equals(t)


def test_cli_summary_never_sums_commodities(tmp_path):
    """The seed case has two commodities: the evaluate summary shows quantities per
    commodity, never demand/unmet summed over both."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    inst = os.path.join(ROOT, "instances", "seed-155mm")
    plan = tmp_path / "plan"
    r = subprocess.run([sys.executable, "-m", "optimiser", "solve", inst, "-o", str(plan)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "eval"
    r = subprocess.run([sys.executable, "-m", "optimiser", "evaluate", inst, str(plan), "-o",
                        str(out), "--scenarios", "40", "--demand-sigma", "0.3"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    commodities = sorted(summary["by_commodity"])
    if len(commodities) > 1:
        lines = r.stdout.splitlines()
        top = lines[:lines.index(next(ln for ln in lines if ln.startswith("commodity ")))]
        assert not any(ln.startswith(("demand ", "unmet ")) for ln in top)
        for c in commodities:
            assert f"commodity {c}:" in r.stdout
