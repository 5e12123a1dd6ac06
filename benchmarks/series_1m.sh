#!/usr/bin/env bash
# End-to-end `optimiser solve` on one instance, the compiled LEMON and pylmcf's build
# alternately (OPTIMISER_LEMON_LIB=""), N times each: interleaved, so that both see the
# shared host at the same speed. Prints wall / CPU / peak RSS and, from summary.json, the
# status, objective, check, KKT and each block's network solve seconds.
#
#   optimiser generate /tmp/g1m --suppliers 70 --nodes 380 --commodities 2 --days 365 --seed 1
#   bash benchmarks/series_1m.sh /tmp/g1m 4
set -euo pipefail
inst="${1:?instance directory}"
n="${2:-4}"
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
uptime
for i in $(seq "$n"); do
  for lib in native pylmcf; do
    if [ "$lib" = native ]; then unset OPTIMISER_LEMON_LIB; else export OPTIMISER_LEMON_LIB=""; fi
    /usr/bin/time -f "$lib %e s wall %U user %S sys %M KB" .venv/bin/optimiser solve "$inst" \
      -o "$out/plan" --json --force 2>&1 > /dev/null | tail -1
    .venv/bin/python - "$out/plan/summary.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
b = d["solver"].get("blocks", [])
print("  ", d["status"], d["objective"], "check", d["check"]["ok"], "kkt",
      d["duals"].get("kkt", {}).get("ok"), "network s",
      [round(x.get("network_solve_seconds", 0.0), 2) for x in b])
PY
  done
done
unset OPTIMISER_LEMON_LIB
uptime
