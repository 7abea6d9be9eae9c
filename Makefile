# Two commands:  `make lab`  sets everything up and opens the tutorial;  `make test`  runs what CI runs.
# `make` alone prints them.

# The tutorial's Python is 3.12 (the AWS scikit-learn container's); 3.11 keeps working.
# PYTHON=/path/to/python3.12 overrides the search (python3.12 on the PATH, then pyenv's 3.12).
find_python = $(shell for p in python$(1) python3 python; do \
	  $$p -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(1)".split("."))))' \
	    2>/dev/null && { command -v $$p; exit 0; }; done; \
	command -v pyenv >/dev/null 2>&1 || exit 0; \
	v=$$(pyenv versions --bare 2>/dev/null | grep -E '^$(subst .,\.,$(1))\.[0-9]+$$' | tail -n 1); \
	[ -n "$$v" ] && [ -x "$$(pyenv root)/versions/$$v/bin/python$(1)" ] && echo "$$(pyenv root)/versions/$$v/bin/python$(1)")
PYTHON ?= $(call find_python,3.12)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The unit tests also run on Python 3.11 (CI does: `make test-py311`), in a venv of their own.
PYTHON311 ?= $(call find_python,3.11)
VENV311   := .venv-py311
STAMP311  := $(VENV311)/.installed

NBVAL := -p no:cacheprovider --nbval --nbval-current-env --nbval-cell-timeout=600 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg

.DEFAULT_GOAL := help
.PHONY: help lab test test-py311 setup lint browser stop clean

help:
	@echo "make lab    set up .venv (first time), start the local SageMaker and open JupyterLab"
	@echo "make test   run the whole test suite, exactly what CI runs"

setup: $(STAMP)

# Packages are installed by uv (installed from PyPI into the venv first): it downloads and unpacks
# in parallel, about four times faster than pip on a fresh venv, and resolves the same versions.
# uv does not read pip's configuration (pip.conf, PIP_INDEX_URL: a company mirror, find-links):
# where you rely on it, or where uv cannot be installed, pip does the whole install
# (`make setup INSTALLER=pip` forces it). Both compile bytecode as they install.
# requirements-excluded.txt names what neither installs although a dependency's extra asks for
# it (that file says why): uv leaves it out of the resolution, pip uninstalls it afterwards. A venv
# set up before keeps it (it only costs time): `.venv/bin/python -m pip uninstall -r
# requirements-excluded.txt` removes it.
INSTALLER ?= uv
define install_requirements
	$(1) -m pip install --upgrade pip
	if [ "$(INSTALLER)" = uv ] && $(1) -m pip install --quiet uv; then \
	  $(1) -m uv pip install --python $(1) --compile-bytecode \
	    --excludes requirements-excluded.txt -r requirements.txt; \
	else \
	  $(1) -m pip install -r requirements.txt && \
	  $(1) -m pip uninstall --yes -r requirements-excluded.txt; \
	fi
	$(1) -m pip install --no-deps -e .
endef

$(STAMP): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 not found: install it, or run make PYTHON=/path/to/python3.12 ..." >&2; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	$(call install_requirements,$(PY))
	@echo "$(VENV): $$(du -sm $(VENV) | cut -f1) MB"
	touch $(STAMP)

# Starts the local SageMaker and JupyterLab, prints the address to open and how to stop.
lab: $(STAMP)
	$(PY) tools/lab.py

stop: $(STAMP)
	$(PY) -m utils.local_sagemaker stop

# Style (ruff), types (mypy: strict for utils/local_sagemaker) and the architecture's import
# rules (import-linter, contracts in pyproject.toml; see ARCHITECTURE.md).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

# Finds a Chromium for the browser test, or installs one where the platform allows (see the tool).
browser: $(STAMP)
	-$(PY) tests/browser/chromium.py

# Unit, conformance and hygiene tests, the AWS rehearsal (every notebook on the AWS code path
# against a stand-in account, tests/rehearsal) and every notebook under strict nbval (local), in
# one pytest run spread over PYTEST_WORKERS processes (pytest-xdist): a test file or a notebook
# stays on one process, and each process has its own local SageMaker. The run ends with its
# slowest tests and notebooks and the whole command's duration.
# pytest exits 5 when it collected nothing: make treats that as the failure it is.
PYTEST_WORKERS ?= 3
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

# Lint runs beside the tests (it needs none of their processes), its output kept in
# build/lint.log and printed when both have ended; either failing fails the command.
# The checkout's own modules are compiled to bytecode first, once, as the packages were when
# installed: the run starts dozens of Python processes (servers, kernels, command lines) that
# import them, and where PYTHONDONTWRITEBYTECODE is set (as in many container images) each would
# otherwise compile them again: 0.2 to 0.3 CPU-s per server or kernel, against half a CPU-second
# to compile them all (a few hundredths once up to date). Tests and lint report syntax errors.
# For the same reason pytest runs with PYTHONDONTWRITEBYTECODE unset: it then keeps the test
# modules it rewrites for its assertions in __pycache__, which each of its processes otherwise
# redoes on every run (about 3 of the 8 CPU-s each spends collecting before its first test).
test: $(STAMP)
	@start=$$(date +%s); status=0; mkdir -p build; \
	$(PY) -m compileall -qq utils tests tools benchmarks; \
	$(MAKE) --no-print-directory lint >build/lint.log 2>&1 & lint=$$!; \
	$(MAKE) --no-print-directory browser && \
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest $(PARALLEL) $(NBVAL) tests notebooks || status=$$?; \
	$(PY) -m utils.local_sagemaker stop >/dev/null 2>&1; \
	wait $$lint; lint_status=$$?; cat build/lint.log; \
	[ $$lint_status -eq 0 ] || { echo "make lint failed (exit status $$lint_status)"; status=$$lint_status; }; \
	echo "make test: $$(( $$(date +%s) - start )) s (exit status $$status)"; exit $$status

$(STAMP311): requirements.txt pyproject.toml
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install it, or run make PYTHON311=/path/to/python3.11 ..." >&2; exit 1; }
	$(PYTHON311) -m venv --clear $(VENV311)
	$(call install_requirements,$(VENV311)/bin/python)
	touch $(STAMP311)

# The unit and conformance tests on Python 3.11 (the browser test and the rehearsal: 3.12 only).
test-py311: $(STAMP311)
	$(VENV311)/bin/python -m pytest $(PARALLEL) -m "not browser and not rehearsal" tests

clean:
	-$(PY) -m utils.local_sagemaker stop
	rm -rf build .pytest_cache .ruff_cache
	find utils tests tools benchmarks notebooks -name __pycache__ -type d -prune -exec rm -rf {} +
