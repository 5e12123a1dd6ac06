"""What-if sweeps: variants checked before anything runs, each variant equal to solving
its changed instance alone, failures reported per variant, the same results on Dask."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from optimiser import UsageError, load_instance, make_instance
from optimiser.cli import main
from optimiser.io import read_raw
from optimiser.solve import solve
from optimiser.sweep import FAILED, build_variants, read_variants, sweep

VARIANTS_TOML = """
[variants.baseline]

[variants.surge]
description = "front shells +50 %"
demand = { scale = 1.5, nodes = ["front"], commodities = ["shells"] }

[variants.no_beta]
[[variants.no_beta.suppliers]]
supplier = "beta"
remove = true

[variants.capped]
[[variants.capped.suppliers]]
supplier = "alpha"
commodity = "shells"
capacity_cap = 25
[[variants.capped.suppliers]]
supplier = "alpha"
commodity = "fuses"
contract_max = 150

[variants.north_floors]
floors = { scale = 1.5, nodes = ["depot-north"] }

[variants.budget]
budget = 3000.0

[variants.slow_sea]
[[variants.slow_sea.lanes]]
origin = "alpha"
destination = "depot-north"
commodity = "shells"
mode = "sea"
lead_time_days = 6

[variants.broke]
budget = 100.0          # below beta's contract_min cost: infeasible, an outcome
"""


def expected_rows(rows, name):
    """The tiny instance's rows changed by hand, as the variant describes."""
    budget = None
    if name == "surge":
        for r in rows["demand"]:
            if r["node"] == "front" and r["commodity"] == "shells":
                r["quantity"] *= 1.5
    elif name == "no_beta":
        rows["suppliers"] = [r for r in rows["suppliers"] if r["supplier"] != "beta"]
        rows["capacity"] = [r for r in rows["capacity"] if r["supplier"] != "beta"]
        rows["lanes"] = [r for r in rows["lanes"] if r["origin"] != "beta"]
    elif name == "capped":
        for r in rows["suppliers"]:
            if r["supplier"] == "alpha" and r["commodity"] == "shells":
                r["daily_capacity"] = min(r["daily_capacity"], 25.0)
            if r["supplier"] == "alpha" and r["commodity"] == "fuses":
                r["contract_max"] = 150.0
    elif name == "north_floors":
        for t in ("nodes", "floors"):
            for r in rows[t]:
                if r["node"] == "depot-north":
                    r["floor"] = r.get("floor", 0.0) * 1.5
    elif name == "budget":
        budget = 3000.0
    elif name == "broke":
        budget = 100.0
    elif name == "slow_sea":
        for r in rows["lanes"]:
            if (r["origin"], r["destination"], r["commodity"], r["mode"]) == \
                    ("alpha", "depot-north", "shells", "sea"):
                r["lead_time_days"] = 6
    return budget, rows


@pytest.fixture
def variants_file(tmp_path):
    f = tmp_path / "variants.toml"
    f.write_text(VARIANTS_TOML)
    return f


def test_each_variant_equals_solving_its_instance_alone(tiny_instance, tiny_rows, variants_file):
    import copy

    inst = load_instance(tiny_instance)
    variants = read_variants(inst, variants_file)
    assert [v.name for v in variants] == ["baseline", "surge", "no_beta", "capped",
                                          "north_floors", "budget", "slow_sea", "broke"]
    result = sweep(inst, variants)
    meta, rows = tiny_rows
    for r in result.results:
        budget, changed = expected_rows(copy.deepcopy(rows), r.variant.name)
        alone = solve(make_instance("tiny", 10, budget=budget, **changed))
        assert r.status == alone.status, r.variant.name
        assert r.plan.objective == alone.objective, r.variant.name
        np.testing.assert_array_equal(r.plan.x, alone.x, err_msg=r.variant.name)
    t = result.table
    st = dict(zip(t.column("variant").to_pylist(), t.column("status").to_pylist()))
    assert st["broke"] == "infeasible" and st["baseline"] == "optimal"
    err = dict(zip(t.column("variant").to_pylist(), t.column("error").to_pylist()))
    assert err["baseline"] is None and "hard requirements" in err["broke"]
    base = result["baseline"].plan.objective
    assert result["surge"].plan.objective > base and result["no_beta"].plan.objective > base


def test_sweep_with_scenarios_evaluates_every_plan_on_the_same_futures(tiny_instance,
                                                                       variants_file):
    from optimiser.scenarios import evaluate

    inst = load_instance(tiny_instance)
    variants = read_variants(inst, variants_file)[:3]
    result = sweep(inst, variants, scenarios=300, seed=4, demand_sigma=0.3)
    for r in result.results:
        alone = evaluate(r.variant.instance, r.plan, scenarios=300, seed=4, demand_sigma=0.3,
                         fan=False)
        assert r.evaluation.scenarios.equals(alone.scenarios)
    t = result.table
    assert t.column("eval_unmet_mean")[0].as_py() == result["baseline"].evaluation.summary["unmet"]["mean"]
    assert {"eval_unmet_cvar95", "eval_p_any_shortfall", "eval_cost_p95"} <= set(t.column_names)
    # per commodity: never a sum of different units; each row is that commodity's own figures
    k = result.by_commodity
    commodities = sorted(map(str, inst.commodities))
    assert len(commodities) > 1
    assert k.num_rows == 3 * len(commodities)
    for row in k.to_pylist():
        r = result[row["variant"]]
        tot = r.plan.summary["totals"]["by_commodity"][row["commodity"]]
        ev = r.evaluation.summary["by_commodity"][row["commodity"]]
        assert row["unmet"] == tot["unmet"] and row["ordered"] == tot["ordered"]
        assert row["eval_unmet_mean"] == ev["unmet"]["mean"]
        assert row["eval_p_any_breach"] == ev["p_any_breach"]
    base = [x for x in k.to_pylist() if x["variant"] == "baseline"]
    assert sum(x["unmet"] for x in base) == pytest.approx(t.column("unmet")[0].as_py())


@pytest.mark.parametrize("spec, fragment", [
    ({"variants": {"x": {"colour": 1}}}, "variant 'x', key(s) colour: unknown"),
    ({"variants": {"x": {"demand": {"scale": -1}}}}, "variant 'x', key 'demand[0].scale'"),
    ({"variants": {"x": {"demand": {"scale": 2, "nodes": ["mars"]}}}}, "unknown 'mars'"),
    ({"variants": {"x": {"suppliers": [{"supplier": "gamma", "remove": True}]}}},
     "key 'suppliers[0].supplier': no supplier 'gamma'"),
    ({"variants": {"x": {"suppliers": [{"supplier": "beta", "commodity": "fuses",
                                         "remove": True}]}}}, "does not sell 'fuses'"),
    ({"variants": {"x": {"suppliers": [{"supplier": "beta"}]}}}, "say what changes"),
    ({"variants": {"x": {"floors": {"scale": 2, "set": 3}}}}, "exactly one of scale or set"),
    ({"variants": {"x": {"budget": "lots"}}}, "key 'budget'"),
    ({"variants": {"x": {"lanes": [{"origin": "alpha", "destination": "front",
                                    "lead_time_days": 2}]}}}, "key 'lanes[0]': no lane"),
    ({"variants": {"x": {"lanes": [{"origin": "alpha", "destination": "depot-north",
                                    "lead_time_days": 1.5}]}}}, "whole number of days"),
    # depot-south has max_stock 200: a floor of 500 makes the changed instance invalid
    ({"variants": {"x": {"floors": {"set": 500, "nodes": ["depot-south"]}}}},
     "variant 'x': the changed instance is invalid: table nodes row 2"),
    ({"variants": {"../up": {}}}, "names the plan's directory"),
    ({"scenario": {}, "variants": {"x": {}}}, "unknown top-level key(s) scenario"),
    ({}, "no variants"),
])
def test_invalid_variants_are_refused_naming_variant_and_key(tiny_instance, spec, fragment):
    inst = load_instance(tiny_instance)
    with pytest.raises(UsageError) as e:
        build_variants(inst, spec)
    assert fragment in str(e.value)


def test_every_problem_of_every_variant_is_reported_at_once(tiny_instance):
    inst = load_instance(tiny_instance)
    spec = {"variants": {"ok": {}, "a": {"budget": -1}, "b": {"demand": {"scale": "x"}}}}
    with pytest.raises(UsageError) as e:
        build_variants(inst, spec)
    msg = str(e.value)
    assert "variant 'a'" in msg and "variant 'b'" in msg and "2 problem(s)" in msg


def test_a_failing_variant_is_reported_and_the_others_complete(tiny_instance, monkeypatch):
    import importlib

    solve_mod = importlib.import_module("optimiser.solve")  # the module, not optimiser.solve()
    inst = load_instance(tiny_instance)
    variants = build_variants(inst, {"variants": {"a": {}, "boom": {"budget": 12345.0}, "c": {}}})
    real = solve_mod.solve

    def flaky(instance, **kw):
        if instance.budget == 12345.0:
            raise RuntimeError("solver crashed")
        return real(instance, **kw)

    monkeypatch.setattr(solve_mod, "solve", flaky)
    result = sweep(inst, variants)
    assert [r.status for r in result.results] == ["optimal", FAILED, "optimal"]
    assert result["boom"].error == "RuntimeError: solver crashed"
    assert result.summary["failed"] == {"boom": "RuntimeError: solver crashed"}


def test_toml_is_data_only(tiny_instance, tmp_path):
    f = tmp_path / "v.toml"
    f.write_text("[variants.a\n")
    with pytest.raises(UsageError, match="cannot parse variants file"):
        read_variants(load_instance(tiny_instance), f)


# ---------------------------------------------------------------- CLI
def test_cli_sweep_writes_atomically_and_reports(tiny_instance, variants_file, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["sweep", str(tiny_instance), str(variants_file), "-o", str(out), "--json",
               "--scenarios", "100", "--demand-sigma", "0.2"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["variants"] == 8 and doc["statuses"]["infeasible"] == 1
    t = read_raw(out / "variants.arrow")
    assert t.num_rows == 8 and t.schema.field("objective").type == pa.float64()
    for name in t.column("variant").to_pylist():
        assert (out / "plans" / name / "summary.json").is_file()
    s = json.loads((out / "plans" / "surge" / "summary.json").read_text())
    assert s["variant"]["name"] == "surge"
    assert (out / "evaluations" / "baseline" / "scenarios.arrow").is_file()
    assert not (out / "evaluations" / "broke").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]
    # exists: refused; --force replaces
    assert main(["sweep", str(tiny_instance), str(variants_file), "-o", str(out)]) == 2
    assert main(["sweep", str(tiny_instance), str(variants_file), "-o", str(out), "--force"]) == 0


def test_cli_invalid_variants_exit_2_and_nothing_written(tiny_instance, tmp_path, capsys):
    f = tmp_path / "v.toml"
    f.write_text('[variants.x]\nsuppliers = [{supplier = "gamma", remove = true}]\n')
    rc = main(["sweep", str(tiny_instance), str(f), "-o", str(tmp_path / "out"), "--json"])
    cap = capsys.readouterr()
    assert rc == 2 and "no supplier 'gamma'" in json.loads(cap.out)["error"]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- on Dask
@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from optimiser.distributed import connect

    with connect("local", n_workers=2) as c:
        yield c


def test_sweep_on_dask_equals_local(client, tiny_instance, variants_file):
    inst = load_instance(tiny_instance)
    variants = read_variants(inst, variants_file)
    kw = dict(scenarios=200, seed=9, demand_sigma=0.3, loss_prob=0.05)
    local = sweep(inst, variants, **kw)
    seen = []
    dist = sweep(inst, variants, client=client, chunk_size=64,
                 progress=lambda name, r: seen.append(name), **kw)
    assert sorted(seen) == sorted(v.name for v in variants)
    assert dist.table.drop(["seconds"]).equals(local.table.drop(["seconds"]))
    for a, b in zip(local.results, dist.results):
        np.testing.assert_array_equal(a.plan.x, b.plan.x)
        assert (a.evaluation is None) == (b.evaluation is None)
        if a.evaluation is not None:
            assert a.evaluation.scenarios.equals(b.evaluation.scenarios)
    assert dist.summary["execution"]["engine"] == "dask"


def test_a_failing_variant_on_dask_is_reported_and_the_others_complete(client, tiny_instance):
    from optimiser.scenarios import ScenarioParams
    from optimiser.sweep import _run_dask

    inst = load_instance(tiny_instance)
    variants = build_variants(inst, {"variants": {"a": {}, "boom": {"budget": 12345.0}, "c": {}}})

    def flaky(instance, kw):  # defined here: shipped to the workers by value
        if instance.budget == 12345.0:
            raise RuntimeError("solver crashed")
        from optimiser.sweep import _solve_task
        return _solve_task(instance, kw)

    res = _run_dask(client, variants, {}, 50, 1, ScenarioParams(demand_sigma=0.2), None, 0,
                    None, solve_task=flaky)
    assert [r.status for r in res] == ["optimal", FAILED, "optimal"]
    assert res[1].error == "RuntimeError: solver crashed" and res[1].evaluation is None
    assert res[0].evaluation is not None and res[2].evaluation is not None


def test_cli_sweep_on_dask(client, tiny_instance, variants_file, tmp_path, capsys):
    rc = main(["sweep", str(tiny_instance), str(variants_file), "-o", str(tmp_path / "d"),
               "--dask", client.scheduler.address, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["failed"] == {} and rc == 0
    assert doc["execution"]["engine"] == "dask" and len(doc["rows"]) == 8


def test_cli_sweep_shows_quantities_per_commodity(tiny_instance, variants_file, tmp_path, capsys):
    """Two commodities: the variant lines carry no summed unmet; a per-commodity table does,
    and variants_by_commodity.arrow holds one row per (variant, commodity)."""
    out = tmp_path / "out"
    assert main(["sweep", str(tiny_instance), str(variants_file), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    head, _, per = text.partition("per commodity (units of that commodity):")
    assert per, text
    assert "unmet" not in head.splitlines()[0]  # the variants' header line
    assert "shells" in per and "fuses" in per and "unmet" in per.splitlines()[1]
    k = read_raw(out / "variants_by_commodity.arrow")
    t = read_raw(out / "variants.arrow")
    assert k.num_rows == 2 * t.num_rows
    assert set(k.column("commodity").to_pylist()) == {"shells", "fuses"}


def test_sweep_tables_have_the_declared_columns(tiny_instance, variants_file, tmp_path):
    """variants.arrow and variants_by_commodity.arrow are written with the columns
    optimiser/outputs.py declares (eval_* only when evaluated), in that order."""
    from optimiser.outputs import VARIANTS, VARIANTS_BY_COMMODITY

    inst = load_instance(tiny_instance)
    variants = read_variants(inst, variants_file)
    plain = sweep(inst, variants)
    assert plain.table.schema.equals(VARIANTS.schema)
    assert not any(n.startswith("eval_") for n in plain.table.column_names)
    evaluated = sweep(inst, variants[:2], scenarios=20, seed=1, demand_sigma=0.2)
    assert evaluated.table.column_names == [c.name for c in VARIANTS.columns]
    out = evaluated.write(tmp_path / "s")
    assert read_raw(out / "variants.arrow").equals(evaluated.table)
    assert read_raw(out / "variants_by_commodity.arrow").schema.equals(
        VARIANTS_BY_COMMODITY.schema)


def test_capacity_scale_and_cap_change_the_daily_capacity_and_its_overrides(tiny_instance):
    inst = load_instance(tiny_instance)
    alpha = [p for p in range(inst.n_supplier_pairs)
             if inst.supplier_names[inst.sp_supplier[p]] == "alpha"]
    others = [p for p in range(inst.n_supplier_pairs) if p not in alpha]
    v = build_variants(inst, {"variants": {
        "half": {"suppliers": [{"supplier": "alpha", "capacity_scale": 0.5}]},
        "both": {"suppliers": [{"supplier": "alpha", "capacity_scale": 2.0,
                                "capacity_cap": 30.0}]}}})
    half, both = (x.instance for x in v)
    np.testing.assert_allclose(half.capacity[alpha], inst.capacity[alpha] * 0.5)
    np.testing.assert_allclose(both.capacity[alpha],
                               np.minimum(inst.capacity[alpha] * 2.0, 30.0))  # scale, then cap
    np.testing.assert_array_equal(half.capacity[others], inst.capacity[others])
