# Two entry points for a fresh clone: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Test files run on up to 4 worker processes (pytest-xdist; one per core), each file's tests in one worker so a
# module's fixtures (a sandbox, a Meltano project, a schema) are built once. PYTEST_WORKERS=-n0 runs serially.
PYTEST_WORKERS ?= -n auto --maxprocesses 4 --dist loadfile

.PHONY: demo shards psql meltano test lint bench sandbox clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tap-qualtrics needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[sandbox,demo,test,lint,orchestrate]'
	@touch $@

# Meltano lives in its own venv (.meltano-venv/) and the plugins in .meltano/; both are installed once and
# reinstalled only when meltano.yml's pip_urls or pyproject.toml change (scripts/meltano_setup.py).
meltano: $(VENV)/.installed
	$(PY) scripts/meltano_setup.py

# The pipeline into an embedded PostgreSQL whose data directory is demo-output/postgres/ (scripts/demo.py)
demo: meltano
	$(PY) scripts/demo.py

# The sandbox account loaded by SHARDS parallel shards through the Dagster job (scripts/shards.py, docs/shards.md)
SHARDS ?= 3
shards: meltano
	$(PY) scripts/shards.py --shards $(SHARDS)

# psql on the demo's database: starts PostgreSQL on demo-output/postgres/ (or uses the demo's, while it runs)
# and stops it when psql exits. Arguments for psql: make psql PSQL_ARGS='-c "TABLE qualtrics.surveys"';
# the database of make shards: make psql PGDATA=demo-output/shards/postgres
PSQL_ARGS ?=
PGDATA ?= demo-output/postgres
psql: $(VENV)/.installed
	$(PY) scripts/local_postgres.py psql $(PGDATA) $(PSQL_ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

# ruff (every rule, the ignores commented in pyproject.toml), ruff format, and mypy --strict on the tap
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) -m bench

sandbox: $(VENV)/.installed
	$(VENV)/bin/qualtrics-sandbox serve --port 8765

clean:
	rm -rf $(VENV) .meltano-venv .meltano build dist demo-output .pytest_cache
