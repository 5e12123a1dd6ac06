"""Mutation score per module from mutmut's results (mutants/**/*.meta), after `make mutation`.

    python scripts/mutation-score.py [--out FILE.md] [mutants]

killed = killed by a test, a timeout or a crash; the score is killed / (killed + survived +
no tests + anything else mutmut reports). Only the mutants scripts/mutation-run.py chose
(mutants/selection.json) are counted; without that file, every checked mutant. Survivors
argued equivalent in docs/TESTING.md (a line "- `NAME`: why") are marked so, and counted
apart: they are not kills. Mutants mutmut could not judge and that were killed by hand (a
line "- `NAME` killed by hand: how") count as kills, in their own column.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

KILLED = {1, 3, 24, -24, 152, 255, 36, -11, -9, 37}
SURVIVED = {0}
NO_TESTS = {5, 33}
DOC = Path("docs/TESTING.md")


def equivalents(doc: Path = DOC, how: str = "") -> dict[str, str]:
    """{mutant name: why} from the lines "- `NAME`: why" of docs/TESTING.md (with how=
    " killed by hand": the lines "- `NAME` killed by hand: how")."""
    if not doc.is_file():
        return {}
    pat = re.compile(r"^- `([\w.ǁ]+__mutmut_\d+)`" + re.escape(how) + r":\s*(.*)$")
    return {m.group(1): m.group(2) for m in map(pat.match, doc.read_text().splitlines()) if m}


def scores(root: Path) -> dict[str, dict]:
    sel_file = root / "selection.json"
    chosen = None
    if sel_file.is_file():
        chosen = {n: m for m, names in json.loads(sel_file.read_text())["modules"].items()
                  for n in names}
    equiv = equivalents()
    by_hand = equivalents(how=" killed by hand")
    out: dict[str, dict] = defaultdict(lambda: {"killed": 0, "survived": 0, "other": 0,
                                                "equivalent": 0, "by_hand": 0,
                                                "survivors": []})
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".py.meta")].replace("/", ".")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if chosen is not None and name not in chosen:
                continue
            row = out[module]
            if code in KILLED:
                row["killed"] += 1
                continue
            if code not in SURVIVED and name in by_hand:
                row["killed"] += 1
                row["by_hand"] += 1
                continue
            if code in SURVIVED:
                row["survived"] += 1
                why = "survived"
            else:
                row["other"] += 1
                why = ("no test covers it" if code in NO_TESTS else
                       "not checked" if code is None else f"mutmut exit code {code}")
            if name in equiv:
                row["equivalent"] += 1
                why += ", argued equivalent: " + equiv[name]
            row["survivors"].append((name, why))
    return dict(out)


def table(result: dict[str, dict]) -> list[str]:
    lines = ["| module | killed | of which by hand | survived | other | total | killed % "
             "| argued equivalent |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for module, r in sorted(result.items()):
        n = r["killed"] + r["survived"] + r["other"]
        lines.append(f"| {module} | {r['killed']} | {r['by_hand']} | {r['survived']} | "
                     f"{r['other']} | {n} | "
                     f"{100.0 * r['killed'] / max(1, n):.1f} | {r['equivalent']} |")
    return lines


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default="mutants")
    ap.add_argument("--out", help="also write the table and the survivors to this file")
    a = ap.parse_args(argv)
    root = Path(a.root)
    result = scores(root)
    if not result:
        print(f"no mutmut results under {root}/ (run `make mutation` first)")
        return 1
    lines = table(result)
    sel = root / "selection.json"
    if sel.is_file():
        s = json.loads(sel.read_text())
        lines.insert(0, f"Mutants checked: {'every one' if not s['sample'] else str(s['sample']) + ' per module (RNG: every one)'}, seed {s['seed']}.\n")
    lines.append("")
    for r in result.values():
        for name, why in r["survivors"]:
            lines.append(f"- `{name}`: {why}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out:
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
