# Every step a new machine needs lives here: nothing is installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:12])')

.PHONY: help install test lint demo emulator clean requirements container-test container-figures

help:
	@echo "make demo   - run the action end to end on the local emulator and the fake GitHub"
	@echo "make try-event EVENT=event.json [ARGS='--input wait=true'] - the action on your own event"
	@echo "make test   - run the whole test suite (but the load tests)"
	@echo "make test-load - the load tests: 50 clients on the emulator, 20 runs of the action at once"
	@echo "make lint   - ruff, mypy --strict, GitHub schemas for action.yml and workflows, zizmor, hadolint"
	@echo "make container-test - build the action's image and run it in a Docker engine of its own"
	@echo "make container-figures - the image's size, start-up and build times"
	@echo "make bench  - what one event costs: requests, time, polling, client speed (bench-results.json)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 3 -q $(PYTEST_ARGS)

# The tests marked load (tests/test_load.py: many clients and runs at once), left out of make test.
.PHONY: test-load
test-load: $(STAMP)
	$(BIN)/python -m pytest -q --run-load -m load $(PYTEST_ARGS)

# Python (ruff, mypy --strict), action.yml and the workflows against GitHub's schemas (vendored
# in check-jsonschema: no network), the workflows' security audit (zizmor, offline: every
# finding of medium severity or above fails) and the Dockerfile (hadolint).
WORKFLOWS := $(wildcard .github/workflows/*.yml .github/workflows/*.yaml)
lint: $(STAMP)
	$(BIN)/ruff check src tests .github/release
	$(BIN)/ruff format --check src tests .github/release
	$(BIN)/mypy
	$(BIN)/mypy --strict --ignore-missing-imports .github/release/pin_image.py
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/zizmor --offline --no-progress --strict-collection --min-severity medium .github/workflows action.yml
	$(BIN)/hadolint Dockerfile

demo: $(STAMP)
	$(BIN)/python -m rebyte_action.demo

# The action on your own webhook payload, against the emulator and the fake GitHub.
.PHONY: try-event
try-event: $(STAMP)
	@test -n "$(EVENT)" || { echo "usage: make try-event EVENT=path/to/event.json [ARGS='--input name=value ...']"; exit 2; }
	$(BIN)/rebyte try-event "$(EVENT)" $(ARGS)

emulator: $(STAMP)
	$(BIN)/rebyte emulator --host 127.0.0.1 --port 8765

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist

# Re-pin the action image's dependencies from a clean environment.
requirements:
	rm -rf .venv-pin && $(PYTHON) -m venv .venv-pin && .venv-pin/bin/pip install --quiet .
	{ echo "# The action image's dependencies, pinned (PyGithub, httpx, pydantic-settings, markdown-it-py, PyYAML and what they pull in)."; \
	  echo "# Regenerate: make requirements"; \
	  .venv-pin/bin/pip freeze | grep -vi '^rebyte'; } > requirements.txt
	rm -rf .venv-pin

# The action's image built and run in a Docker engine of its own (tests/container/run.sh):
# as root with Debian's apt it installs docker.io and debootstrap when missing, makes a
# Debian base image, builds the Dockerfile with wheels handed in over loopback, and runs it as
# GitHub's runner does. Elsewhere it says so in one line and checks the image's dependency set
# in a venv instead. container-figures prints the image's size, start-up and build times.
container-test: $(STAMP)
	PYTHON=$(PYTHON) VENV_PY=$(BIN)/python tests/container/run.sh test

container-figures: $(STAMP)
	PYTHON=$(PYTHON) VENV_PY=$(BIN)/python tests/container/run.sh figures

# What one event costs (tests/bench/README.md): requests per trigger, process time, polling, the
# client's speed, the reconciler, the image. Prints one table; writes bench-results.json.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m tests.bench
