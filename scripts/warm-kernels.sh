#!/usr/bin/env bash
# Compile the scenario kernels once, into Numba's on-disk cache, so that the demo's and a
# user's first evaluation do not pay the compile: a small solve and evaluation of
# instances/tiny with every random stream switched on, and a small reliability run (its
# training and certification replays; exit 3 is its honest "not certified"), into a
# temporary directory.
set -euo pipefail
venv="${1:-.venv}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "setup: compiling the scenario kernels once (Numba cache; about a minute)"
{
  "$venv/bin/optimiser" solve instances/tiny -o "$tmp/plan"
  "$venv/bin/optimiser" evaluate instances/tiny "$tmp/plan" -o "$tmp/eval" --scenarios 64 \
    --seed 1 --demand-sigma 0.3 --demand-phi 0.5 --surge-prob 0.1 --surge-multiplier 2 \
    --surge-days 3 --outage-prob 0.1 --outage-days 2 --delay-prob 0.2 --delay-max-days 3 \
    --loss-prob 0.05
  rc=0
  "$venv/bin/optimiser" solve instances/tiny -o "$tmp/reliable" --reliability 0.8 --train 200 \
    --certify 100 --seed 1 --demand-sigma 0.3 --demand-phi 0.5 --surge-prob 0.1 \
    --surge-multiplier 2 --surge-days 3 --outage-prob 0.1 --outage-days 2 --delay-prob 0.2 \
    --delay-max-days 3 --loss-prob 0.05 || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]
  # the float64 stock record (the API's run_kernel / replay_record with float64 arrays,
  # which the test references read): one more signature of the same kernel
  "$venv/bin/python" - <<'PY'
import numpy as np

import optimiser
from optimiser.scenarios.arrays import prepare
from optimiser.scenarios.evaluate import run_kernel
from optimiser.scenarios.params import ScenarioParams

inst = optimiser.load_instance("instances/tiny")
T, I, L = inst.horizon, inst.n_pairs, inst.n_lanes
a = prepare(inst, np.zeros((L, T)), np.zeros((I, T)))
run_kernel(a, ScenarioParams(demand_sigma=0.3), 1, 0, 2, np.empty((2, T, I)))
PY
} > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; echo "setup: warming the kernels failed" >&2; exit 1; }
