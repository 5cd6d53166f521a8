# One command sets everything up; one runs the tests (the same commands .ci/run uses).
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

CHROMIUM ?= chromium

.PHONY: setup test repro screenshot image
setup:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'

test:
	PATH=$(abspath $(BIN)):$$PATH HF_HUB_OFFLINE=1 KDBENCH_DATA_MIRROR=$${KDBENCH_DATA_MIRROR:-../shared/data} $(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=8

STUDY ?= quick
repro:
	PATH=$(abspath $(BIN)):$$PATH KDBENCH_DATA_MIRROR=$${KDBENCH_DATA_MIRROR:-../shared/data} dvc repro studies/$(STUDY)/dvc.yaml

# studies/<study>/reports/index.png, the screenshot of a study's report kept in git (after its repro; needs Chromium)
REPORT := studies/$(STUDY)/reports
screenshot: $(REPORT)/index.html
	$(CHROMIUM) --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run --disable-background-networking \
		--user-data-dir=$$(mktemp -d) --window-size=1280,4000 --screenshot=$(REPORT)/.index.tmp.png \
		file://$(abspath $(REPORT)/index.html) && mv $(REPORT)/.index.tmp.png $(REPORT)/index.png

# the kdbench image: docker build where a Docker engine runs, else buildah on a local Debian base (scripts/image.sh)
image:
	bash scripts/image.sh
