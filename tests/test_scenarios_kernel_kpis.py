"""The replay kernel's KPI columns are the declared vocabulary (optimiser/kpis.py): each KPI
the kernel writes -- all pairs and per commodity, and as the readers of the KPI arrays
(scenarios table, summary) show it -- equals, by name, what the plain-Python reference
computes; the named indices (K_UNMET, ...) name the vocabulary's columns."""

from __future__ import annotations

import math
import os
import sys
from itertools import combinations

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from scenario_reference import replay, small_case  # noqa: E402
from simulate_reference import replay_plan  # noqa: E402

from optimiser import kpis, outputs  # noqa: E402
from optimiser.kpis import COMMODITY_KPI_NAMES, KPI_NAMES, N_CKPI, N_KPI  # noqa: E402
from optimiser.scenarios import kernels  # noqa: E402
from optimiser.scenarios.arrays import prepare  # noqa: E402
from optimiser.scenarios.evaluate import evaluate_chunk, replay_full, summarise  # noqa: E402
from optimiser.scenarios.params import ScenarioParams  # noqa: E402
from optimiser.scenarios.results import scenarios_table  # noqa: E402

PARAMS = ScenarioParams(demand_sigma=0.4, demand_phi=0.6, surge_prob=0.15, surge_days=3,
                        surge_multiplier=1.8, outage_prob=0.1, outage_days=2, delay_prob=0.3,
                        delay_max_days=3, loss_prob=0.1)
SEED, START, N = 21, 5, 8


def col(name: str) -> int:
    """The named index of a KPI (K_<NAME>), looked up by the KPI's name."""
    return getattr(kpis, "K_" + name.upper())


@pytest.fixture(scope="module")
def case():
    inst, x, u = small_case(T=14)
    return inst, x, u, prepare(inst, x, u)


def test_named_indices_are_the_vocabulary_columns():
    declared = {n for n in dir(kpis) if n.startswith("K_")}
    assert declared == {"K_" + k.upper() for k in KPI_NAMES}
    for j, name in enumerate(KPI_NAMES):
        assert col(name) == j
    # one index names a KPI in both arrays: the per-commodity KPIs are the first columns
    assert COMMODITY_KPI_NAMES == KPI_NAMES[:N_CKPI] and "cost" not in COMMODITY_KPI_NAMES
    assert (N_KPI, N_CKPI) == (len(KPI_NAMES), len(COMMODITY_KPI_NAMES))
    # declared once: the kernel and the output tables read the same objects
    assert kernels.KPI_NAMES is kpis.KPI_NAMES is outputs.KPI_NAMES
    assert kernels.COMMODITY_KPI_NAMES is outputs.COMMODITY_KPI_NAMES
    assert [c.name for c in outputs.SCENARIOS.columns] == ["scenario", *KPI_NAMES]


def test_kernel_writes_each_kpi_in_its_named_column(case):
    inst, x, u, a = case
    kpi, kpi_c, _ = replay_full(a, PARAMS, SEED, START, N)
    assert kpi.shape == (N, N_KPI) and kpi_c.shape == (N, len(inst.commodities), N_CKPI)
    refs = [replay(inst, x, u, PARAMS, SEED, START + j)[0] for j in range(N)]
    assert set(refs[0]) == set(KPI_NAMES)
    for name in KPI_NAMES:
        np.testing.assert_array_equal(kpi[:, col(name)], [r[name] for r in refs], err_msg=name)
    # a swap of two columns could not pass: no two KPIs agree on every scenario here
    for p, q in combinations(KPI_NAMES, 2):
        assert not np.array_equal(kpi[:, col(p)], kpi[:, col(q)], equal_nan=True), (p, q)
    for j in range(N):
        by = replay_plan(inst, x, u, PARAMS, SEED, START + j).by_commodity()
        for ci, c in enumerate(inst.commodities):
            for name in COMMODITY_KPI_NAMES:
                want, got = by[str(c)][name], kpi_c[j, ci, col(name)]
                if math.isnan(want):
                    assert math.isnan(got), (c, name)
                else:
                    assert got == pytest.approx(want, rel=1e-12, abs=1e-9), (c, name)


def test_readers_show_each_kpi_under_its_name(case):
    inst, x, u, a = case
    res = evaluate_chunk(a, PARAMS, SEED, 0, N, fan=False)
    refs = [replay(inst, x, u, PARAMS, SEED, j)[0] for j in range(N)]
    table = scenarios_table(res)
    summary = summarise(res, SEED, PARAMS)
    for name in KPI_NAMES:
        want = np.array([r[name] for r in refs])
        np.testing.assert_array_equal(table.column(name).to_numpy(zero_copy_only=False), want,
                                      err_msg=name)
        assert summary[name]["mean"] == pytest.approx(float(np.mean(want[~np.isnan(want)])),
                                                      rel=1e-12), name
    assert summary["unmet"]["p95"] == pytest.approx(
        float(np.percentile([r["unmet"] for r in refs], 95)), rel=1e-12)
