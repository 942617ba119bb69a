# The two promises of the README: `make demo` and `make test`, on a fresh machine. `make quick` is the edit loop.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test quick demo lint typecheck bench clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check opptoolkit tests bench tools
	$(BIN)/ruff format --check opptoolkit tests bench tools
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian packages the tests drive: chromium for the browser tests (never `playwright install`:
# downloads are blocked) and LibreOffice Calc, the real spreadsheet program of the sheet tests.
system-deps:
	@command -v chromium >/dev/null 2>&1 && dpkg-query -W -f='$${Status}\n' 'libreoffice-calc*' 2>/dev/null | grep -q "ok installed" || { \
	  echo "installing Debian's chromium and libreoffice-calc-nogui for the tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium libreoffice-calc-nogui >/dev/null; }

# The suite on JOBS processes (pytest-xdist; every test is safe beside another: its own ports, folders and
# sandbox): most of its time is CPU, and this machine has two cores. JOBS=0 runs it in one process. The browser
# tests share one worker (tests/conftest.py groups them): two heavy pages at once starve each other.
JOBS ?= 2
XDIST = -n $(JOBS) --dist loadgroup

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest $(XDIST)

# Lint, types and the tests of no slow tier (markers in pyproject.toml, given in tests/conftest.py): a few
# minutes where `make test` takes many. Not a promise: `make test` is.
QUICK := not (browser or libreoffice or notebook or demo or crash or slow)
quick: $(STAMP) lint typecheck
	$(BIN)/pytest -q $(XDIST) -m "$(QUICK)"

demo: $(STAMP)
	$(BIN)/opptoolkit demo

# `make bench`: every step at 10k rows in a few minutes; `make bench BIG=1`: 100k (sheets 50k).
bench: $(STAMP)
	$(BIN)/python bench/flatten.py --sizes $(if $(BIG),100000,10000)
	$(BIN)/python bench/mirror.py --sizes $(if $(BIG),100000,10000)
	$(BIN)/python bench/team.py --sizes $(if $(BIG),100000,10000) --repeat 2
	$(BIN)/python bench/plan.py --sizes $(if $(BIG),10000 100000,10000)
	$(BIN)/python bench/sheets.py --sizes $(if $(BIG),50000,10000)
	$(BIN)/python bench/ledger.py --rows $(if $(BIG),10000,2000)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
