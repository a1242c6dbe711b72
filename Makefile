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

# the suite in TEST_WORKERS processes (pytest-xdist; each test has its own database or schema, so they
# share nothing); TEST_WORKERS=0 runs it in this process
TEST_WORKERS ?= 2
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) $(PYTEST_ARGS)

# kill -9 in a burst (tests/test_kill9.py) and the soak (tests/test_soak.py, needs PostgreSQL in
# GENDAN_TEST_DATABASE_URL; GENDAN_SOAK_SECONDS sets its length, 600 by default)
test-slow: $(TEST_STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# the modules where a gap hurts most: dispatch, outbox and inbox, approvals, lifecycle, crypto and signing,
# sealed tokens and signed links, scheduler delivery, import
RISKY := bot/dispatch.py,bot/registry.py,bot/identity.py,bot/recovery.py,bot/error_replies.py,bot/sender.py,storage/outbox.py,storage/inbox.py,storage/approval_chain.py,storage/services/approvals.py,storage/services/decisions.py,storage/services/changes.py,storage/lifecycle.py,bot/wecom/crypto.py,bot/dingtalk/signing.py,bot/dingtalk/eventsub.py,web/sealed_tokens.py,web/signed_links.py,web/approval_pages.py,schedules/reminder_delivery.py,schedules/jobs.py,storage/services/import_file.py,storage/services/import_report.py,storage/services/import_catalogue.py,storage/services/import_orders.py,handlers/import_export_cli.py,handlers/import_file_reader.py
# branch coverage measured with greenlet and thread concurrency (the default tracer misses async SQLAlchemy code)
cov: $(TEST_STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -m "not slow" $(PYTEST_ARGS)
	$(BIN)/coverage report --format=total >/dev/null
	$(BIN)/coverage report | awk 'NR<=2 || /TOTAL/ {print; next} $$2 !~ /^[0-9]+$$/ {next} {split($$1,p,"/"); pkg=p[1]; s[pkg]+=$$2; m[pkg]+=$$3; b[pkg]+=$$4; bp[pkg]+=$$5} END {for (k in s) printf "package %-10s %5.1f%%\n", k, 100*(s[k]-m[k]+b[k]-bp[k])/(s[k]+b[k])}'
	$(BIN)/coverage report
	@echo "risky modules (each must be >= 95 %):"
	$(BIN)/coverage report --include="$(RISKY)"

# mutation testing (pyproject's [tool.mutmut]: the targets and their fast, relevant tests): the lifecycle,
# the approval chain (approval_chain.py, approvals.py, decisions.py, changes._proposed), the number and date parsers;
# then the kill rate per target and every surviving mutant. CPU-heavy: MUTATE_CHILDREN=1 on a shared machine.
MUTATE_CHILDREN ?= 2
MUTANTS := "storage.lifecycle.*" "storage.approval_chain.*" "storage.services.approvals.*" \
	"storage.services.decisions.*" "storage.services.changes.x__proposed__mutmut_*" "handlers.args.numbers.*" \
	"handlers.args.dates.*"
mutate: $(TEST_STAMP)
	$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTANTS) || true
	$(BIN)/mutmut results --all true | $(BIN)/python .ci/mutation_report.py

bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/gendan migrate

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
