"""Golden values: the first draws of every random stream and the KPIs of one fixed
evaluation, as committed in tests/golden/ (docs/REPRODUCIBILITY.md).

    python -m tests.golden_values          # compare with the committed file (exit 1 if not)
    python -m tests.golden_values --write  # rewrite it: only for a deliberate, versioned
                                           # change of the random streams (CHANGELOG entry)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "rng_draws.json"
FORMAT = "optimiser-golden-draws"
VERSION = 1  # of the random streams; raise it (and say so in CHANGELOG) when they change

SEEDS = (0, 12345, 2 ** 64 - 1)
SCENARIOS = (0, 7, 100_000)
ENTITIES = (0, 3)
DAYS = (0, 5)
# the fixed evaluation: instances/tiny, the plan below, every stream switched on
KPI_SEED = 2026
KPI_SCENARIOS = 12
KPI_PARAMS = {"demand_sigma": 0.3, "demand_phi": 0.5, "surge_prob": 0.1,
              "surge_multiplier": 2.0, "surge_days": 3, "outage_prob": 0.1, "outage_days": 2,
              "delay_prob": 0.3, "delay_max_days": 3, "loss_prob": 0.1}


def streams() -> dict[str, int]:
    """Every stream (purpose) the RNG module declares: name -> id."""
    from optimiser.scenarios import rng

    return {n[len("STREAM_"):].lower(): int(getattr(rng, n)) for n in sorted(dir(rng))
            if n.startswith("STREAM_")}


def fixed_plan(inst):
    """A plan that needs no solver: 4 units a day on every supplier lane while it can
    still arrive, nothing between nodes, no unmet consumption planned."""
    T = inst.horizon
    x = np.zeros((inst.n_lanes, T))
    for lane in np.flatnonzero(inst.lane_from_supplier):
        x[lane, :max(0, T - int(inst.lane_lead[lane]))] = 4.0
    return x, np.zeros((inst.n_pairs, T))


def compute() -> dict:
    from optimiser import load_instance
    from optimiser.scenarios import ScenarioParams, evaluate_chunk, prepare, rng
    from optimiser.scenarios.kernels import KPI_NAMES

    def key_of(seed, scenario):
        return np.uint64(rng.scenario_key(np.uint64(seed), np.uint64(scenario)))

    keys = [[s, sc, f"{int(key_of(s, sc)):#018x}"] for s in SEEDS for sc in SCENARIOS]
    draws = {}
    for name, sid in streams().items():
        rows = []
        for s in SEEDS:
            for sc in SCENARIOS:
                key = key_of(s, sc)
                for e in ENTITIES:
                    for d in DAYS:
                        b = np.uint64(rng.draw_bits(key, sid, e, d))
                        rows.append([s, sc, e, d, f"{int(b):#018x}",
                                     float(rng.bits_to_uniform(b)), float(rng.hi_uniform(b)),
                                     float(rng.lo_uniform(b)), float(rng.normal(key, sid, e, d))])
        draws[name] = rows
    inst = load_instance(ROOT / "instances" / "tiny")
    x, u = fixed_plan(inst)
    res = evaluate_chunk(prepare(inst, x, u), ScenarioParams.from_mapping(KPI_PARAMS),
                         KPI_SEED, 0, KPI_SCENARIOS, fan=False)
    return {
        "format": FORMAT, "version": VERSION,
        "streams": streams(),
        "draw_columns": ["seed", "scenario", "entity", "day", "bits", "uniform", "hi_uniform",
                         "lo_uniform", "normal"],
        "scenario_keys": keys,
        "draws": draws,
        "evaluation": {"instance": "instances/tiny", "plan": "tests/golden_values.py fixed_plan",
                       "seed": KPI_SEED, "params": KPI_PARAMS, "kpi_names": list(KPI_NAMES),
                       "kpis": res.kpis.tolist()},
    }


def load() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    now = compute()
    if "--write" in argv:
        GOLDEN.write_text(json.dumps(now, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {GOLDEN}: a deliberate change of the random streams (version {VERSION})")
        return 0
    same = now == load()
    print("golden values match" if same else "golden values DIFFER from tests/golden/rng_draws.json")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
