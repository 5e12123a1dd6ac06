"""The benchmark suite of issue 5: the engine's stages against the peers, same LP, same run.

    optimiser bench --quick --out benchmarks/results      # < 2 minutes
    optimiser bench --out benchmarks/results              # 10k, 100k and 1M tiers

Tiers come from the generator with fixed seeds (`tiers.py`); every measurement
runs in its own process under a time cap (`suite.py`, `worker.py`); the peers'
models are in `peers.py`; ratios, targets and the report in `report.py`.
docs/BENCHMARKS.md says what each stage and target means.
"""

from __future__ import annotations

from pathlib import Path

from . import tiers as tiers
from .report import finish, markdown, write
from .suite import BACKENDS, PEERS, Suite

__all__ = ["run_suite", "markdown", "write", "BACKENDS", "PEERS"]


def run_suite(quick: bool = False, tier_names=None, huge: bool = False, cap: float | None = None,
              max_minutes: float | None = None, backends=BACKENDS, peers=PEERS,
              evaluate: bool = True, out: str | Path | None = None,
              workdir: str | None = None) -> dict:
    """Run the suite and return the results dict (with targets); write the report to `out`."""
    names = list(tier_names) if tier_names else list(tiers.QUICK if quick else tiers.FULL)
    if huge:
        names += [n for n in tiers.HUGE if n not in names]
    cap = cap if cap is not None else (15.0 if quick else 600.0)
    suite = Suite(tiers.resolve(names), cap=cap, max_minutes=max_minutes, backends=backends,
                  peers=peers, evaluate=evaluate, quick=quick, workdir=workdir)
    results = finish(suite.run())
    if out is not None:
        results["files"] = [str(p) for p in write(results, Path(out),
                                                  "bench-quick" if quick else "bench-full")]
    return results
