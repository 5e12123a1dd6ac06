"""The evaluation summary on KPI arrays made by hand: every statistic a planner reads
(mean, sd, p5/p50/p95, CVaR, P(any shortfall), P(any breach)) to its exact value,
and the JSON and text forms of it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from optimiser.scenarios import KPI_NAMES, ChunkResult, ScenarioParams, summarise
from optimiser.scenarios.evaluate import cvar
from optimiser.scenarios.results import _fmt, format_summary, scenarios_table, summary_json

N = 30


def hand_result(n=N) -> ChunkResult:
    """n scenarios: unmet 1..n (shuffled), shortfall on 6 of 30, breach on 9 of 30."""
    rng = np.random.default_rng(5)
    k = np.full((n, len(KPI_NAMES)), 0.0)
    col = {name: j for j, name in enumerate(KPI_NAMES)}
    k[:, col["unmet"]] = rng.permutation(np.arange(1.0, n + 1))
    k[:, col["demand"]] = 100.0
    short = np.zeros(n)
    short[[1, 4, 7, 10, 13, 16]] = [1, 2, 1, 3, 1, 1]
    k[:, col["shortfall_days"]] = short
    breach = np.zeros(n)
    breach[[0, 2, 3, 5, 8, 11, 14, 17, 20]] = 2
    k[:, col["breach_days"]] = breach
    ratio = np.linspace(0.5, 1.0, n)
    ratio[[3, 9]] = np.nan  # no floor on those scenarios: left out of the statistics
    k[:, col["min_floor_ratio"]] = ratio
    k[:, col["cost"]] = np.nan  # never known: every statistic is None
    return ChunkResult(np.arange(n, dtype=np.int64), k, None, None, None)


@pytest.fixture
def summary():  # per test (not per module): mutation testing maps each test to summarise
    return summarise(hand_result(), seed=11, params=ScenarioParams())


def test_unmet_statistics_by_hand(summary):
    s = summary["unmet"]
    assert s["mean"] == pytest.approx(15.5)
    # population standard deviation of 1..30: sqrt((30**2 - 1) / 12), not the variance
    assert s["sd"] == pytest.approx(math.sqrt((N * N - 1) / 12.0))
    assert s["sd"] != pytest.approx((N * N - 1) / 12.0)
    # linear interpolation between order statistics: position q * (n - 1)
    assert s["p5"] == pytest.approx(1 + 0.05 * 29)  # 2.45
    assert s["p50"] == pytest.approx(15.5)
    assert s["p95"] == pytest.approx(1 + 0.95 * 29)  # 28.55


def test_cvar_is_the_mean_of_the_worst_five_percent(summary):
    # ceil(0.05 * 30) = 2 worst: (29 + 30) / 2
    assert summary["unmet_cvar95"] == pytest.approx(29.5)
    # ceil(0.05 * 20) = 1 (no round-off to 2): the worst alone
    assert cvar(np.arange(1.0, 21.0)) == 20.0
    assert cvar(np.arange(1.0, 11.0), level=0.8) == pytest.approx(9.5)
    assert cvar(np.array([3.0])) == 3.0  # at least one value


def test_probabilities_of_any_shortfall_and_any_breach(summary):
    assert summary["p_any_shortfall"] == pytest.approx(6 / 30)
    assert summary["p_any_breach"] == pytest.approx(9 / 30)


def test_nan_values_are_left_out_and_all_nan_gives_none(summary):
    ratio = np.linspace(0.5, 1.0, N)
    kept = np.delete(ratio, [3, 9])
    s = summary["min_floor_ratio"]
    assert s["mean"] == pytest.approx(kept.mean())
    assert s["sd"] == pytest.approx(kept.std())
    assert s["p5"] == pytest.approx(np.percentile(kept, 5))
    assert summary["cost"] == {"mean": None, "sd": None, "p5": None, "p50": None, "p95": None}


def test_summary_keys_and_constant_kpis(summary):
    assert summary["scenarios"] == N and summary["seed"] == 11
    assert summary["params"] == ScenarioParams().as_dict()
    assert summary["demand"] == {"mean": 100.0, "sd": 0.0, "p5": 100.0, "p50": 100.0,
                                 "p95": 100.0}
    assert set(KPI_NAMES) <= set(summary)
    from optimiser.scenarios.kernels import MANT_BITS, OCTAVES

    assert summary["fan"] == {"percentiles": [5, 50, 95],
                              "method": "log-linear histogram per (pair, day)",
                              "relative_bin_width": 2.0 ** -MANT_BITS, "octaves": OCTAVES}


def test_no_scenarios_gives_none_not_an_error():
    empty = ChunkResult(np.arange(0, dtype=np.int64), np.empty((0, len(KPI_NAMES))), None,
                        None, None)
    s = summarise(empty, seed=0, params=ScenarioParams())
    assert s["scenarios"] == 0
    assert s["unmet_cvar95"] is None and s["p_any_shortfall"] is None
    assert s["p_any_breach"] is None and s["unmet"]["mean"] is None


def test_summary_json_writes_nan_and_inf_as_null(summary):
    text = summary_json(dict(summary, extra=[float("inf"), np.float64("nan"), np.int64(3)]))
    back = json.loads(text)
    assert back["cost"]["mean"] is None and back["extra"] == [None, None, 3]
    assert back["unmet"]["p95"] == pytest.approx(28.55)
    assert "NaN" not in text and "Infinity" not in text and text.endswith("\n")


def test_scenarios_table_has_one_column_per_kpi():
    r = hand_result()
    t = scenarios_table(r)
    assert t.column_names == ["scenario", *KPI_NAMES]
    assert t.column("scenario").to_pylist() == list(range(N))
    for j, name in enumerate(KPI_NAMES):
        np.testing.assert_array_equal(t.column(name).to_numpy(zero_copy_only=False),
                                      r.kpis[:, j])


def test_text_summary_shows_every_kpi_and_the_probabilities(summary):
    text = format_summary(summary)
    lines = text.splitlines()
    assert lines[0] == "30 scenarios, seed 11"
    assert lines[1].startswith("parameters: demand_sigma=")
    assert lines[2].split() == ["kpi", "mean", "sd", "p5", "p50", "p95"]
    unmet = next(line for line in lines if line.startswith("unmet "))
    assert unmet.split() == ["unmet", "15.5", "8.6554", "2.45", "15.5", "28.55"]
    cost = next(line for line in lines if line.startswith("cost "))
    assert cost.split() == ["cost", "-", "-", "-", "-", "-"]
    assert lines[-1].split() == ["unmet", "CVaR95:", "29.5", "P(any", "shortfall):", "0.2",
                                 "P(any", "floor", "breach):", "0.3"]


@pytest.mark.parametrize("value, text", [
    (None, "-"), (float("nan"), "-"), (float("inf"), "-"), (0, "0"), (0.0, "0"),
    (2.5, "2.5"), (15.5, "15.5"), (99.99999, "100"),
    (1234.5678, "1,234.6"), (12345678.0, "1.235e+07"), (0.0004, "0.0004"),
    (-2.5, "-2.5"), (1e-3, "0.001"),
])
def test_number_format(value, text):
    assert _fmt(value) == text
