# Two commands:  `make lab`  sets everything up and opens the tutorial;  `make test`  runs what CI runs.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: lab test setup lint clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

lab: $(STAMP)
	$(PY) -m utils.local_sagemaker start
	$(VENV)/bin/jupyter lab notebooks/00_start_here.ipynb

# Style (ruff), types (mypy: strict for utils/local_sagemaker) and the architecture's import
# rules (import-linter, contracts in pyproject.toml; see ARCHITECTURE.md).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

# Unit, conformance and hygiene tests, then every notebook under strict nbval.
# pytest exits 5 when it collected nothing: make treats that as the failure it is.
test: lint
	$(PY) -m pytest tests
	$(PY) -m pytest -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-cell-timeout=600 --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks ; \
		status=$$? ; $(PY) -m utils.local_sagemaker stop >/dev/null 2>&1 ; exit $$status

clean:
	-$(PY) -m utils.local_sagemaker stop
	rm -rf build .pytest_cache .ruff_cache
