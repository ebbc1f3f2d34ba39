# Midfield: every set-up step lives here, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two cores: two xdist workers, each with its own embedded broker.
XDIST  ?= -n 2 --dist loadgroup

.PHONY: help venv demo test test-fast soak lint bench clean system-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install Midfield with its test tools

demo: $(STAMP)  ## run the whole hub on the embedded broker with sample faxes (Ctrl-C stops it)
	$(BIN)/midfield demo

test: $(STAMP) system-deps  ## install everything and run the test suite (soak runs excluded)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

system-deps:  ## Chromium, kcat and a CJK font for the end-to-end tests (apt, when root)
	@.ci/system-deps

soak: $(STAMP)  ## the long fault/load runs
	$(BIN)/pytest -m soak $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy schemas connectors midfield streams

bench: $(STAMP)  ## every benchmark (~20 min, quiet machine); numbers go to bench/results/
	$(BIN)/midfield bench all

clean:  ## remove the virtualenv and run state
	rm -rf $(VENV) .midfield
