"""Mutation-test the modules users trust blindly with mutmut: every mutant, or a fixed sample.

    python scripts/mutation-run.py [--sample N] [--seed S] [--max-children K]

Run from the repository root (`make mutation` does, after `rm -rf mutants`).

1. `mutmut run "optimiser.scenarios.rng.*"` generates the mutants of every file listed in
   pyproject's [tool.mutmut] only_mutate, runs the selected tests once to learn which test
   calls which function (mutmut's stats), and checks every RNG mutant.
2. The mutants of the other modules (all of them, or N per module drawn with a fixed seed
   from the sorted names: the same sample on the same sources) are checked in one
   `mutmut run NAME...`. Each mutant runs only the tests that call the mutated function,
   with -x and no random order (pyproject's pytest_add_cli_args).

The names checked are written to mutants/selection.json; scripts/mutation-score.py counts
those and nothing else. For evaluate.py only the summary statistics are in scope (the
kernel plumbing is checked bit for bit against the Python reference elsewhere).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import random
import subprocess
import sys
from pathlib import Path

MUTMUT = str(Path(sys.executable).with_name("mutmut"))
KILLED = {1, 3, 24, -24, 152, 255, 36, -11, -9, 37}  # as scripts/mutation-score.py

# module -> name patterns of its mutants in scope
SCOPE = {
    "optimiser.scenarios.rng": ["optimiser.scenarios.rng.*"],
    "optimiser.check": ["optimiser.check.*"],
    "optimiser.model.duals": ["optimiser.model.duals.*"],
    "optimiser.scenarios.results": ["optimiser.scenarios.results.*"],
    "optimiser.plan": ["optimiser.plan.*"],
    "optimiser.scenarios.evaluate": [f"optimiser.scenarios.evaluate.x_{f}__mutmut_*" for f in (
        "_stats", "cvar", "summarise", "_kpi_stats", "by_commodity")],
}


def all_mutants(root: Path) -> list[str]:
    names = []
    for meta in sorted(root.rglob("*.py.meta")):
        names += json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(names)


def select(names: list[str], sample: int, seed: int) -> dict[str, list[str]]:
    out = {}
    for module, patterns in SCOPE.items():
        mine = sorted(n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns))
        if sample and len(mine) > sample:
            mine = sorted(random.Random(f"{seed}:{module}").sample(mine, sample))
        out[module] = mine
    return out


def mutmut(args: list[str], max_children: int) -> int:
    cmd = [MUTMUT, "run", "--max-children", str(max_children), *args]
    print("+", " ".join(cmd[:6]) + (" ..." if len(cmd) > 6 else ""), f"({len(args)} names)",
          flush=True)
    return subprocess.call(cmd)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=0,
                    help="mutants per module (0: every mutant; the RNG's are all run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--unkilled", action="store_true",
                    help="re-check only the chosen mutants not killed yet (after new tests; "
                         "tests only ever get stronger, so a kill stands)")
    a = ap.parse_args(argv)
    root = Path("mutants")
    if mutmut(SCOPE["optimiser.scenarios.rng"], a.max_children) != 0:
        return 1
    chosen = select(all_mutants(root), a.sample, a.seed)
    chosen["optimiser.scenarios.rng"] = select(all_mutants(root), 0, a.seed)[
        "optimiser.scenarios.rng"]
    (root / "selection.json").write_text(json.dumps(
        {"sample": a.sample, "seed": a.seed, "modules": chosen}, indent=1) + "\n")
    rest = [n for m, names in chosen.items() if m != "optimiser.scenarios.rng" for n in names]
    if a.unkilled:
        done = {}
        for meta in root.rglob("*.py.meta"):
            done.update(json.loads(meta.read_text())["exit_code_by_key"])
        rest = [n for n in rest if done.get(n) not in KILLED]
    return 0 if mutmut(rest, a.max_children) == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
