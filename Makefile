# Themeboard: `make run` to try it, `make test` to test it. Nothing else is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test bench stress install db seed lint clean screenshots

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

db: install
	$(BIN)/flask db upgrade

seed: db
	$(BIN)/flask seed

PORT ?= 5000

# The production server and worker class (gunicorn.conf.py), in development mode.
run: seed
	@echo "Themeboard is starting on http://127.0.0.1:$(PORT) (Ctrl+C to stop)."
	APP_ENV=$${APP_ENV:-development} PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# `make bench` runs every benchmark; `make bench live catalogue` only those named (bench/<name>.py).
ifeq (bench,$(firstword $(MAKECMDGOALS)))
BENCH_NAMES := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
# The names are arguments, not targets of their own: make has nothing to do for them.
.PHONY: $(BENCH_NAMES)
$(BENCH_NAMES):
	@:
endif

bench: install
	$(BIN)/python -m bench $(BENCH_NAMES) $(BENCH_ARGS)

# Two servers behind nginx with PostgreSQL, Redis, S3 (moto) and a worker, under load and faults
# (stress/, about 3 minutes): `make stress STRESS_ARGS="--seconds 30"` for a shorter load.
stress: install
	$(BIN)/python -m stress $(STRESS_ARGS)

# docs/screenshots/: the main pages on a desktop and a phone (a demo server on port 6600, Chromium).
screenshots: install
	$(BIN)/python tools/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache
