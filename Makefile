# The two commands: `make demo` (the main job) and `make test` (the suite).
# Each does all set-up itself on a fresh machine and is idempotent.
VENV ?= .venv
RS := $(VENV)/bin/reelscore
DEMO_DIR ?= $(HOME)/.cache/reelscore/demo

.PHONY: setup demo test
setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

test: setup
	$(VENV)/bin/python -m pytest -q tests

