"""The independent checker: any plan form (object, directory, tables), any format, refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import optimiser
from optimiser.check import check_plan, check_plan_dir
from optimiser.instance import load_instance
from optimiser.io import write_table
from optimiser.solve import solve

from .conftest import INSTANCES

TINY = INSTANCES / "tiny"


def run(*args, check_rc=None):
    p = subprocess.run([sys.executable, "-m", "optimiser", *map(str, args)],
                       capture_output=True, text=True, timeout=300)
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def tiny():
    inst = load_instance(TINY)
    return inst, solve(inst)


def test_check_plan_takes_a_plan_object(tiny):
    inst, plan = tiny
    rep = optimiser.check_plan(inst, plan)
    assert rep.ok, rep.worst()
    assert rep.objective == pytest.approx(plan.objective, rel=1e-9)


def test_check_plan_takes_a_directory_and_tables(tiny, tmp_path):
    inst, plan = tiny
    plan.write(tmp_path / "plan")
    assert check_plan(inst, tmp_path / "plan").ok
    assert check_plan(inst, str(tmp_path / "plan")).ok
    assert check_plan(inst, plan.flows, plan.stock, plan.summary).ok


def test_check_catches_a_moved_flow(tiny):
    inst, plan = tiny
    flows = plan.flows
    q = pc.multiply(flows.column("quantity"), 2.0)
    bad = flows.set_column(flows.schema.get_field_index("quantity"), "quantity", q)
    rep = check_plan(inst, bad, plan.stock, plan.summary)
    assert not rep.ok
    assert rep.violations["balance"].count > 0


def test_check_names_an_unknown_lane(tiny):
    inst, plan = tiny
    flows = plan.flows
    origin = pa.array(["nobody"] + flows.column("origin").to_pylist()[1:])
    bad = flows.set_column(0, "origin", origin)
    rep = check_plan(inst, bad, plan.stock, plan.summary)
    assert not rep.ok and any("flows row 0: no such lane" in e for e in rep.errors)


def test_check_refuses_nonoptimal_plan_object_unless_allowed(tiny):
    from optimiser.errors import PlanNotUsableError
    from optimiser.plan import Plan
    from optimiser.status import Status

    inst, plan = tiny
    bad = Plan(instance=inst, status=Status.ERROR, x=plan.x, s=plan.s, u=plan.u, r=plan.r,
               summary=dict(plan.summary, status="error"))
    with pytest.raises(PlanNotUsableError, match="status error"):
        check_plan(inst, bad)
    assert check_plan(inst, bad, allow_nonoptimal=True).ok


def test_cli_check_refuses_status_in_summary_unless_allowed(tiny, tmp_path):
    inst, plan = tiny
    plan.write(tmp_path / "plan")
    f = tmp_path / "plan" / "summary.json"
    doc = json.loads(f.read_text())
    doc["status"] = "no_solution"
    f.write_text(json.dumps(doc))
    p = run("check", TINY, tmp_path / "plan", "--json", check_rc=2)
    assert json.loads(p.stdout)["status"] == "error"
    assert "no_solution" in p.stderr
    p = run("check", TINY, tmp_path / "plan", "--allow-nonoptimal", "--json", check_rc=0)
    assert json.loads(p.stdout)["ok"] is True


def test_cli_check_parquet_plan(tmp_path):
    run("solve", TINY, "-o", tmp_path / "plan", "--format", "parquet", check_rc=0)
    assert (tmp_path / "plan" / "flows.parquet").is_file()
    assert not (tmp_path / "plan" / "flows.arrow").exists()
    p = run("check", TINY, tmp_path / "plan", "--json", check_rc=0)
    assert json.loads(p.stdout)["ok"] is True


def test_cli_check_tolerance_must_be_positive(tmp_path):
    for bad in ("nan", "-1", "0"):
        p = run("check", TINY, tmp_path / "nowhere", "--tolerance", bad, check_rc=2)
        assert "--tolerance" in p.stderr


def test_plan_without_summary_is_checked_as_feasible(tiny, tmp_path):
    inst, plan = tiny
    plan.write(tmp_path / "plan")
    (tmp_path / "plan" / "summary.json").unlink()
    rep = check_plan_dir(inst, tmp_path / "plan")
    assert rep.ok and rep.reported_objective is None


def test_plan_from_another_tool_without_mode_column(tmp_path):
    from .lp_cases import one_supplier

    inst = one_supplier(demand={1: 5.0})
    plan = solve(inst)
    d = tmp_path / "plan"
    d.mkdir()
    flows = plan.flows
    assert flows.num_rows and set(flows.column("mode").to_pylist()) == {""}
    write_table(flows.drop_columns(["mode"]), d / "flows.arrow")
    write_table(plan.stock, d / "stock.parquet")
    assert check_plan_dir(inst, d).ok


def test_a_flow_split_over_rows_is_checked_as_its_sum(tiny):
    """Rows of the same lane and day add up (another tool may write a dispatch in parts):
    the plan split in halves passes as a whole, and a third row for the same dispatch is
    counted in the balance."""
    inst, plan = tiny
    flows = plan.flows
    half = flows.set_column(flows.schema.get_field_index("quantity"), "quantity",
                            pc.divide(flows.column("quantity"), 2.0))
    rep = check_plan(inst, pa.concat_tables([half, half]), plan.stock, plan.summary)
    assert rep.ok, rep.worst()
    assert rep.objective == pytest.approx(plan.objective, rel=1e-9)
    rep = check_plan(inst, pa.concat_tables([half, half, half.slice(0, 1)]), plan.stock,
                     plan.summary)
    assert not rep.ok and rep.violations["balance"].count > 0
