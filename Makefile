# The two promises of the README: `make demo` and `make test`, on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check opptoolkit tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/opptoolkit demo

bench: $(STAMP)
	$(BIN)/python bench/flatten.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
