"""optimiser._json: one strict JSON policy for every file written and every --json document."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from optimiser._json import clean, dumps
from optimiser.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


def strict_loads(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (what other tools' parsers do)."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_everywhere():
    doc = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": np.float64("nan"),
           "d": np.array([1.0, np.inf]), "e": (np.float32(2.5), np.int64(7)), "f": np.bool_(True)}
    assert clean(doc) == {"a": None, "b": [None, None, 1.5], "c": None, "d": [1.0, None],
                          "e": [2.5, 7], "f": True}
    assert strict_loads(dumps(doc))["d"] == [1.0, None]


def test_keys_dates_and_paths():
    assert clean({np.int64(3): 1, 2: 2, "x": dt.date(2026, 1, 2), "p": Path("/a/b")}) == \
        {"3": 1, "2": 2, "x": "2026-01-02", "p": "/a/b"}


@pytest.mark.parametrize("odd", [object(), {1, 2}, b"bytes", 1j])
def test_an_unknown_value_is_a_bug_not_a_string(odd):
    with pytest.raises(TypeError, match="not JSON serialisable"):
        dumps({"x": odd})


def test_names_with_control_characters_stay_one_ascii_line():
    text = dumps({"name": "d\x00\x1f\n\u2028é"}, indent=None)
    assert "\n" not in text and text.isascii()
    assert strict_loads(text)["name"] == "d\x00\x1f\n\u2028é"


# ---------------------------------------------------------------- every file the CLI writes
@pytest.fixture
def nan_solve(monkeypatch):
    """solve() whose summary carries non-finite numbers, as extreme instances can produce."""
    mod = importlib.import_module("optimiser.solve")
    real = mod.solve

    def solve(*a, **kw):
        plan = real(*a, **kw)
        plan.summary["probe"] = {"nan": math.nan, "inf": np.float64(np.inf)}
        plan.summary["timings"]["probe"] = -math.inf
        return plan

    monkeypatch.setattr(mod, "solve", solve)


def _json_files(d: Path) -> list[Path]:
    files = sorted(d.rglob("*.json"))
    assert files
    return files


def test_solve_summary_and_stdout_are_strict(tmp_path, capsys, nan_solve):
    assert main(["solve", str(TINY), "-o", str(tmp_path / "p"), "--json"]) == 0
    doc = strict_loads(capsys.readouterr().out)
    assert doc["probe"] == {"nan": None, "inf": None} and doc["timings"]["probe"] is None
    for f in _json_files(tmp_path / "p"):
        assert strict_loads(f.read_text())["probe"] == {"nan": None, "inf": None}


def test_evaluate_summary_and_stdout_are_strict(tmp_path, capsys, monkeypatch):
    assert main(["solve", str(TINY), "-o", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    scen = importlib.import_module("optimiser.scenarios")
    real = scen.evaluate

    def evaluate(*a, **kw):
        ev = real(*a, **kw)
        ev.summary["probe"] = [math.nan, np.float64(-np.inf)]
        return ev

    monkeypatch.setattr(scen, "evaluate", evaluate)
    assert main(["evaluate", str(TINY), str(tmp_path / "p"), "-o", str(tmp_path / "e"),
                 "--scenarios", "20", "--json"]) == 0
    assert strict_loads(capsys.readouterr().out)["probe"] == [None, None]
    for f in _json_files(tmp_path / "e"):
        assert strict_loads(f.read_text())["probe"] == [None, None]


def test_sweep_files_and_stdout_are_strict(tmp_path, capsys, nan_solve):
    v = tmp_path / "v.toml"
    v.write_text("[variants.a]\n[variants.b]\ndemand = { scale = 1.5 }\n")
    assert main(["sweep", str(TINY), str(v), "-o", str(tmp_path / "s"), "--scenarios", "10",
                 "--json"]) == 0
    strict_loads(capsys.readouterr().out)
    files = _json_files(tmp_path / "s")
    assert len(files) == 5  # summary.json, 2 plans, 2 evaluations
    for f in files:
        strict_loads(f.read_text())
    plan = strict_loads((tmp_path / "s" / "plans" / "b" / "summary.json").read_text())
    assert plan["probe"] == {"nan": None, "inf": None}
