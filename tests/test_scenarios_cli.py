"""`optimiser evaluate` end to end, and the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.ipc as ipc
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "instances", "tiny")


def _cli(*args, cwd=None):
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "optimiser", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    from optimiser.instance import load_instance
    from optimiser.solve import solve

    d = tmp_path_factory.mktemp("plan") / "plan"
    solve(load_instance(TINY)).write(d)
    return d


def _read(path):
    with ipc.open_file(str(path)) as f:
        return f.read_all()


def test_evaluate_end_to_end_json(plan_dir, tmp_path):
    out = tmp_path / "eval"
    params = tmp_path / "p.toml"
    params.write_text("demand_sigma = 0.3\nloss_prob = 0.5\n")
    r = _cli("evaluate", TINY, plan_dir, "-o", out, "--scenarios", 300, "--seed", 4,
             "--params", params, "--loss-prob", "0.05", "--delay-prob", "0.2",
             "--delay-max-days", "2", "--chunk-size", 70, "--threads", 1, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # stdout is exactly one JSON document
    assert doc["scenarios"] == 300 and doc["seed"] == 4
    assert doc["params"]["loss_prob"] == 0.05 and doc["params"]["demand_sigma"] == 0.3
    for k in ("demand", "unmet", "fill_rate", "shortfall_days", "below_floor", "breach_days",
              "min_floor_ratio", "cost"):
        assert set(doc[k]) >= {"mean", "sd", "p5", "p50", "p95"}
    for k in ("unmet_cvar95", "p_any_shortfall", "p_any_breach"):
        assert k in doc
    written = json.loads((out / "summary.json").read_text())
    assert written["unmet"] == doc["unmet"]
    scen = _read(out / "scenarios.arrow")
    assert scen.num_rows == 300
    assert scen.column("scenario").to_pylist() == list(range(300))
    unmet = np.asarray(scen.column("unmet"))
    assert doc["unmet"]["mean"] == pytest.approx(unmet.mean())
    assert doc["unmet"]["p95"] == pytest.approx(np.percentile(unmet, 95))
    k = int(np.ceil(0.05 * 300))
    assert doc["unmet_cvar95"] == pytest.approx(np.sort(unmet)[-k:].mean())
    fan = _read(out / "fan.arrow")
    assert fan.column_names == ["node", "commodity", "day", "p5", "p50", "p95"]
    p5, p50, p95 = (np.asarray(fan.column(c)) for c in ("p5", "p50", "p95"))
    assert (p5 <= p50 + 1e-9).all() and (p50 <= p95 + 1e-9).all()

    # same evaluation, other chunking and threads: identical scenarios
    out2 = tmp_path / "eval2"
    r2 = _cli("evaluate", TINY, plan_dir, "-o", out2, "--scenarios", 300, "--seed", 4,
              "--demand-sigma", "0.3", "--loss-prob", "0.05", "--delay-prob", "0.2",
              "--delay-max-days", "2", "--threads", 2, "--no-progress")
    assert r2.returncode == 0, r2.stderr
    assert "unmet" in r2.stdout and "scenarios" in r2.stdout
    assert _read(out2 / "scenarios.arrow").equals(scen)
    assert _read(out2 / "fan.arrow").equals(fan)


def test_refusals(plan_dir, tmp_path):
    out = tmp_path / "eval"
    out.mkdir()
    (out / "keep").write_text("x")
    r = _cli("evaluate", TINY, plan_dir, "-o", out, "--scenarios", 5, "--json")
    assert r.returncode == 2 and "exists" in r.stderr
    assert json.loads(r.stdout)["status"] == "error"
    assert (out / "keep").exists()
    r = _cli("evaluate", TINY, plan_dir, "-o", out, "--scenarios", 5, "--force")
    assert r.returncode == 0, r.stderr
    assert not (out / "keep").exists() and (out / "summary.json").exists()
    # never overwrite an input, even with --force
    r = _cli("evaluate", TINY, plan_dir, "-o", plan_dir, "--scenarios", 5, "--force")
    assert r.returncode == 2 and (plan_dir / "flows.arrow").exists()
    for bad in (["--loss-prob", "1.5"], ["--delay-prob", "0.5"], ["--scenarios", "0"],
                ["--demand-phi", "1"]):
        args = ["--scenarios", "5"] + bad if bad[0] != "--scenarios" else bad
        r = _cli("evaluate", TINY, plan_dir, "-o", tmp_path / "new", *args)
        assert r.returncode == 2, (bad, r.stderr)
        assert not (tmp_path / "new").exists()
    r = _cli("evaluate", TINY, tmp_path / "noplan", "-o", tmp_path / "new", "--scenarios", 5)
    assert r.returncode == 2


def test_python_api(plan_dir, tmp_path):
    from optimiser.scenarios import Evaluation, evaluate

    ev = evaluate(TINY, plan_dir, scenarios=50, seed=1, chunk_size=16, outage_prob=0.1,
                  outage_days=3)
    assert isinstance(ev, Evaluation)
    assert ev.scenarios.num_rows == 50 and ev.summary["params"]["outage_days"] == 3
    assert "<" in ev._repr_html_()
    same = evaluate(TINY, plan_dir, scenarios=50, seed=1, chunk_size=50,
                    params={"outage_prob": 0.1, "outage_days": 3})
    assert same.scenarios.equals(ev.scenarios)
    ev.write(tmp_path / "e")
    with pytest.raises(Exception, match="exists"):
        ev.write(tmp_path / "e")
    ev.write(tmp_path / "e", force=True)
