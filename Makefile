# Two commands on a fresh machine (only Python >= 3.11, pip and make needed):
#   make demo   set everything up, solve and stress-test the bundled 155 mm instance
#   make test   set everything up, run the whole test suite (what .ci/run runs)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test setup bench bench-full lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,plot,dask]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/optimiser validate instances/seed-155mm
	$(VENV)/bin/optimiser solve instances/seed-155mm -o out/seed-155mm-plan --force
	$(VENV)/bin/optimiser evaluate instances/seed-155mm out/seed-155mm-plan -o out/seed-155mm-eval --scenarios 10000 --seed 1 --demand-sigma 0.3 --surge-prob 0.02 --surge-multiplier 2.9 --surge-days 5 --outage-prob 0.01 --outage-days 10 --delay-prob 0.1 --delay-max-days 7 --loss-prob 0.01 --force
	$(VENV)/bin/optimiser report instances/seed-155mm out/seed-155mm-plan out/seed-155mm-eval -o out/seed-155mm-report --force
	@echo "report: out/seed-155mm-report/index.html"

test: $(STAMP)
	@scripts/ensure-chromium.sh
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(VENV)/bin/optimiser bench --quick

bench-full: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(VENV)/bin/optimiser bench

lint: $(STAMP)
	$(VENV)/bin/ruff check optimiser tests benchmarks

clean:
	rm -rf $(VENV) out
