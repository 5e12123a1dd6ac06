"""What a reliability plan shows its planner: the certification fan saved with the plan
(reliability_fan.arrow: the stock the certificate was judged on), and the report's
per-pair view -- the planning floor above the floor, the fan, the certificate."""

from __future__ import annotations

import re

import numpy as np
import pytest

import optimiser
from optimiser import outputs
from optimiser.reliability.fan import FAN_SCENARIOS
from optimiser.scenarios.params import ScenarioParams

from .reliability_cases import network, network_rows

PARAMS = ScenarioParams(demand_sigma=0.3, delay_prob=0.1, delay_max_days=2)


@pytest.fixture(scope="module")
def plan():
    return optimiser.solve(network(), reliability=0.9, params=PARAMS, train=600, certify=2500,
                           seed=11)


def test_fan_is_the_stock_of_the_last_certification_scenarios(plan):
    from optimiser.scenarios.arrays import prepare
    from optimiser.scenarios.evaluate import run_kernel

    inst = network()
    fan = plan.fan
    assert fan.schema.equals(outputs.RELIABILITY_FAN.schema)
    cert = plan.summary["reliability"]["seeds"]["certify"][-1]
    last = plan.summary["reliability_run"]["fan"]  # the first scenarios of the last range
    assert last == {**cert, "count": min(cert["count"], FAN_SCENARIOS)}
    protected = (inst.floor > 0).any(axis=1)
    T = inst.horizon
    assert fan.num_rows == int(protected.sum()) * T
    # the same scenarios replayed here, stock recorded, percentiles by numpy
    S = np.empty((last["count"], T, inst.n_pairs))
    run_kernel(prepare(inst, plan.x, plan.u), PARAMS, last["seed"], last["first"], last["count"],
               stock_out=S)
    rows = fan.to_pylist()
    names = [(str(inst.node_names[inst.nc_node[i]]), str(inst.commodities[inst.nc_commodity[i]]))
             for i in range(inst.n_pairs)]
    for r in rows:
        i = names.index((r["node"], r["commodity"]))
        assert protected[i]
        col = S[:, r["day"], i]
        for q, key in ((5, "p5"), (50, "p50"), (95, "p95")):
            exact = float(np.percentile(col, q))
            # the fan's histogram bins are 2**-5 wide relative to the value
            assert r[key] == pytest.approx(exact, rel=2 ** -4, abs=1e-6), (r, key, exact)
    # and the certificate counted breaches on those very scenarios (all M of them)
    S = np.empty((cert["count"], T, inst.n_pairs))
    run_kernel(prepare(inst, plan.x, plan.u), PARAMS, cert["seed"], cert["first"], cert["count"],
               stock_out=S)
    rel = plan.reliability.to_pylist()
    for row in rel:
        i = names.index((row["node"], row["commodity"]))
        breach = (S[:, :, i] < inst.floor[i] - 1e-6 * np.maximum(1.0, inst.floor[i])).any(axis=1)
        assert row["certify_breaches"] == int(breach.sum())


def test_fan_written_with_the_plan_and_read_back(plan, tmp_path):
    plan.write(tmp_path / "plan")
    back = outputs.read_output_table(tmp_path / "plan", "reliability_fan", required=True)
    assert back.equals(plan.fan)
    for name in ("reliability", "reliability_fan"):
        t = outputs.read_output_table(tmp_path / "plan", name, required=True)
        assert t.schema.equals(outputs.OUTPUT_TABLES[name].schema), name


def test_report_shows_buffer_fan_and_certificate_per_pair(plan, tmp_path, write_instance):
    pytest.importorskip("matplotlib")
    from optimiser.report import build, data
    from optimiser.report import reliability as rr

    inst_dir = write_instance({"name": "network", "horizon_days": 8}, network_rows(8))
    plan.write(tmp_path / "plan")
    rep = build.prepare(inst_dir, tmp_path / "plan")
    rows = rr.pair_rows(rep.plan.stock, rep.plan.reliability, rep.reliability_fan, rep.horizon)
    inst = network()
    stock = plan.stock.to_pydict()
    fan = plan.fan.to_pydict()
    assert {(r["node"], r["commodity"]) for r in rows} == {
        (n, c) for n, c in zip(fan["node"], fan["commodity"])}
    for r in rows:
        sel = [k for k, (n, c) in enumerate(zip(stock["node"], stock["commodity"]))
               if (n, c) == (r["node"], r["commodity"])]
        buf = [stock["planning_floor"][k] - stock["floor"][k] for k in sel]
        assert r["max_buffer"] == pytest.approx(max(0.0, max(buf)), abs=1e-9)
        assert r["buffer_days"] == sum(b > 1e-9 * max(1.0, stock["floor"][k])
                                       for b, k in zip(buf, sel))
        fsel = [k for k, (n, c) in enumerate(zip(fan["node"], fan["commodity"]))
                if (n, c) == (r["node"], r["commodity"])]
        floor = {stock["day"][k]: stock["floor"][k] for k in sel}
        gaps = [fan["p5"][k] - floor[fan["day"][k]] for k in fsel]
        assert r["lowest_p5_gap"] == pytest.approx(min(gaps))
        cert = next(x for x in plan.reliability.to_pylist()
                    if (x["node"], x["commodity"]) == (r["node"], r["commodity"]))
        assert r["upper_bound"] == cert["upper_bound"] and r["certified"] == cert["certified"]
    assert any(r["max_buffer"] > 0 for r in rows)  # the plan bought some buffer
    assert inst.n_pairs == 4
    # the page: the fan figure in the reliability section, the per-pair table's numbers
    out = build.write(rep, tmp_path / "r")
    page = out.read_text(encoding="utf-8")
    assert (tmp_path / "r" / "reliability_fan.png").exists()
    body = page[page.index('id="reliability"'):]
    body = body[:body.index("</section>")] if "</section>" in body else body
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    assert "Per protected pair" in text
    last = plan.summary["reliability"]["seeds"]["certify"][-1]
    assert f"certified on scenarios {last['first']}–{last['first'] + last['count'] - 1}" in text
    top = rows[0]
    assert f"{top['node']} · {top['commodity']}" in text
    assert data.load_plan(tmp_path / "plan").reliability is not None
