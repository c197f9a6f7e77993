# The two commands in the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OFFSCREEN := QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1

.PHONY: run test test-gpu lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip -c constraints.txt
	$(BIN)/python -m pip install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/workbench $(ARGS)

test: $(STAMP)
	$(OFFSCREEN) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The GPU suite (tests/gpu, skipped without CUDA) with the interpreter given, as it is:
# no venv is built (a GPU server may have no network and no PySide6); it needs only the
# core dependencies and pytest. The source tree goes first on PYTHONPATH, before any
# there already (wheels carried to a --target folder); pytest-qt is kept out in case it
# is installed without Qt; pytest-timeout may be absent, so its options are not errors.
test-gpu:
	PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH)) $(PYTHON) -m pytest tests/gpu -s -q \
	  -p no:cacheprovider -p no:pytest-qt \
	  -W "ignore:Unknown config option:pytest.PytestConfigWarning" $(PYTEST_ARGS)

# import-linter's contracts (pyproject.toml [tool.importlinter]): the layers.
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

bench: $(STAMP)
	$(OFFSCREEN) $(BIN)/python -m pytest tests/benchmarks -s -m benchmark

clean:
	rm -rf $(VENV) build dist *.egg-info
