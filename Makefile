# Two commands a fresh clone needs: `make demo` and `make test`. Each sets up its own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CI's share of the other Pythons: tests/compat on the oldest and the newest (all four Pythons'
# compat tests take longer than CI's budget allows beside the main run; `make test-all-pythons`
# runs the whole suite on each), and the whole suite on 3.12, the one whose collector runs
# between any two bytecodes and whose early releases crash in get_coro() of an eager task (two
# bugs only its run found). Their venvs, and the pandas 2.2 one tests/compat uses, are built
# while the main pytest run goes on.
OTHER_PYTHONS := --compat-only --python 3.10 --python 3.13
WHOLE_SUITE_PYTHONS := --python 3.12

.PHONY: demo test test-all-pythons lint typecheck constraints clean

# constraints.txt holds the exact versions (scripts/refresh-constraints writes it: make constraints).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	scripts/system-deps
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/mypy
	mkdir -p out
	{ $(BIN)/python scripts/test-all-pythons $(OTHER_PYTHONS) --build-only & \
	  $(BIN)/python scripts/test-all-pythons $(WHOLE_SUITE_PYTHONS) --build-only & \
	  $(BIN)/python tests/compat/_pandas22_venv.py & wait; } > out/venvs.log 2>&1 & \
	  building=$$!; $(BIN)/python -m pytest -n 2 --dist loadgroup -q; status=$$?; \
	  wait $$building; exit $$status
	$(BIN)/python -m pytest -q -m benchmarks
	$(BIN)/python scripts/test-all-pythons $(OTHER_PYTHONS)
	$(BIN)/python scripts/test-all-pythons $(WHOLE_SUITE_PYTHONS)

# The whole suite on every Python 3.10-3.13 found (pyenv or PATH), each in its own .venv-py3XX.
test-all-pythons: $(STAMP)
	$(BIN)/python scripts/test-all-pythons

# Newest versions the dev extra allows, on every Python 3.10-3.13 found; commit the result.
constraints:
	$(PYTHON) scripts/refresh-constraints

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist
