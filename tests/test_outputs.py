"""The output contract as data: declared tables match what is written, docs match the code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from optimiser import outputs
from optimiser.instance import load_instance
from optimiser.solve import solve

from .conftest import INSTANCES, ROOT
from .lp_cases import CASES, SHADOW, one_supplier


def test_docs_outputs_md_is_generated_from_the_declarations():
    doc = (ROOT / "docs" / "OUTPUTS.md").read_text(encoding="utf-8")
    assert doc == outputs.outputs_reference(), \
        "regenerate: python -m optimiser.outputs > docs/OUTPUTS.md"


def test_every_written_plan_table_has_its_declared_schema(tmp_path):
    plan = solve(load_instance(INSTANCES / "seed-155mm"))
    tables = plan.tables()
    assert set(tables) == {"flows", "stock", "orders", "shadow_prices"}
    for name, t in tables.items():
        assert t.schema.equals(outputs.OUTPUT_TABLES[name].schema), name
    plan.write(tmp_path / "plan")
    for name, t in tables.items():  # round trip of every declared column
        back = outputs.read_output_table(tmp_path / "plan", name, required=True)
        assert back.equals(t), name


def test_infeasibility_table_has_its_declared_columns():
    plan = solve(one_supplier(node={"initial_stock": 10.0, "max_stock": 4.0}))
    t = plan.tables()["infeasibility"]
    decl = outputs.INFEASIBILITY
    assert t.column_names == [c.name for c in decl.columns]
    for c in decl.columns:
        assert t.schema.field(c.name).type == c.type


def test_evaluation_declarations_match_the_kernels_and_writers():
    from optimiser.scenarios.kernels import KPI_NAMES
    from optimiser.scenarios.results import FAN_SCHEMA, SCENARIOS_SCHEMA

    assert outputs.KPI_NAMES == tuple(KPI_NAMES)
    assert outputs.SCENARIOS.schema.equals(SCENARIOS_SCHEMA)
    assert outputs.FAN.schema.equals(FAN_SCHEMA)
    assert [c.name for c in outputs.SCENARIOS_BY_COMMODITY.columns] == [
        "scenario", "commodity", "demand", "unmet", "fill_rate", "shortfall_days", "below_floor",
        "breach_days", "min_floor_ratio"]


def test_constraint_vocabulary_covers_every_kind_the_duals_emit():
    kinds = set()
    for case, _, _ in SHADOW:
        kinds |= set(solve(CASES[case][0]()).shadow_prices.column("constraint").to_pylist())
    assert kinds and kinds <= set(outputs.CONSTRAINT_KINDS)
    assert "readiness_floor" in outputs.CONSTRAINT_KINDS
    assert set(outputs.REQUIREMENTS) <= set(outputs.CONSTRAINT_KINDS)


def test_breakdown_keys_are_the_plans():
    plan = solve(CASES["shortfall"][0]())
    assert tuple(plan.breakdown) == outputs.BREAKDOWN_KEYS


def test_plan_summary_keys_are_declared():
    plan = solve(load_instance(INSTANCES / "tiny"))
    declared = {k.split(".")[0] for k in outputs.PLAN_SUMMARY_KEYS}
    assert set(plan.summary) <= set(outputs.PlanSummary.__annotations__)
    assert {"status", "objective", "breakdown", "totals", "solver", "timings", "size"} <= declared
    assert set(plan.summary["totals"]) == set(outputs.Totals.__annotations__)
    for c in plan.summary["totals"]["by_commodity"].values():
        assert set(c) == set(outputs.CommodityTotals.__annotations__)


def test_status_exit_codes_in_one_place():
    from optimiser.status import EXIT_CODE, Status, exit_code

    assert {s.value: EXIT_CODE[s] for s in Status} == {k: v[0] for k, v in outputs.STATUSES.items()}
    assert exit_code("error", check_failed=True) == 3
    assert Status.OPTIMAL == "optimal"  # a StrEnum: plain string comparisons keep working


def test_with_dates_inserts_date32_after_each_day_column():
    t = pa.table({"order_day": pa.array([0, 3], pa.int32()), "x": [1.0, 2.0],
                  "arrive_day": pa.array([2, None], pa.int32())})
    out = outputs.with_dates(t, dt.date(2026, 12, 30))
    assert out.column_names == ["order_day", "order_date", "x", "arrive_day", "arrive_date"]
    assert out.column("order_date").to_pylist() == [dt.date(2026, 12, 30), dt.date(2027, 1, 2)]
    assert out.column("arrive_date").to_pylist() == [dt.date(2027, 1, 1), None]
    assert outputs.with_dates(t, None) is t


def test_read_output_table_either_format_and_both_refused(tmp_path):
    from optimiser.errors import InvalidPlanError

    t = outputs.FAN.empty()
    outputs.write_output_table(t, tmp_path, "fan", "parquet")
    assert outputs.read_output_table(tmp_path, "fan").schema.equals(t.schema)
    outputs.write_output_table(t, tmp_path, "fan", "arrow")
    with pytest.raises(InvalidPlanError, match="both"):
        outputs.read_output_table(tmp_path, "fan")
    assert outputs.read_output_table(tmp_path, "scenarios") is None
    with pytest.raises(InvalidPlanError, match="no scenarios"):
        outputs.read_output_table(tmp_path, "scenarios", required=True)


def test_reader_names_a_missing_column(tmp_path):
    from optimiser.errors import InvalidPlanError
    from optimiser.io import write_table

    write_table(pa.table({"node": ["a"]}), tmp_path / "fan.arrow")
    with pytest.raises(InvalidPlanError, match="commodity"):
        outputs.read_output_table(tmp_path, "fan")


def test_owned_files_do_not_cite_an_outside_document():
    owned = ["plan.py", "solve.py", "check.py", "costs.py", "replay.py", "outputs.py",
             "planview.py", "errors.py", "model/infeasible.py", "model/duals.py",
             "model/status.py", "status.py", "cli/cmd_show.py", "cli/cmd_check.py"]
    for f in owned:
        text = (ROOT / "optimiser" / f).read_text(encoding="utf-8")
        assert "SPEC" not in text and "../shared" not in text, f
    assert "SPEC" not in Path(ROOT / "docs" / "OUTPUTS.md").read_text(encoding="utf-8")
