# Every target installs what it needs first: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install test lint format demo synth deploy bench emulator clean

install: $(STAMP)

# Re-runs only when a dependency list changes, so it is quick when nothing did.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Runs the local Connect emulator with the sample instance (Ctrl-C to stop).
emulator: install
	$(BIN)/connect-emulator --seed sandbox/seeds/sample-instance.json --port 8700

# The Lambda job end to end on local stand-ins; the job's files land in demo-output/.
demo: install
	$(BIN)/python -m local_stand_ins.demo --out demo-output

synth: install
	@echo "make synth: the CDK stack arrives with issue 5."; exit 1

deploy: install
	@echo "make deploy: the CDK stack arrives with issue 5."; exit 1

bench: install
	@echo "make bench: the benchmarks arrive with issue 6."; exit 1

clean:
	rm -rf $(VENV) cdk.out node_modules .mypy_cache .ruff_cache .pytest_cache
