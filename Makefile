# Dataviz: `make run` serves a demo, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_EVENTS ?= 1500000
DEMO_TENANTS ?= 30
DEMO_SEED ?= 7
PORT ?= 8050
export DATAVIZ_SOURCE ?= var/exports
export DATAVIZ_SNAPSHOT_DIR ?= var/snapshots

.PHONY: install install-dev system-deps demo-export refresh run test bench bench-quick soak stack stack-stop clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements-dev.txt $(BIN)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

system-deps:
	./scripts/system-deps.sh

## A demo export, generated once (only when the source folder holds no complete export).
demo-export: install
	@if ls $(DATAVIZ_SOURCE)/*/_SUCCESS >/dev/null 2>&1; then \
	  echo "demo export: using the existing export in $(DATAVIZ_SOURCE)"; \
	else \
	  echo "demo export: generating $(DEMO_EVENTS) events for $(DEMO_TENANTS) tenants into $(DATAVIZ_SOURCE)"; \
	  $(BIN)/python -m etl generate --events $(DEMO_EVENTS) --tenants $(DEMO_TENANTS) --seed $(DEMO_SEED) --out $(DATAVIZ_SOURCE); \
	fi

refresh: install
	$(BIN)/python -m etl refresh

## Serve the demo. Without DATAVIZ_ANALYST_SECRET, a local one is generated once (var/demo-analyst-secret)
## so that the printed /explore link works.
run: demo-export refresh
	@test -s var/demo-analyst-secret || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > var/demo-analyst-secret)
	@export DATAVIZ_ANALYST_SECRET="$${DATAVIZ_ANALYST_SECRET:-$$(cat var/demo-analyst-secret)}"; \
	  $(BIN)/python -m app.urls --base http://127.0.0.1:$(PORT) && \
	  DATAVIZ_DEMO=1 DATAVIZ_BIND=127.0.0.1:$(PORT) exec $(BIN)/gunicorn -c deploy/gunicorn.conf.py app.wsgi:server

test: install-dev system-deps
	$(BIN)/python -m pytest

## The Dask engine family writes docs/benchmarks-dask.md; `python -m bench` the other families' docs/benchmarks.md.
bench: install-dev system-deps
	$(BIN)/python -m bench.dask_engine
	$(BIN)/python -m bench

bench-quick: install-dev system-deps
	$(BIN)/python -m bench.dask_engine --runs 1 --workers 1 4
	$(BIN)/python -m bench --quick

## A bounded soak (not part of `make test`): SOAK_MINUTES of load at a fixed rate, a refresh every 2 minutes.
SOAK_MINUTES ?= 10
soak: install-dev system-deps
	$(BIN)/python -m tests.soak --minutes $(SOAK_MINUTES)

## The production shape on loopback: S3 (moto), Redis, gunicorn, Varnish, the watcher. PIDs in var/stack/.
stack: install-dev system-deps
	$(BIN)/python deploy/stack.py start

stack-stop:
	$(BIN)/python deploy/stack.py stop

clean:
	rm -rf var .pytest_cache .hypothesis tests/artifacts
