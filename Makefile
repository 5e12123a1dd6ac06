# Two commands on a fresh machine (Python >= 3.11, pip, make and a C++20 compiler needed):
#   make demo   set everything up, solve and stress-test the bundled 155 mm instance
#   make test   set everything up, run the whole test suite (what .ci/run runs)
# and, by hand (slow, not in CI):
#   make mutation   mutation-test the checker, KKT/duals, results, RNG and plan read/write
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
# LEMON's network simplex with arc mixing off, compiled at setup (scripts/build-lemon.sh)
LEMON   = $(VENV)/lib/optimiser/liboptimiser_lemon.so
# test processes (pytest-xdist): the suite on 2 cores; WORKERS=0 runs it in one process
WORKERS ?= 2
# random test order; SEED=n replays one order (the seed is printed at the start)
SEED   ?=

OPT       = $(VENV)/bin/optimiser
NOISE     = --demand-sigma 0.3 --surge-prob 0.02 --surge-multiplier 2.9 --surge-days 5 --outage-prob 0.01 --outage-days 10 --delay-prob 0.1 --delay-max-days 7 --loss-prob 0.01
NET_NOISE = --demand-sigma 0.3 --delay-prob 0.2 --delay-max-days 3 --outage-prob 0.02 --outage-days 3

.PHONY: demo test setup bench bench-full lint mutation clean

$(STAMP): pyproject.toml
	@echo "setup: creating $(VENV) and installing optimiser with extras test, plot, dask (pip; log in $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@($(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[test,plot,dask]') \
		> $(VENV)/install.log 2>&1 || (tail -n 30 $(VENV)/install.log; echo "setup failed: see $(VENV)/install.log" >&2; exit 1)
	@scripts/warm-kernels.sh $(VENV)
	@touch $(STAMP)

# built after every (re)install: the headers it compiles come from the installed pylmcf
$(LEMON): optimiser/model/lemon_native.cpp scripts/build-lemon.sh $(STAMP)
	@scripts/build-lemon.sh $(VENV)

setup: $(STAMP) $(LEMON)

demo: $(STAMP) $(LEMON)
	@echo "== 1. the seed case: validate, solve, the orders to place"
	$(OPT) validate instances/seed-155mm
	$(OPT) solve instances/seed-155mm -o out/seed-155mm-plan --force
	$(OPT) show out/seed-155mm-plan orders --limit 12
	@echo "== 2. how the expected plan fares under 10,000 sampled futures"
	$(OPT) evaluate instances/seed-155mm out/seed-155mm-plan -o out/seed-155mm-eval $(NOISE) --scenarios 10000 --seed 1 --force
	@echo "== 3. a plan that holds readiness with 95% probability? (capacity says no, and names why)"
	-$(OPT) solve instances/seed-155mm -o out/seed-155mm-reliable --reliability 0.95 --train 1000 --certify 3000 --demand-sigma 0.3 --delay-prob 0.1 --delay-max-days 7 --seed 1 --force
	@echo "== 4. re-planning weekly from what actually happened, against following the day-0 plan"
	$(OPT) simulate instances/seed-155mm -o out/seed-155mm-sim --plan out/seed-155mm-plan --scenarios 200 --replan-every 7 $(NOISE) --seed 1 --force
	$(OPT) report instances/seed-155mm out/seed-155mm-plan out/seed-155mm-eval -o out/seed-155mm-report --force
	@echo "== 5. where capacity allows: a certified 95% plan and the cost-reliability frontier"
	$(OPT) generate out/demo-net --suppliers 3 --nodes 4 --commodities 1 --days 30 --seed 1 --start-date 2026-12-01 --force
	$(OPT) solve out/demo-net -o out/demo-net-plan --force
	$(OPT) evaluate out/demo-net out/demo-net-plan -o out/demo-net-eval --scenarios 10000 --seed 1 $(NET_NOISE) --force
	$(OPT) solve out/demo-net -o out/demo-net-reliable --reliability 0.95 --frontier 0.8,0.9,0.95 --seed 1 $(NET_NOISE) --force
	$(OPT) report out/demo-net out/demo-net-reliable -o out/demo-net-report --force
	@echo "reports: out/seed-155mm-report/index.html out/demo-net-report/index.html"

test: $(STAMP) $(LEMON)
	@scripts/ensure-chromium.sh
	@seed=$${SEED:-$(SEED)}; seed=$${seed:-$$($(PY) -c 'import random; print(random.randrange(2**32))')}; \
	echo "tests: random order, seed $$seed (replay this order: make test SEED=$$seed), $(WORKERS) processes"; \
	$(PY) -m pytest -q -p no:cacheprovider -p randomly --randomly-seed=$$seed -n $(WORKERS) --durations=25

bench: $(STAMP) $(LEMON)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(VENV)/bin/optimiser bench --quick

bench-full: $(STAMP) $(LEMON)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(VENV)/bin/optimiser bench

lint: $(STAMP) $(LEMON)
	$(VENV)/bin/ruff check optimiser tests benchmarks

# Mutation testing (mutmut, configured in pyproject.toml [tool.mutmut]; docs/TESTING.md):
# each mutant of the trusted modules runs the fast tests that call the mutated function,
# at the lowest CPU priority. MUTANTS=n checks a fixed sample of n mutants per module (the
# RNG's all); MUTANTS=0 checks every one (about 3000: hours on 2 cores). The score table
# and the survivors go to benchmarks/results/mutation.md. Not in CI.
MUTANTS ?= 80
mutation: $(STAMP) $(LEMON)
	@echo "mutation: installing mutmut (pip, quiet)"
	@$(PY) -m pip install --quiet -e '.[mutation]' > $(VENV)/install-mutation.log 2>&1
	rm -rf mutants
	NUMBA_NUM_THREADS=1 nice -n 19 $(PY) scripts/mutation-run.py --sample $(MUTANTS) \
		--max-children $(if $(filter 0,$(WORKERS)),1,$(WORKERS))
	$(PY) scripts/mutation-score.py --out benchmarks/results/mutation.md

clean:
	rm -rf $(VENV) out mutants
