"""`optimiser.evaluate`, `optimiser.scenarios.evaluate` and sweeps with scenarios work
whatever was imported first (each case runs in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EVALUATE = """
import optimiser
inst = optimiser.load_instance({tiny!r})
plan = optimiser.solve(inst)
ev = optimiser.evaluate(inst, plan, scenarios=20, seed=3, demand_sigma=0.2, fan=False)
assert ev.scenarios.num_rows == 20, ev
from optimiser.scenarios import evaluate
assert callable(evaluate) and evaluate.__name__ == "evaluate"
ev2 = evaluate(inst, plan, scenarios=20, seed=3, demand_sigma=0.2, fan=False)
assert ev2.scenarios.equals(ev.scenarios)
"""

SWEEP = """
import optimiser
from optimiser.sweep import FAILED, build_variants
inst = optimiser.load_instance({tiny!r})
variants = build_variants(inst, {{"variants": {{"base": {{}}, "dear": {{"budget": 3000.0}}}}}})
result = optimiser.sweep(inst, variants, scenarios=20, seed=3, demand_sigma=0.2)
for r in result.results:
    assert r.status != FAILED, (r.variant.name, r.status, getattr(r, "error", None))
    assert r.evaluation.scenarios.num_rows == 20
"""

MODULE = """
import sys, types
import optimiser.scenarios as pkg
mod = sys.modules["optimiser.scenarios.evaluate"]
assert isinstance(mod, types.ModuleType) and callable(mod.run_kernel)
assert pkg.evaluate is mod.evaluate
"""

FIRST = {  # what a user or a test module may import before calling evaluate
    "submodule function": "from optimiser.scenarios.evaluate import run_kernel",
    "submodule": "import optimiser.scenarios.evaluate",
    "package names": "from optimiser.scenarios import Evaluation, evaluate",
}


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("first", sorted(FIRST))
def test_evaluate_and_sweep_callable_whatever_was_imported_first(first):
    tiny = str(ROOT / "instances" / "tiny")
    r = _run("\n".join([FIRST[first], EVALUATE.format(tiny=tiny), SWEEP.format(tiny=tiny),
                        MODULE]))
    assert r.returncode == 0, r.stderr[-3000:]


SIMULATE = """
{first}
import optimiser
assert callable(optimiser.simulate) and optimiser.simulate.__name__ == "simulate"
import optimiser.simulate.core  # a submodule imported after the package: the name stays the function
assert callable(optimiser.simulate)
"""


@pytest.mark.parametrize("first", ["import optimiser.simulate.core",
                                   "from optimiser.simulate import Simulation", ""])
def test_optimiser_simulate_is_the_function_whatever_came_first(first):
    p = _run(SIMULATE.format(first=first))
    assert p.returncode == 0, p.stderr
