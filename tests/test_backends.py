"""The solver backends agree with each other; a backend with bad duals is caught."""

from __future__ import annotations

import pytest

from optimiser.solve import solve

from .lp_cases import CASES


def test_generated_instance_backends_agree(generated_small):
    plans = {s: solve(generated_small, solver=s) for s in ("highs", "glop", "pdlp")}
    ref = plans["highs"].objective
    assert plans["glop"].objective == pytest.approx(ref, rel=1e-7)
    assert plans["pdlp"].objective == pytest.approx(ref, rel=1e-5)
    for s, p in plans.items():
        assert p.status == "optimal", s
        assert p.summary["check"]["ok"], s
    for s in ("highs", "glop"):
        assert plans[s].summary["duals"]["kkt"]["ok"]


def test_highs_through_ortools_duals_are_rejected_and_rederived():
    plan = solve(CASES["supplier_capacity"][0](), solver="highs-ortools")
    assert "duals_rejected" in plan.summary
    assert plan.summary["duals"]["source"] in ("highs", "glop")
    assert any(r["constraint"] == "supplier_capacity" for r in plan.shadow_prices.to_pylist())


def test_solves_with_different_thread_counts_in_one_process_all_succeed():
    """HiGHS's task scheduler is process-wide: a solve asking for another thread count than
    the first one used to end with status error (kNotset). In a fresh interpreter: a
    default IPM solve, then one thread (simulate, reliability), then two: all optimal."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import optimiser
inst = optimiser.load_instance({tiny!r})
for kw in (dict(method="ipm", decompose="never"), dict(threads=1, method="simplex"),
           dict(threads=2, method="ipm", decompose="never"), dict(threads=1)):
    p = optimiser.solve(inst, **kw)
    assert p.status == "optimal", (kw, p.status, p.summary["solver"]["backend_status"])
print("ok")
""".format(tiny=str(Path(__file__).resolve().parents[1] / "instances" / "tiny"))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
