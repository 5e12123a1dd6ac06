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


# ---------------------------------------------------------------- the Backend protocol
FLAGS = ("GIVES_DUALS", "EXACT_VERTEX", "ACCEPTS_BASIS")


def _fake(name: str, wraps: str, **flags):
    """A backend registered under `name` that solves through `wraps` and declares `flags`."""
    import types

    from optimiser.model.backends import get_backend

    inner = get_backend(wraps)
    declared = {k: getattr(inner, k) for k in FLAGS}
    declared.update(flags)
    calls = []

    def solve(lp, options, **warm):
        calls.append(warm)
        return inner.solve(lp, options, **warm)

    return types.SimpleNamespace(NAME=name, DESCRIPTION=f"test double over {wraps}",
                                 INSTALL_HINT="-", available=lambda: True, solve=solve,
                                 calls=calls, **declared)


def test_every_registered_backend_satisfies_the_protocol_and_declares_its_flags():
    from optimiser.model.backends import BACKENDS, Backend, get_backend

    assert list(BACKENDS)[0] == "highs"
    assert set(Backend.__annotations__) == {"NAME", "DESCRIPTION", "INSTALL_HINT", *FLAGS}
    for name in BACKENDS:
        b = get_backend(name)
        assert isinstance(b, Backend), name
        assert b.NAME == name and b.DESCRIPTION and b.INSTALL_HINT
        for flag in FLAGS:
            assert type(getattr(b, flag)) is bool, (name, flag)
    # what the engine relies on: HiGHS takes the network's basis, PDLP is first-order,
    # HiGHS through OR-Tools gives no usable duals
    assert get_backend("highs").ACCEPTS_BASIS and get_backend("highs").GIVES_DUALS
    assert not get_backend("pdlp").EXACT_VERTEX
    assert not get_backend("highs-ortools").GIVES_DUALS
    assert not get_backend("glop").ACCEPTS_BASIS


def test_register_backend_refuses_an_object_lacking_a_flag(monkeypatch):
    import types

    from optimiser.model.backends import BACKENDS, register_backend

    monkeypatch.setattr("optimiser.model.backends.BACKENDS", dict(BACKENDS))
    half = types.SimpleNamespace(NAME="half", DESCRIPTION="", INSTALL_HINT="",
                                 available=lambda: True, solve=lambda lp, o: None)
    with pytest.raises(TypeError, match="GIVES_DUALS"):
        register_backend(half)
    register_backend(_fake("glop2", "glop"))
    from optimiser.model import backends

    assert "glop2" in backends.BACKENDS


def test_a_backend_that_gives_no_duals_has_them_rederived_by_flag(monkeypatch):
    """solve.py reads GIVES_DUALS: a backend declaring False (though its solver returns
    duals) has none taken; the first exact backend with duals re-derives them."""
    from optimiser.model.backends import BACKENDS

    monkeypatch.setitem(BACKENDS, "nodual", _fake("nodual", "glop", GIVES_DUALS=False))
    plan = solve(CASES["supplier_capacity"][0](), solver="nodual")
    assert plan.status == "optimal" and plan.summary["check"]["ok"]
    assert plan.summary["duals_rejected"] == {"reason": "nodual gives no duals"}
    assert plan.summary["duals"]["source"] == "highs"
    assert any(r["constraint"] == "supplier_capacity" for r in plan.shadow_prices.to_pylist())


def test_without_an_exact_backend_with_duals_the_plan_has_no_shadow_prices(monkeypatch):
    """Only backends flagged GIVES_DUALS and EXACT_VERTEX re-derive duals: with PDLP (not
    exact) and a dual-less one registered, the plan is optimal with no shadow prices and
    says why."""
    monkeypatch.setattr("optimiser.model.backends.BACKENDS", {
        "pdlp": "pdlp",
        "nodual": _fake("nodual", "highs", GIVES_DUALS=False, ACCEPTS_BASIS=False)})
    plan = solve(CASES["supplier_capacity"][0](), solver="nodual")
    assert plan.status == "optimal" and plan.summary["check"]["ok"]
    assert plan.summary["duals"] == {"source": None, "kkt": None}
    assert plan.summary["duals_rejected"]["reason"] == "nodual gives no duals"
    assert plan.shadow_prices.num_rows == 0


def test_the_network_warm_start_follows_accepts_basis(monkeypatch, tiny_instance):
    """The network stage runs, and hands its basis or point over, only for a backend
    flagged ACCEPTS_BASIS; the same HiGHS flagged otherwise is started cold."""
    from optimiser.model.backends import BACKENDS

    warm = _fake("warm", "highs")
    cold = _fake("cold", "highs", ACCEPTS_BASIS=False)
    monkeypatch.setitem(BACKENDS, "warm", warm)
    monkeypatch.setitem(BACKENDS, "cold", cold)
    pw, pc = solve(tiny_instance, solver="warm"), solve(tiny_instance, solver="cold")
    assert pw.status == pc.status == "optimal"
    assert pw.objective == pytest.approx(pc.objective, rel=1e-9)
    assert "network" in pw.summary["timings"] and "network" not in pc.summary["timings"]
    assert cold.calls and all(c == {} for c in cold.calls)
    # warm: solved by the network certificate alone, or from its basis / point
    assert all(set(c) <= {"start", "basis"} for c in warm.calls)


def test_a_first_order_backend_s_duals_are_checked_with_the_looser_primal_tolerance(monkeypatch):
    """EXACT_VERTEX false: the KKT check of its duals allows a primal residual of 1e-3
    (its point is optimal to a tolerance); true: the default."""
    import sys

    from optimiser.model.backends import BACKENDS

    S = sys.modules["optimiser.solve"]  # the module (optimiser.solve is also the function)
    seen = []
    real = S.kkt_check

    def spy(lp, v, y, **kw):
        seen.append(kw.get("primal_tol"))
        return real(lp, v, y, **kw)

    monkeypatch.setattr(S, "kkt_check", spy)
    monkeypatch.setitem(BACKENDS, "approx", _fake("approx", "glop", EXACT_VERTEX=False))
    solve(CASES["supplier_capacity"][0](), solver="approx")
    assert seen and set(seen) == {1e-3}
    seen.clear()
    solve(CASES["supplier_capacity"][0](), solver="glop")
    assert seen and set(seen) == {None}


def test_infeasibility_is_explained_with_the_first_exact_backend(monkeypatch):
    """The elastic LP goes to the first registered backend flagged EXACT_VERTEX (its
    elastics are exactly zero or not); without one the plan says it is unexplained."""
    from .test_infeasible import late_floor

    exact = _fake("exact", "glop")
    monkeypatch.setattr("optimiser.model.backends.BACKENDS",
                        {"pdlp": "pdlp", "exact": exact, "highs": "highs"})
    plan = solve(late_floor(), solver="highs")
    assert plan.status == "infeasible" and plan.summary["infeasibility"]["explained"]
    assert len(exact.calls) == 1
    assert plan.summary["infeasibility"]["items"][0]["violation"] == pytest.approx(10.0)
    monkeypatch.setattr("optimiser.model.backends.BACKENDS",
                        {"pdlp": "pdlp", "approx": _fake("approx", "highs", EXACT_VERTEX=False)})
    plan = solve(late_floor(), solver="approx")
    assert plan.status == "infeasible"
    assert plan.summary["infeasibility"] == {"explained": False, "items": [],
                                             "reason": "no simplex backend is available"}
