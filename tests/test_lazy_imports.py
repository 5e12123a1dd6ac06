"""Start-up stays light: `import optimiser`, `optimiser solve --help` and a whole small solve
do not import the heavy libraries that a solve does not need (each case in a fresh
interpreter), and the public names keep working whatever was imported first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numba", "ortools", "scipy", "dask", "matplotlib")

REPORT = """
import json, sys
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""

AS_PROGRAM = """
import runpy, sys
sys.argv = ["optimiser", *{argv!r}]
try:
    runpy.run_module("optimiser", run_name="__main__")
except SystemExit as e:
    sys.stderr.write(f"exit {{e.code}}\\n")
    assert e.code in (0, None), e.code
"""


def _imported(code: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code) + REPORT.format(heavy=HEAVY)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_optimiser_is_light():
    assert _imported("import optimiser") == []


@pytest.mark.parametrize("argv", [["solve", "--help"], ["check", "--help"], ["--help"]])
def test_cli_help_is_light(argv):
    assert _imported(AS_PROGRAM.format(argv=argv)) == []


@pytest.mark.parametrize("method", ["auto", "simplex"])
def test_a_whole_solve_imports_nothing_heavy(tmp_path, method):
    """`optimiser solve` on a small instance, by the network (auto) and by HiGHS (simplex):
    plan written and checked, and none of pandas (pyarrow would import it), scipy,
    numba, ortools, dask, matplotlib loaded."""
    plan = tmp_path / "plan"
    argv = ["solve", str(ROOT / "instances" / "tiny"), "-o", str(plan), "--json",
            "--method", method]
    assert _imported(AS_PROGRAM.format(argv=argv)) == []
    summary = json.loads((plan / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["check"]["ok"] is True


SHADOWED = """
{first}
import optimiser
assert callable(optimiser.solve) and optimiser.solve.__name__ == "solve", optimiser.solve
assert callable(optimiser.sweep) and optimiser.sweep.__name__ == "sweep", optimiser.sweep
import optimiser.solve, optimiser.sweep  # submodules bound after the package: names stay
from optimiser.solve import solve_block
assert callable(solve_block)
assert optimiser.solve.__module__ == "optimiser.solve" and callable(optimiser.solve)
assert optimiser.sweep.__module__ == "optimiser.sweep" and callable(optimiser.sweep)
from optimiser import check_plan, load_instance, solve
assert solve is optimiser.solve and check_plan.__module__ == "optimiser.check"
assert "solve" in dir(optimiser) and "Instance" in dir(optimiser)
"""


@pytest.mark.parametrize("first", ["", "from optimiser.solve import solve_block",
                                   "import optimiser.sweep", "from optimiser import solve",
                                   "from optimiser import *"])
def test_public_functions_shadow_their_modules_whatever_came_first(first):
    _imported(SHADOWED.format(first=first))


def test_submodules_reachable_as_attributes():
    """As before the names became lazy: `optimiser.plan` etc. are the submodules."""
    _imported("import optimiser\nimport types\n"
              "assert isinstance(optimiser.plan, types.ModuleType)\n"
              "assert callable(optimiser.plan.write_plan_files)\n"
              "assert isinstance(optimiser.check, types.ModuleType)\n"
              "assert optimiser.check.check_plan is optimiser.check_plan")


def test_unknown_attribute_is_an_attribute_error():
    _imported("import optimiser\ntry:\n    optimiser.nope\nexcept AttributeError:\n    pass\n"
              "else:\n    raise SystemExit('no AttributeError')")
