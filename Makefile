# gendan: `make run` to try it, `make test` to check it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-slow bench lint migrate clean cov mutate

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(BIN)/gendan migrate
	$(BIN)/gendan serve

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# kill -9 in a burst (tests/test_kill9.py) and the soak (tests/test_soak.py, needs PostgreSQL in
# GENDAN_TEST_DATABASE_URL; GENDAN_SOAK_SECONDS sets its length, 600 by default)
test-slow: $(TEST_STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# branch coverage measured with greenlet and thread concurrency (the default tracer misses async SQLAlchemy code)
cov: $(TEST_STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -m "not slow" $(PYTEST_ARGS)
	$(BIN)/coverage report --format=total >/dev/null
	$(BIN)/coverage report | awk 'NR<=2 || /TOTAL/ {print; next} {split($$1,p,"/"); pkg=p[1]; s[pkg]+=$$2; m[pkg]+=$$3; b[pkg]+=$$4; bp[pkg]+=$$5} END {for (k in s) printf "package %-10s %5.1f%%\n", k, 100*(s[k]-m[k]+b[k]-bp[k])/(s[k]+b[k])}'
	$(BIN)/coverage report

# mutation testing of the lifecycle (fast, relevant tests only); surviving mutants listed at the end
mutate: $(TEST_STAMP)
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut results

bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/gendan migrate

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
