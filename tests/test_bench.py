"""Smoke test of the benchmark suite on the tiny tier: it runs, every stage is reported,
the peers' optima equal the engine's. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from optimiser.benchsuite import run_suite
from optimiser.benchsuite.report import ROWS
from optimiser.benchsuite.suite import EXPECTED
from optimiser.cli import main

PEERS = tuple(p for p in ("linopy", "pulp", "pyomo") if importlib.util.find_spec(p))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    return run_suite(tier_names=["tiny"], cap=60, backends=("highs", "glop", "pdlp"),
                     peers=PEERS, evaluate=False, out=out, workdir=str(out))


def test_every_stage_reported(results):
    st = results["tiers"]["tiny"]["stages"]
    expected = (EXPECTED["cli"] + EXPECTED["load"] + EXPECTED["build"] + EXPECTED["write_check"]
                + ["mem.solver_alone", "solve.highs", "solve.glop", "solve.pdlp"])
    for p in PEERS:
        expected += EXPECTED[p]
    for s in expected:
        assert st[s]["status"] == "ok", (s, st[s])
        assert st[s]["seconds"] >= 0
    assert st["e2e.cli"]["peak_rss_mb"] > 0 and st["mem.solver_alone"]["peak_rss_mb"] > 0
    assert set(st) <= {k for k, _, _ in ROWS}


def test_peers_objectives_match(results):
    assert results["objective_mismatches"] == []
    checks = {c["stage"]: c for c in results["tiers"]["tiny"]["objective_checks"]}
    for s in ["solve.highs", "solve.glop", "solve.pdlp"] + [f"solve.{p}" for p in PEERS]:
        key = "solve.linopy_highs" if s == "solve.linopy" else s
        assert checks[key]["ok"] is True, checks[key]


def test_report_files_and_targets(results):
    files = results["files"]
    md = next(f for f in files if f.endswith(".md"))
    text = Path(md).read_text(encoding="utf-8")
    assert "## Targets" in text and "## tiny:" in text
    for label in ("load: load_instance, Arrow IPC", "build floor", "solve: HiGHS bare",
                  "write plan", "check plan", "end to end"):
        assert label in text
    doc = json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text(encoding="utf-8"))
    names = {t["target"] for t in doc["targets"]}
    assert any(n.startswith("build <= 2x") for n in names)
    assert any(n.startswith("peak memory") for n in names)
    assert doc["machine"]["cores"] >= 1


def test_cap_reports_not_omits(tmp_path):
    res = run_suite(tier_names=["tiny"], cap=0.01, backends=("highs",), peers=(),
                    evaluate=False, workdir=str(tmp_path))
    st = res["tiers"]["tiny"]["stages"]
    assert st["e2e.cli"]["status"] == "> cap"
    assert st["solve.highs"]["status"] == "> cap"


def test_cli_usage_errors(capsys):
    assert main(["bench", "--tiers", "nope"]) == 2
    assert main(["bench", "--backends", "cplex"]) == 2


def test_the_load_line_says_inflated_only_when_the_load_was_above_the_cores():
    from optimiser.benchsuite.report import _load_line

    idle = _load_line({"loadavg_at_start": [0.9, 1.4, 3.2], "loadavg_at_end": [1.0, 1.3, 3.0],
                       "usable_cores": 2})
    busy = _load_line({"loadavg_at_start": [0.9, 1.4, 3.2], "loadavg_at_end": [6.5, 4.0, 3.0],
                       "usable_cores": 2})
    assert "otherwise idle" in idle and "inflated" not in idle
    assert "inflated" in busy and "[6.5, 4.0, 3.0]" in busy
    assert "not recorded" in _load_line({"usable_cores": 2})
