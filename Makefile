# Mosaic: `make run` (whole platform, embedded backends) and `make test` (everything, real servers).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PHOTOS ?= .cache/photos
# Re-install when the project's dependencies change.
INSTALLED := $(VENV)/.installed
LOCKS     := requirements.lock requirements-nodeps.lock

.PHONY: run test unit bench lint lock up venv photos system-deps frontend lint-frontend test-frontend clean

run: venv photos frontend
	$(VENV)/bin/mosaic run

test: system-deps venv photos frontend lint-frontend test-frontend
	$(PY) -m pytest tests/unit tests/integration tests/faults tests/topology tests/e2e

unit: venv
	$(PY) -m pytest tests/unit

bench: venv photos
	$(PY) -m pytest tests/bench -s -p no:randomly

lint: venv
	$(VENV)/bin/ruff check .

up:
	docker compose up --build

venv: $(INSTALLED)

# Exactly the versions CI tested (requirements.lock, hashed): never a fresh resolution on a user's machine.
# pip-sync then removes what an older lock installed and this one no longer lists.
$(INSTALLED): $(LOCKS) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.lock -r requirements-nodeps.lock
	$(VENV)/bin/pip-sync --quiet $(LOCKS)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve the locks after changing pyproject.toml's dependencies (keeps pins that still fit);
# `make lock UPGRADE=1` takes the newest versions the ranges allow. Then `make test`, and commit the locks.
lock: venv
	$(PY) scripts/lock.py $(if $(UPGRADE),--upgrade)

# The web UI's static export (frontend/out), rebuilt only when a source file is newer than its stamp.
# lib/openapi.d.ts is made by `npm run build` from openapi.json: not a source.
FRONTEND_SOURCES := $(shell find frontend \( -name node_modules -o -name out -o -name .next -o -name .test-build \) -prune -o \
	-type f ! -name next-env.d.ts ! -name '*.tsbuildinfo' ! -path frontend/lib/openapi.d.ts -print)
FRONTEND_STAMP := frontend/out/.built
# The API's OpenAPI document, whose paths type the UI's calls (openapi-typescript, run by `npm run build`).
# Committed, since the nginx image builds the UI with Node alone; written again whenever a file that shapes the
# API changes, and only rewritten (so the UI only rebuilt) when the document itself changed.
OPENAPI_JSON    := frontend/openapi.json
OPENAPI_STAMP   := .cache/openapi.stamp
OPENAPI_SOURCES := scripts/openapi.py $(wildcard gateway/*.py mosaic/web.py mosaic/security.py mosaic/contract.py \
	mosaic/errors.py */views.py */*_views.py */models.py recommend/profile.py)

frontend: $(FRONTEND_STAMP)

$(OPENAPI_STAMP): $(OPENAPI_SOURCES)
	@if test -x $(PY); then echo "$(PY) scripts/openapi.py $(OPENAPI_JSON)"; \
		$(PY) scripts/openapi.py $(OPENAPI_JSON) && mkdir -p $(@D) && touch $@; \
	else echo "no $(PY) yet (make venv): the UI is typed from $(OPENAPI_JSON) as committed"; fi

$(OPENAPI_JSON): $(OPENAPI_STAMP) ;

$(FRONTEND_STAMP): $(FRONTEND_SOURCES) $(OPENAPI_JSON)
	cd frontend && npm ci --no-audit --no-fund && NEXT_TELEMETRY_DISABLED=1 npm run build
	touch $@

# ESLint over the UI's sources (eslint-config-next), once its packages are installed.
lint-frontend: frontend
	cd frontend && npm run lint

# The UI's pure functions (lib/*.test.ts): compiled by tsc, run by Node's own test runner.
test-frontend: frontend
	cd frontend && npm test

photos:
	PYTHON=$(PY) scripts/fetch-test-photos.sh $(PHOTOS)

system-deps:
	scripts/install-system-deps.sh

clean:
	rm -rf var .pytest_cache
