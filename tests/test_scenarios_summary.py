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
    assert lines[1] == ("parameters: demand_sigma=0.0, demand_phi=0.0, surge_prob=0.0, "
                        "surge_multiplier=1.0, surge_days=0, outage_prob=0.0, outage_days=0, "
                        "delay_prob=0.0, delay_max_days=0, loss_prob=0.0")
    assert lines[3] == "-" * len(lines[2]) and len(lines[2]) == 16 * 6
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
    (1234.5678, "1,234.6"), (12345678.0, "1.235e+07"), (1e7, "1e+07"), (9999999.0, "9,999,999.0"),
    (0.0004, "0.0004"),
    (-2.5, "-2.5"), (1e-3, "0.001"),
])
def test_number_format(value, text):
    assert _fmt(value) == text


# ---------------------------------------------------------------- per commodity, by hand
def two_commodity_result() -> ChunkResult:
    """4 scenarios x commodities A, B: A's unmet 0, 2, 4, 10 (short on 3 of 4 scenarios,
    never below its floor), B's unmet 1 on scenario 3 only and below its floor on 1 and 3."""
    from optimiser.scenarios.kernels import COMMODITY_KPI_NAMES

    n, col = 4, {name: j for j, name in enumerate(COMMODITY_KPI_NAMES)}
    kc = np.zeros((n, 2, len(COMMODITY_KPI_NAMES)))
    kc[:, 0, col["demand"]] = 20.0
    kc[:, 0, col["unmet"]] = [0.0, 2.0, 4.0, 10.0]
    kc[:, 0, col["shortfall_days"]] = [0, 1, 1, 2]
    kc[:, 1, col["demand"]] = 5.0
    kc[:, 1, col["unmet"]] = [0.0, 0.0, 0.0, 1.0]
    kc[:, 1, col["shortfall_days"]] = [0, 0, 0, 1]
    kc[:, 1, col["breach_days"]] = [0, 3, 0, 1]
    k = np.zeros((n, len(KPI_NAMES)))
    for name in COMMODITY_KPI_NAMES:
        if name in ("demand", "unmet", "shortfall_days", "breach_days"):
            k[:, KPI_NAMES.index(name)] = kc[:, :, col[name]].sum(axis=1)
    return ChunkResult(np.arange(n, dtype=np.int64), k, None, None, None, kpis_c=kc)


def test_statistics_per_commodity_by_hand():
    s = summarise(two_commodity_result(), seed=3, params=ScenarioParams(),
                  commodities=np.array(["A", "B"]))
    a, b = s["by_commodity"]["A"], s["by_commodity"]["B"]
    assert list(s["by_commodity"]) == ["A", "B"]
    # A's unmet 0, 2, 4, 10: mean 4, population sd sqrt((16 + 4 + 0 + 36) / 4) = sqrt(14)
    assert a["unmet"] == {"mean": 4.0, "sd": pytest.approx(math.sqrt(14.0)),
                          "p5": pytest.approx(0.3), "p50": 3.0, "p95": pytest.approx(9.1)}
    assert a["unmet_cvar95"] == 10.0  # ceil(0.05 * 4) = 1 worst
    assert a["p_any_shortfall"] == 0.75 and a["p_any_breach"] == 0.0
    assert b["unmet"]["mean"] == 0.25 and b["unmet_cvar95"] == 1.0
    assert b["p_any_shortfall"] == 0.25 and b["p_any_breach"] == 0.5
    assert b["demand"] == {"mean": 5.0, "sd": 0.0, "p5": 5.0, "p50": 5.0, "p95": 5.0}
    assert set(a) == {"demand", "unmet", "fill_rate", "shortfall_days", "below_floor",
                      "breach_days", "min_floor_ratio", "unmet_cvar95", "p_any_shortfall",
                      "p_any_breach"}
    # the totals: any commodity short / in breach
    assert s["p_any_shortfall"] == 0.75 and s["p_any_breach"] == 0.5
    # without per-commodity rows (or without names) there is no by_commodity entry
    no_c = two_commodity_result()
    no_c.kpis_c = None
    assert "by_commodity" not in summarise(no_c, 3, ScenarioParams(), commodities=["A", "B"])
    assert "by_commodity" not in summarise(two_commodity_result(), 3, ScenarioParams())


def test_cvar_counts_the_worst_tail_rounding_up():
    # 0.05 * 21 = 1.05 -> the worst 2 (rounding to the nearest would keep 1); 0.05 * 50 =
    # 2.5 -> 3; 0.05 * 90 = 4.5 -> 5
    assert cvar(np.arange(1.0, 22.0)) == pytest.approx(20.5)
    assert cvar(np.arange(1.0, 51.0)) == pytest.approx(49.0)
    assert cvar(np.arange(1.0, 91.0)) == pytest.approx(88.0)


def test_scenarios_by_commodity_table_is_scenario_major():
    from types import SimpleNamespace

    from optimiser.scenarios.kernels import COMMODITY_KPI_NAMES
    from optimiser.scenarios.results import (
        SCENARIOS_BY_COMMODITY_SCHEMA,
        scenarios_by_commodity_table,
    )

    r = two_commodity_result()
    t = scenarios_by_commodity_table(SimpleNamespace(commodities=np.array(["A", "B"])), r)
    assert t.schema == SCENARIOS_BY_COMMODITY_SCHEMA
    assert t.column("scenario").to_pylist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert t.column("commodity").to_pylist() == ["A", "B"] * 4
    assert t.column("unmet").to_pylist() == [0.0, 0.0, 2.0, 0.0, 4.0, 0.0, 10.0, 1.0]
    assert t.column("breach_days").to_pylist() == [0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 1.0]
    for j, name in enumerate(COMMODITY_KPI_NAMES):
        assert t.column(name).to_pylist() == r.kpis_c[:, :, j].ravel().tolist()


def test_text_summary_with_several_commodities_never_sums_quantities():
    s = summarise(two_commodity_result(), seed=3, params=ScenarioParams(),
                  commodities=np.array(["A", "B"]))
    lines = format_summary(s).splitlines()
    first = [line.split()[0] for line in lines[2:lines.index("")] if line.strip("-")]
    # the all-commodity table keeps counts and ratios only: no demand, unmet, fill rate
    assert first == ["kpi", "shortfall_days", "breach_days", "min_floor_ratio", "cost",
                     "P(any"]
    assert lines[lines.index("") - 1].split() == [
        "P(any", "shortfall):", "0.75", "P(any", "floor", "breach):", "0.5", "(all",
        "commodities)"]
    a = lines.index("commodity A:")
    assert lines[a - 1] == ""
    assert lines[a + 1].split() == ["kpi", "mean", "sd", "p5", "p50", "p95"]
    assert lines[a + 1].startswith("  kpi")
    unmet = next(line for line in lines[a:] if line.startswith("  unmet "))
    assert unmet.split() == ["unmet", "4", "3.7417", "0.3", "3", "9.1"]
    assert [line.split()[0] for line in lines[a + 3:a + 10]] == [
        "demand", "unmet", "fill_rate", "shortfall_days", "below_floor", "breach_days",
        "min_floor_ratio"]
    assert lines[a + 10].split() == ["unmet", "CVaR95:", "10", "P(any", "shortfall):", "0.75",
                                     "P(any", "floor", "breach):", "0"]
    b = lines.index("commodity B:")
    assert lines[-1].split() == ["unmet", "CVaR95:", "1", "P(any", "shortfall):", "0.25",
                                 "P(any", "floor", "breach):", "0.5"]
    assert b == a + 12 and len(lines) == b + 11


def test_summary_json_text_is_indented_two():
    assert summary_json({"a": 1, "b": [1.5]}) == '{\n  "a": 1,\n  "b": [\n    1.5\n  ]\n}\n'


# ---------------------------------------------------------------- result files
def _evaluation(tmp_path=None):
    from types import SimpleNamespace

    import pyarrow as pa

    r = two_commodity_result()
    scen = scenarios_table(r)
    fan = pa.table({"node": ["D"], "commodity": ["A"], "day": pa.array([0], pa.int32()),
                    "p5": [1.0], "p50": [2.0], "p95": [3.0]})
    return SimpleNamespace(scenarios=scen, scenarios_by_commodity=None, fan=fan,
                           summary={"scenarios": 4, "x": float("nan")})


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_evaluation_written_and_read_back(tmp_path, fmt):
    from optimiser.scenarios.results import read_result_table, write_evaluation

    ev = _evaluation()
    out = write_evaluation(ev, tmp_path / "ev", fmt=fmt)
    assert out == tmp_path / "ev"
    assert sorted(p.name for p in out.iterdir()) == [f"fan.{fmt}", f"scenarios.{fmt}",
                                                    "summary.json"]
    assert read_result_table(out, "scenarios").equals(ev.scenarios)
    assert read_result_table(out, "fan").equals(ev.fan)
    assert read_result_table(out, "scenarios_by_commodity") is None
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {
        "scenarios": 4, "x": None}
    with pytest.raises(Exception, match="exists"):
        write_evaluation(ev, out, fmt=fmt)
    ev.summary = {"scenarios": 5}
    write_evaluation(ev, out, force=True, fmt=fmt)
    assert json.loads((out / "summary.json").read_text())["scenarios"] == 5


def test_result_format_and_ambiguous_tables_are_refused(tmp_path):
    from optimiser.errors import UsageError
    from optimiser.scenarios.results import read_result_table, write_evaluation

    with pytest.raises(UsageError, match="fmt='csv': choose arrow or parquet"):
        write_evaluation(_evaluation(), tmp_path / "ev", fmt="csv")
    assert not (tmp_path / "ev").exists()
    write_evaluation(_evaluation(), tmp_path / "ev")
    import shutil

    from optimiser.io import write_table
    write_table(_evaluation().scenarios, tmp_path / "ev" / "scenarios.parquet")
    with pytest.raises(UsageError, match=str(tmp_path / "ev")):
        read_result_table(tmp_path / "ev", "scenarios")
    shutil.rmtree(tmp_path / "ev")


def test_fan_rows_are_the_percentiles_of_each_pair_and_day():
    """The fan table against numpy's percentiles of the plain-Python reference's stock, pair
    by pair and day by day (the histogram's bins are 2**-5 wide, relatively)."""
    from optimiser import load_instance
    from optimiser.scenarios import evaluate_chunk, prepare
    from optimiser.scenarios.kernels import MANT_BITS
    from optimiser.scenarios.results import FAN_SCHEMA, fan_table

    from . import golden_values as gv
    from .scenario_reference import replay

    inst = load_instance(gv.ROOT / "instances" / "tiny")
    x, u = gv.fixed_plan(inst)
    arrays = prepare(inst, x, u)
    params = ScenarioParams.from_mapping(gv.KPI_PARAMS)
    n = 40
    res = evaluate_chunk(arrays, params, 7, 0, n, fan=True)
    t = fan_table(inst, arrays, res)
    assert t.schema == FAN_SCHEMA
    I, T = inst.n_pairs, inst.horizon
    assert t.num_rows == I * T
    stock = np.array([replay(inst, x, u, params, 7, k)[1] for k in range(n)])  # [n, I, T]
    want = np.percentile(stock, [5, 50, 95], axis=0)  # [3, I, T]
    rows = t.to_pylist()
    spread = 0
    for r, row in enumerate(rows):
        i, day = r // T, r % T
        assert (row["node"], row["commodity"], row["day"]) == (
            str(inst.node_names[inst.nc_node[i]]), str(inst.commodities[inst.nc_commodity[i]]),
            day)
        got = [row["p5"], row["p50"], row["p95"]]
        np.testing.assert_allclose(got, want[:, i, day], rtol=2.0 ** -MANT_BITS, atol=1e-4)
        spread += got[2] > 1.1 * got[0] + 1e-3
    assert spread > len(rows) // 4  # the noise spreads the fan: p5, p50, p95 differ


def test_cvar_tail_count_is_exact_for_millions_of_scenarios():
    # (1 - 0.95) * n carries round-off growing with n: 100000.00000000009 for 2e6 and
    # 1000000.0000000009 for 2e7 scenarios; the tail is still exactly 5% of them
    for n in (2_000_000, 20_000_000):
        v = np.zeros(n, dtype=np.int8)
        v[-(n // 20):] = 1  # the worst 5% are ones: their mean is 1, one more value lowers it
        assert cvar(v) == 1.0, n


def test_no_scenarios_per_commodity_gives_none():
    from optimiser.scenarios.kernels import COMMODITY_KPI_NAMES

    empty = ChunkResult(np.arange(0, dtype=np.int64), np.empty((0, len(KPI_NAMES))), None,
                        None, None, kpis_c=np.empty((0, 2, len(COMMODITY_KPI_NAMES))))
    s = summarise(empty, seed=0, params=ScenarioParams(), commodities=["A", "B"])
    for c in ("A", "B"):
        st = s["by_commodity"][c]
        assert st["unmet_cvar95"] is None and st["p_any_shortfall"] is None
        assert st["p_any_breach"] is None and st["unmet"]["mean"] is None
