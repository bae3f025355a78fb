# One entry point for people and CI. `.ci/run` calls `make test` (on two Pythons, see README "Test").
# The machine's python3 when it is >= 3.11, else the first of python3.11 ... python3.14 that is. Each
# candidate is run, not just looked up: a pyenv shim exists for every installed version but fails for
# one that is not active. `make PYTHON=/path/to/python VENV=.venv-X` overrides.
PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13 python3.14; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint typecheck spec-check unit test clean demo walkthrough

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "make: no Python >= 3.11 found (tried python3, python3.11 ..." \
		"python3.14): install one or set PYTHON=/path/to/python" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "make: PYTHON=$(PYTHON) is not a working Python >= 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,lint,pipelines,sandbox]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

spec-check: install
	@if [ -f ../shared/eaccounting-api/openapi-v2.json ]; then $(BIN)/python scripts/generate_from_spec.py --check; \
	else echo "../shared not present: skipping the generated-files check"; fi
	$(BIN)/python scripts/render_meltano_yml.py --check
	$(BIN)/python scripts/render_readme.py --check
	$(BIN)/python scripts/render_hub_definitions.py --check

# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
unit: install
	@$(BIN)/pytest -n 2; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing the run" >&2; fi; exit $$rc

# Everything CI runs, from nothing to done.
test: lint typecheck spec-check unit

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info

# The Meltano plugins' own venvs (~10 s), again when meltano.yml or the project's dependencies change.
.meltano/.installed: meltano.yml pyproject.toml | $(VENV)/.installed
	@MELTANO_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/meltano install >/dev/null 2>&1 || \
		MELTANO_SEND_ANONYMOUS_USAGE_STATS=false $(BIN)/meltano install
	touch $@

# The demo: sandbox -> meltano run postgres-elt -> an embedded PostgreSQL (output/postgres), with a
# row-count table and a query. Run it twice: the second run is incremental.
demo: .meltano/.installed
	BIN=$(BIN) bash scripts/demo.sh

# A fresh Meltano project outside the repo, as README "Use it in your own Meltano project" says: the
# plugins from this repo's git URL at HEAD (committed content only; `make walkthrough REV=<rev>`), auth at
# a sandbox, `meltano run` into an embedded PostgreSQL, the column types; prints the transcript.
walkthrough: install
	$(BIN)/python scripts/meltano_walkthrough.py $(if $(REV),--rev $(REV))
