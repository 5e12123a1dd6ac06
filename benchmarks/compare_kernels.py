"""Kernel-only replay throughput of several revisions, interleaved, each in its own process
on a `git archive` checkout (bench_evaluate's --baseline timer), same instance and plan.

    N=4000 REP=3 TH=1 VAR='{"defaults": {}}' python benchmarks/compare_kernels.py \\
        WORKTREE_DIR REV [REV ...]  # a path (starting with /) is used as it is

Prints one line per (revision, variant, threads): seconds (best of REP), M cell-updates/s
and a KPI checksum (equal checksums: the same KPIs); then `uptime`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import bench_evaluate as be  # noqa: E402
import numpy as np  # noqa: E402


def main() -> int:
    n = int(os.environ.get("N", 4000))
    rep = int(os.environ.get("REP", 3))
    th = os.environ.get("TH", "2")
    variants = json.loads(os.environ.get("VAR", json.dumps({"defaults": {}, "all noise": be.NOISE})))
    days = 365
    npz = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"optimiser-bench-plan{days}.npz")
    if not os.path.exists(npz):
        inst, plan = be.planned_instance(days)
        np.savez(npz, x=plan.x, u=plan.u)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for root in sys.argv[1:]:
        path = root if root.startswith("/") else be._checkout(root)
        r = subprocess.run([sys.executable, "-c", be._TIMER, path, npz, str(days), str(n),
                            str(rep), th, json.dumps(variants), str(be.SEED)],
                           capture_output=True, text=True, env=env, cwd=HERE)
        if r.returncode:
            print(f"{root}: failed\n{r.stderr[-2000:]}", file=sys.stderr)
            continue
        for b in json.loads(r.stdout.strip().splitlines()[-1]):
            print(f"{root:>20} {b['variant']:>10} threads={b['threads']} {b['seconds']:.3f} s "
                  f"{62415 * n / b['seconds'] / 1e6:8.1f} M/s checksum={b['checksum']!r}")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
