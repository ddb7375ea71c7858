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
export DATAVIZ_PRECOMPRESSED_DIR ?= var/precompressed

.PHONY: install install-dev lock system-deps plotly precompressed axe demo-export refresh run test bench bench-quick bench-large soak stack stack-stop clean

## Installs come from the locks (every package pinned, with the hashes of its files), never from
## requirements*.txt directly, so two fresh machines get the same code. `make lock` regenerates them.
$(BIN)/.installed: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	touch $@

$(BIN)/.installed-dev: requirements-dev.lock $(BIN)/.installed
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

system-deps:
	./scripts/system-deps.sh

## Regenerate requirements-dev.lock, then requirements.lock within it (same versions), after editing
## requirements*.txt. Existing pins are kept; LOCK_ARGS=--upgrade (or -P name) moves them.
PIP_TOOLS := var/pip-tools
LOCK_ARGS ?=
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	test -x $(PIP_TOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(PIP_TOOLS) && $(PIP_TOOLS)/bin/pip install -q pip-tools==7.6.2)
	$(PIP_TOOLS)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements-dev.lock requirements-dev.txt
	$(PIP_TOOLS)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) --constraint requirements-dev.lock -o requirements.lock requirements.txt

## The Plotly bundle the pages load (assets/plotly-dataviz.min.js): only the traces Dataviz draws, built
## from the npm registry with the pinned versions of build/plotly/package-lock.json (`npm ci`), and checked
## against the SHA-256 recorded next to it, so every machine serves the same bytes. See build/plotly/README.md.
PLOTLY_BUNDLE := assets/plotly-dataviz.min.js
$(PLOTLY_BUNDLE): build/plotly/package-lock.json build/plotly/entry.js build/plotly/build.js build/plotly/plotly-dataviz.sha256
	command -v npm >/dev/null || ./scripts/system-deps.sh node
	cd build/plotly && npm ci --no-audit --no-fund --loglevel=error && node build.js ../../$(PLOTLY_BUNDLE)
	sha256sum -c build/plotly/plotly-dataviz.sha256

plotly: $(PLOTLY_BUNDLE)

## Brotli-11 and gzip-9 copies of the scripts and style sheets the pages load (app.precompressed), served
## as they are: written once here, again when the venv, the Plotly bundle or an asset changes (each copy is
## named by its file's SHA-256, so a new version only adds names). See docs/operations.md.
PRECOMPRESSED := $(DATAVIZ_PRECOMPRESSED_DIR)/.built
$(PRECOMPRESSED): $(BIN)/.installed $(PLOTLY_BUNDLE) $(wildcard assets/*) app/precompressed.py
	$(BIN)/python -m app.precompressed build $(DATAVIZ_PRECOMPRESSED_DIR)
	touch $@

precompressed: $(PRECOMPRESSED)

## axe-core for the accessibility browser tests, the version Lighthouse 12.2.3 runs, pinned in
## build/axe/package-lock.json (axe-selenium-python ships a 2018 one that misses WCAG 2.1's rules).
AXE := build/axe/node_modules/axe-core/axe.min.js
$(AXE): build/axe/package-lock.json
	cd build/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $@

axe: $(AXE)

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

## Serve the demo (with its own embed secret: demo mode refuses a configured one). Without
## DATAVIZ_ANALYST_SECRET, a local one is generated once (var/demo-analyst-secret)
## so that the printed /explore link works.
run: $(PLOTLY_BUNDLE) $(PRECOMPRESSED) demo-export refresh
	@test -s var/demo-analyst-secret || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > var/demo-analyst-secret)
	@export DATAVIZ_ANALYST_SECRET="$${DATAVIZ_ANALYST_SECRET:-$$(cat var/demo-analyst-secret)}"; \
	  $(BIN)/python -m app.urls --base http://127.0.0.1:$(PORT) && \
	  DATAVIZ_EMBED_SECRET= DATAVIZ_DEMO=1 DATAVIZ_BIND=127.0.0.1:$(PORT) exec $(BIN)/gunicorn -c deploy/gunicorn.conf.py app.wsgi:server

test: install-dev system-deps $(PLOTLY_BUNDLE) $(PRECOMPRESSED) $(AXE)
	$(BIN)/python -m pytest

bench: install-dev system-deps $(PLOTLY_BUNDLE) $(PRECOMPRESSED)
	$(BIN)/python -m bench

bench-quick: install-dev system-deps $(PLOTLY_BUNDLE) $(PRECOMPRESSED)
	$(BIN)/python -m bench --quick

## The 100M-event part of `make bench` alone (a partial report in bench/.cache/): about 8 minutes
## here, 10 the first time (it generates the 1.8 GB export, cached in bench/.cache/exports).
bench-large: install-dev system-deps $(PLOTLY_BUNDLE) $(PRECOMPRESSED)
	$(BIN)/python -m bench --large

## A bounded soak (not part of `make test`): SOAK_MINUTES of load at a fixed rate, a refresh every 2 minutes.
SOAK_MINUTES ?= 10
soak: install-dev system-deps
	$(BIN)/python -m tests.soak --minutes $(SOAK_MINUTES)

## The production shape on loopback: S3 (moto), Redis, gunicorn, Varnish, the watcher. PIDs in var/stack/.
stack: install-dev system-deps $(PLOTLY_BUNDLE) $(PRECOMPRESSED)
	$(BIN)/python deploy/stack.py start

stack-stop:
	$(BIN)/python deploy/stack.py stop

clean:
	rm -rf var .pytest_cache .hypothesis tests/artifacts
