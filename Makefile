# The two promises of the README: `make demo` and `make test`, on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check opptoolkit tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

# Browser tests use Debian's chromium (never `playwright install`: downloads are blocked).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) chromium lint typecheck
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/opptoolkit demo

bench: $(STAMP)
	$(BIN)/python bench/flatten.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
