# XTRUST developer tasks. Every target sets up what it needs on a fresh machine.
#   make demo    run the main job on embedded defaults
#   make test    run the test suite (creates .venv, installs everything needed)
#   make lint    ruff check, ruff format --check, mypy
#   make bench   benchmarks (not part of CI)
#   make clean   remove the virtualenv and caches

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all venv system-deps test lint format demo bench proto clean

all: lint test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests use (redis-server); idempotent, needs root or sudo -n.
system-deps:
	sh scripts/ensure-system-deps.sh

test: venv system-deps
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check xtrust tests bench examples
	$(BIN)/ruff format --check xtrust tests bench examples
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix xtrust tests bench examples
	$(BIN)/ruff format xtrust tests bench examples

# RIC-lite, two simulated gNBs and the KPM monitor xApp on loopback (see examples/kpm_monitor)
demo: venv
	$(BIN)/xtrust doctor
	$(BIN)/python examples/kpm_monitor/demo.py --duration 6

bench: venv
	$(BIN)/python bench/bench_codec.py
	$(BIN)/python bench/bench_rmr.py
	$(BIN)/python bench/bench_e2_transport.py
	$(BIN)/python bench/bench_ric_lite.py
	$(BIN)/python bench/bench_e2sim.py
	$(BIN)/python bench/calibrate_coloran.py
	$(BIN)/python bench/eval_mobiflow.py --data ../shared/data/mobiflow
	$(BIN)/python bench/bench_segmentation.py
	$(BIN)/python bench/eval_kpm.py
	$(BIN)/python bench/fuzz_codec.py --seconds 60

# Regenerate the committed RNIB protobuf module from xtrust/ric/rnib/nodeb.proto.
proto: venv
	$(BIN)/python -m grpc_tools.protoc -I xtrust/ric/rnib --python_out=xtrust/ric/rnib --pyi_out=xtrust/ric/rnib xtrust/ric/rnib/nodeb.proto

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .benchmarks build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
