"""Mutation score per module from mutmut's results (mutants/**/*.meta), after `make mutation`.

    python scripts/mutation-score.py [mutants]      # a table; survivors listed by name

killed = killed by a test, a timeout or a crash; the score is killed / (killed + survived +
no tests). Mutants not checked (outside the selection `make mutation` runs) are left out.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

KILLED = {1, 3, 24, -24, 152, 255, 36, -11, -9, 37}
SURVIVED = {0}
NO_TESTS = {5, 33}


def scores(root: Path) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"killed": 0, "survived": 0, "no_tests": 0,
                                                "survivors": []})
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".py.meta")].replace("/", ".")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is None:
                continue
            row = out[module]
            if code in KILLED:
                row["killed"] += 1
            elif code in SURVIVED:
                row["survived"] += 1
                row["survivors"].append(name)
            elif code in NO_TESTS:
                row["no_tests"] += 1
                row["survivors"].append(name + " (no test covers it)")
    return dict(out)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "mutants")
    table = scores(root)
    if not table:
        print(f"no mutmut results under {root}/ (run `make mutation` first)")
        return 1
    print(f"{'module':<32}{'killed':>8}{'survived':>10}{'no tests':>10}{'score':>8}")
    for module, r in sorted(table.items()):
        n = r["killed"] + r["survived"] + r["no_tests"]
        print(f"{module:<32}{r['killed']:>8}{r['survived']:>10}{r['no_tests']:>10}"
              f"{100.0 * r['killed'] / max(1, n):>7.1f}%")
    for r in table.values():
        for name in r["survivors"]:
            print("survived:", name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
