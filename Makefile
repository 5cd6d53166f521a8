# One command sets everything up; one runs the tests (the same commands .ci/run uses).
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test repro
setup:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'

test:
	PATH=$(abspath $(BIN)):$$PATH HF_HUB_OFFLINE=1 KDBENCH_DATA_MIRROR=$${KDBENCH_DATA_MIRROR:-../shared/data} $(BIN)/pytest -q

repro:
	PATH=$(abspath $(BIN)):$$PATH KDBENCH_DATA_MIRROR=$${KDBENCH_DATA_MIRROR:-../shared/data} dvc repro
