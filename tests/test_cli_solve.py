"""optimiser solve / check from the command line: exit codes, clean stdout, atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from .cli_helpers import run

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny"
SEED = ROOT / "instances" / "seed-155mm"


@pytest.mark.parametrize("instance", [TINY, SEED])
def test_solve_json_stdout_is_one_document(tmp_path, instance):
    p = run("solve", instance, "-o", tmp_path / "plan", "--json", check_rc=0)
    doc = json.loads(p.stdout)  # nothing but the document (no HiGHS banner)
    assert doc["status"] == "optimal"
    assert set(doc["breakdown"]) == {"procurement", "transport", "holding",
                                     "shortfall_penalty", "readiness_penalty"}
    for k in ("status", "objective", "breakdown", "solver", "timings", "size"):
        assert k in doc
    assert "Running HiGHS" not in p.stdout
    # nor on stderr: the banner names a notices file the user does not have
    assert "Running HiGHS" not in p.stderr and "THIRD_PARTY_NOTICES" not in p.stderr
    on_disk = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert on_disk["objective"] == doc["objective"]
    for f in ("flows.arrow", "stock.arrow", "shadow_prices.arrow", "summary.json"):
        assert (tmp_path / "plan" / f).is_file()
    # the plan passes the independent checker from the command line
    c = run("check", instance, tmp_path / "plan", "--json", check_rc=0)
    assert json.loads(c.stdout)["ok"] is True


@pytest.mark.parametrize("solver", ["glop", "pdlp", "highs-ortools"])
def test_solve_other_backends_stdout_clean(tmp_path, solver):
    p = run("solve", TINY, "-o", tmp_path / "plan", "--solver", solver, "--json", check_rc=0)
    assert json.loads(p.stdout)["solver"]["name"] == solver


def test_solve_human_summary(tmp_path):
    p = run("solve", SEED, "-o", tmp_path / "plan", check_rc=0)
    out = p.stdout
    assert "OPTIMAL" in out and "objective" in out and "check: passed" in out
    assert "what limits the plan" in out


def test_existing_output_refused_without_force(tmp_path):
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "keep.txt").write_text("mine")
    p = run("solve", TINY, "-o", tmp_path / "plan", check_rc=2)
    assert "--force" in p.stderr
    assert (tmp_path / "plan" / "keep.txt").read_text() == "mine"
    run("solve", TINY, "-o", tmp_path / "plan", "--force", check_rc=0)
    assert not (tmp_path / "plan" / "keep.txt").exists()
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".plan.tmp")]


def test_output_never_overwrites_input(tmp_path):
    import shutil

    inst = tmp_path / "inst"
    shutil.copytree(TINY, inst)
    p = run("solve", inst, "-o", inst, "--force", check_rc=2)
    assert "overwrite the input" in p.stderr
    assert (inst / "instance.json").is_file()


def test_invalid_instance_exit_2_no_traceback(tmp_path):
    p = run("solve", tmp_path / "nope", "-o", tmp_path / "plan", check_rc=2)
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "plan").exists()


def test_infeasible_exit_3_explained(tmp_path, write_instance):
    from .lp_cases import one_supplier

    inst = one_supplier(cap=5.0, lane_cost=0.0, node={"floor": 10.0, "readiness_hard": True},
                        floors=[{"node": "D", "commodity": "A", "day": 0, "floor": 0.0}])
    meta = {"name": "inf", "horizon_days": inst.horizon}
    d = write_instance(meta, dict(inst.tables))
    p = run("solve", d, "-o", tmp_path / "plan", check_rc=3)
    assert "readiness_floor" in p.stdout and "short by 5" in p.stdout
    t = ipc.open_file(pa.memory_map(str(tmp_path / "plan" / "infeasibility.arrow"))).read_all()
    assert t.column("violation").to_pylist() == [pytest.approx(5.0)]


def test_no_solution_exit_4(tmp_path):
    from optimiser.generate import write_generated

    inst = tmp_path / "gen"
    write_generated(inst, suppliers=20, nodes=70, commodities=2, days=120, seed=3)
    p = run("solve", inst, "-o", tmp_path / "plan", "--time-limit", "0.01", "--json")
    assert p.returncode in (0, 4)
    assert json.loads(p.stdout)["status"] == ("no_solution" if p.returncode == 4 else "feasible")


def test_check_catches_tampered_plan(tmp_path):
    run("solve", SEED, "-o", tmp_path / "plan", check_rc=0)
    f = tmp_path / "plan" / "flows.arrow"
    t = ipc.open_file(pa.BufferReader(f.read_bytes())).read_all()  # not mmapped: rewritten below
    q = t.column("quantity").to_pylist()
    q[0] *= 1.5
    t = t.set_column(t.schema.get_field_index("quantity"), "quantity", pa.array(q))
    with ipc.new_file(str(f), t.schema) as w:
        w.write_table(t)
    p = run("check", SEED, tmp_path / "plan", check_rc=3)
    assert "FAIL" in p.stdout


def test_unknown_solver_is_usage_error(tmp_path):
    p = run("solve", TINY, "-o", tmp_path / "plan", "--solver", "cplex")
    assert p.returncode == 2


def test_solve_blocks_on_dask_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    a = json.loads(run("solve", TINY, "-o", tmp_path / "a", "--json", check_rc=0).stdout)
    b = json.loads(run("solve", TINY, "-o", tmp_path / "b", "--json", "--dask", "local",
                       check_rc=0).stdout)
    assert b["solver"]["how"].startswith("decomposed")
    assert b["objective"] == a["objective"]
