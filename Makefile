# Every target installs what it needs first: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_PIN := uv==0.13.9

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

NPM_STAMP := node_modules/.installed
# The CDK CLI pinned in package.json/package-lock.json; npx finds it in node_modules, no registry needed.
CDK := npx --no-install cdk
# Optional stack settings, passed to the app as CDK context when set (see the README's Deploy section).
CDK_SETTINGS = $(if $(NOTIFICATION_EMAIL),-c notificationEmail=$(NOTIFICATION_EMAIL)) \
	$(if $(CONNECT_RATE),-c connectRate=$(CONNECT_RATE)) \
	$(if $(CONNECT_BURST),-c connectBurst=$(CONNECT_BURST)) \
	$(if $(CONNECT_API_RATES),-c connectApiRates=$(CONNECT_API_RATES)) \
	$(if $(CONNECT_HEADROOM),-c connectHeadroom=$(CONNECT_HEADROOM)) \
	$(if $(MAX_PROFICIENCIES_PER_AGENT),-c maxProficienciesPerAgent=$(MAX_PROFICIENCIES_PER_AGENT)) \
	$(if $(MAX_GROUP_USERS),-c maxGroupUsers=$(MAX_GROUP_USERS)) \
	$(if $(RESERVED_CONCURRENCY),-c reservedConcurrency=$(RESERVED_CONCURRENCY)) \
	$(if $(REPORT_RETENTION_DAYS),-c reportRetentionDays=$(REPORT_RETENTION_DAYS)) \
	$(if $(SNAPSHOT_SCHEDULE),-c 'snapshotSchedule=$(SNAPSHOT_SCHEDULE)')

.PHONY: install test lint format demo synth deploy bench emulator mutation e2e clean

install: $(STAMP) $(NPM_STAMP)

# Re-runs only when a dependency list changes, so it is quick when nothing did.
# uv (from PyPI, pinned here) installs the pins: about four times quicker than pip on a fresh clone,
# and it prints what it resolves, downloads and installs as it goes. pip stays in the venv: the
# function's code asset is built with `pip install --target` (infra/bundling.py).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(UV_PIN)
	$(BIN)/uv pip install --python $(BIN)/python -r requirements-dev.txt -e .
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

# Debian's chromium, for the browser test of report.html (tests/integration/test_report_browser.py),
# installed only where it is missing (about 11 s and 414 MB on Debian 12). `command -v` is the stamp:
# a file stamp would outlive an uninstalled browser. `test` depends on it through `install`.
.PHONY: chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
install: chromium
chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

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
# CSV=path runs it on another file; DRY_RUN=1 drops the file into dry-run/ (planned, not applied).
# Not `install`: the demo needs no browser, so it never waits for one.
demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m local_stand_ins.demo --out demo-output$(if $(CSV), --csv '$(CSV)')$(if $(filter 1,$(DRY_RUN)), --dry-run)

# Synthesises the stack into cdk.out with cdk-nag checks; no AWS account, credentials or Docker needed.
# Without INSTANCE_ID a placeholder ID is used: the template is complete, just not deployable.
synth: install
	$(CDK) synth --no-notices --quiet \
		-c instanceId=$(or $(INSTANCE_ID),00000000-0000-4000-8000-000000000000) $(CDK_SETTINGS)

# Deploys to the account and Region of your AWS credentials (the Connect instance's Region).
deploy: install
	@test -n "$(INSTANCE_ID)" || { echo "make deploy: set INSTANCE_ID=<Amazon Connect instance ID>" >&2; exit 1; }
	$(CDK) deploy --no-notices -c instanceId=$(INSTANCE_ID) $(CDK_SETTINGS)

# Benchmarks (not tests): wall time against Connect's quota bound, and the CPU side; writes bench/RESULTS.md.
bench: install
	$(BIN)/python -m bench.benchmarks

# Mutation testing of domain/ with the fast unit tests (about 2 minutes on 2 CPUs). mutmut 3 imports
# mutated code only from ./ or src/, so it runs from build/mutation/, where src/ links to lambda_src/.
mutation: install
	rm -rf build/mutation && mkdir -p build/mutation
	ln -s ../../lambda_src build/mutation/src
	ln -s ../../tests build/mutation/tests
	ln -s ../../pyproject.toml build/mutation/pyproject.toml
	cd build/mutation && PYTHONPATH=$(CURDIR)/sandbox ../../$(BIN)/mutmut run; status=$$?; \
		../../$(BIN)/mutmut results; exit $$status

# Against a real account (opt-in): deploys the stack, runs dry runs, destroys it. Skipped unless
# CONNECT_PROFILES_E2E=1 and CONNECT_PROFILES_E2E_INSTANCE_ID=<instance id> are set.
e2e: install
	$(BIN)/python -m pytest tests/e2e -m e2e -rs

clean:
	rm -rf $(VENV) cdk.out node_modules .mypy_cache .ruff_cache .pytest_cache
