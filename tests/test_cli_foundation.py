"""CLI: validate, info, generate, import-csv (the CLI conventions)."""

from __future__ import annotations

import json

import pyarrow.csv as pcsv
import pytest

from optimiser.cli import main
from optimiser.io import read_instance_tables

from .cli_helpers import main_run as run


def test_validate_ok(capsys, tiny_instance):
    code, out, err = run(capsys, "validate", str(tiny_instance))
    assert code == 0 and out.startswith("valid:") and "0 warning(s)" in out


def test_validate_json(capsys, seed_instance):
    code, out, err = run(capsys, "validate", str(seed_instance), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "valid" and doc["problems"] == []
    assert doc["name"] == "seed-155mm" and doc["horizon_days"] == 90


def test_validate_invalid_lists_every_problem(capsys, tiny_rows, write_instance):
    meta, rows = tiny_rows
    rows["suppliers"][0]["unit_price"] = -1.0
    rows["lanes"][2]["origin"] = "nowhere"
    path = write_instance(meta, rows)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert "suppliers.arrow row 0, column 'unit_price'" in err
    assert "lanes.arrow row 2, column 'origin'" in err
    assert "Traceback" not in err
    code, out, err = run(capsys, "validate", str(path), "--json")
    doc = json.loads(out)
    assert code == 2 and doc["status"] == "invalid"
    assert {"table": "lanes.arrow", "row": 2, "column": "origin"}.items() <= doc["problems"][1].items()


def test_validate_warnings(capsys, tiny_rows, write_instance):
    meta, rows = tiny_rows
    rows["lanes"][0]["lead_time_days"] = 12
    path = write_instance(meta, rows)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0 and "1 warning(s)" in out and "never deliver" in err
    code, out, err = run(capsys, "validate", str(path), "--json")
    assert json.loads(out)["warnings"][0]["row"] == 0


def test_info(capsys, seed_instance):
    code, out, err = run(capsys, "info", str(seed_instance))
    assert code == 0 and "horizon       90 days" in out and "630,000" in out
    code, out, err = run(capsys, "info", str(seed_instance), "--json")
    doc = json.loads(out)
    assert doc["demand_total"] == 630000.0 and doc["lanes"] == 9 and doc["budget"] is None
    assert doc["rows"]["demand"] == 90
    if "lp_size" in doc:
        assert set(doc["lp_size"]) >= {"variables", "constraints", "nonzeros"}
        assert doc["lp_size"]["variables"] > 0


def test_info_invalid(capsys, tmp_path):
    code, out, err = run(capsys, "info", str(tmp_path / "missing"))
    assert code == 2 and "not a directory" in err


def test_generate(capsys, tmp_path):
    out_dir = tmp_path / "g"
    argv = ["generate", str(out_dir), "--suppliers", "3", "--nodes", "6", "--commodities", "2",
            "--days", "15", "--seed", "4"]
    code, out, err = run(capsys, *argv)
    assert code == 0 and out == "" and "LP variables" in err
    assert run(capsys, "validate", str(out_dir))[0] == 0
    code, out, err = run(capsys, *argv)
    assert code == 2 and "exists" in err
    code, out, err = run(capsys, *argv, "--force", "--format", "parquet", "--json",
                         "--budget", "1e7")
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "ok" and doc["lp_variables"] > 0
    assert (out_dir / "lanes.parquet").is_file() and not (out_dir / "lanes.arrow").exists()
    assert json.loads((out_dir / "instance.json").read_text())["budget"] == 1e7
    code, out, err = run(capsys, "generate", str(tmp_path / "bad"), "--suppliers", "0",
                         "--nodes", "2", "--commodities", "1", "--days", "3")
    assert code == 2 and not (tmp_path / "bad").exists()


def test_generate_requires_sizes(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["generate", str(tmp_path / "x"), "--suppliers", "2"])
    assert e.value.code == 2


def test_import_csv(capsys, tmp_path, tiny_instance):
    csv = tmp_path / "csv"
    csv.mkdir()
    _, tables, _ = read_instance_tables(tiny_instance)
    for k, t in tables.items():
        pcsv.write_csv(t, csv / f"{k}.csv")
    (csv / "notes.csv").write_text("a\n1\n")
    code, out, err = run(capsys, "import-csv", str(csv), str(tmp_path / "i"), "--horizon-days",
                         "10", "--name", "from-csv")
    assert code == 0 and "notes.csv" in err
    assert json.loads((tmp_path / "i" / "instance.json").read_text())["name"] == "from-csv"
    assert run(capsys, "validate", str(tmp_path / "i"))[0] == 0
    (csv / "demand.csv").write_text("node,commodity,day,quantity\nfront,shells,99,1\n")
    code, out, err = run(capsys, "import-csv", str(csv), str(tmp_path / "j"), "--horizon-days",
                         "10", "--json")
    assert code == 2 and json.loads(out)["problems"][0]["table"] == "demand.csv"
    assert not (tmp_path / "j").exists()


def test_argparse_only_in_the_cli_package():
    """The engine takes values, the command line parses them: no module outside
    optimiser/cli imports argparse or declares flags (docs/ARCHITECTURE.md)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "optimiser"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "cli" not in p.relative_to(root).parts[:1]
                 and re.search(r"^\s*(import argparse|from argparse)|\.add_argument\(",
                               p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []
    assert any("add_argument(" in p.read_text(encoding="utf-8")
               for p in (root / "cli").glob("*.py"))  # the search itself finds flags
