# One entry point for people and CI. `.ci/run` calls `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint typecheck spec-check unit test clean demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,lint,pipelines]"
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

# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
unit: install
	@$(BIN)/pytest -n 2; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing the run" >&2; fi; exit $$rc

# Everything CI runs, from nothing to done.
test: lint typecheck spec-check unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The demo: sandbox -> meltano run -> DuckDB, with a row-count table and a query. Run it twice.
demo: install
	bash scripts/demo.sh
