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
# semgrep pins protobuf < 7 (through opentelemetry), which our RNIB protobuf
# module cannot run on, so it lives in a virtualenv of its own; its entry point
# is linked into $(BIN) so that `xtrust certify` finds it on PATH.
SEMGREP_VENV := .tools/semgrep
SEMGREP_VERSION := 1.185.0
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: all venv node system-deps test lint format demo bench proto contracts clean

all: lint test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	test -x $(SEMGREP_VENV)/bin/semgrep || { $(PYTHON) -m venv $(SEMGREP_VENV) && \
	  $(SEMGREP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check semgrep==$(SEMGREP_VERSION); }
	ln -sf $(CURDIR)/$(SEMGREP_VENV)/bin/semgrep $(BIN)/semgrep
	touch $(STAMP)

# solc (Solidity compiler) and anvil (Ethereum node), pinned in package.json / package-lock.json
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

venv: $(STAMP)

# Debian packages the tests use (redis-server); idempotent, needs root or sudo -n.
system-deps:
	sh scripts/ensure-system-deps.sh

test: venv node system-deps
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check xtrust tests bench examples scripts
	$(BIN)/ruff format --check xtrust tests bench examples scripts
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix xtrust tests bench examples scripts
	$(BIN)/ruff format xtrust tests bench examples scripts

# RIC-lite, two simulated gNBs and the KPM monitor xApp on loopback (see examples/kpm_monitor);
# the zero-trust loop in the twin (a rogue xApp detected, denied, quarantined);
# certify -> ledger -> admit, then revoke -> deny (examples/supply_chain)
demo: venv
	$(BIN)/xtrust doctor
	$(BIN)/python examples/kpm_monitor/demo.py --duration 6
	$(BIN)/xtrust twin run --scenario rogue-xapp --xapps anomaly,segmentation --rapps policy,xdr --speed 20
	XTRUST=$(BIN)/xtrust bash examples/supply_chain/demo.sh

bench: venv node system-deps
	$(BIN)/python bench/bench_codec.py
	$(BIN)/python bench/bench_rmr.py
	$(BIN)/python bench/bench_e2_transport.py
	$(BIN)/python bench/bench_ric_lite.py
	$(BIN)/python bench/bench_e2sim.py
	$(BIN)/python bench/calibrate_coloran.py
	$(BIN)/python bench/eval_mobiflow.py --data ../shared/data/mobiflow
	$(BIN)/python bench/bench_segmentation.py
	$(BIN)/python bench/eval_kpm.py --seeds 6
	$(BIN)/python bench/eval_twin.py --seeds 3
	$(BIN)/python bench/bench_anomaly_xapp.py
	$(BIN)/python bench/bench_certify.py
	$(BIN)/python bench/bench_vuln_match.py
	$(BIN)/python bench/bench_ledger.py
	$(BIN)/python bench/bench_policy.py
	$(BIN)/python bench/bench_threatmodel.py
	$(BIN)/python bench/bench_xdr.py
	$(BIN)/python bench/bench_crypto_sign.py
	$(BIN)/python bench/bench_qkd_handshake.py
	$(BIN)/python bench/fuzz_codec.py --seconds 60

# Recompile contracts/AppRegistry.sol with the pinned solc into xtrust/ledger/AppRegistry.json
# (a test recompiles and asserts the committed artefact is byte-identical).
contracts: venv node
	$(BIN)/python scripts/compile_contracts.py

# Regenerate the committed RNIB protobuf module from xtrust/ric/rnib/nodeb.proto.
proto: venv
	$(BIN)/python -m grpc_tools.protoc -I xtrust/ric/rnib --python_out=xtrust/ric/rnib --pyi_out=xtrust/ric/rnib xtrust/ric/rnib/nodeb.proto

clean:
	rm -rf $(VENV) .tools node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis .benchmarks build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
